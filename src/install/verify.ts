/**
 * Checks every copy of an installed skill against what was installed: the canonical folder and
 * each agent's link or copy, file by file. What a copy should hold comes from origin.json's file
 * list when that list reproduces the lockfile's `fileTreeSha256` (so an edited origin.json
 * proves nothing), else from the archive the lockfile's integrity names (cache, then registry).
 */
import { createHash } from "node:crypto";
import { lstat, readdir, readFile, readlink, realpath } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type AgentName, agentPath } from "./agents.ts";
import type { LockEntry, Origin } from "./lockfile.ts";

const METADATA = new Set([".clawhub", ".clawdhub"]);

/** One copy of a skill and what differs in it. */
export interface CopyCheck {
  path: string;
  /** The agent the copy or link is for; absent for the canonical folder. */
  agent?: AgentName;
  kind: "canonical" | "link" | "copy";
  ok: boolean;
  changed: string[];
  added: string[];
  missing: string[];
  /** A problem with the copy as a whole: missing, a link pointing elsewhere. */
  problem?: string;
}

/** One installed skill: intact when every copy is. */
export interface SkillCheck {
  key: string;
  version: string | null;
  ok: boolean;
  copies: CopyCheck[];
}

/**
 * `fileTreeSha256` of a file list (path → sha256), computed as OpenClaw computes it from a
 * folder (tree.ts): folders implied by the paths, each folder's names sorted, depth first.
 */
export function treeDigestOfFiles(files: ReadonlyMap<string, string>): string {
  type Node = { dirs: Map<string, Node>; files: Map<string, string> };
  const root: Node = { dirs: new Map(), files: new Map() };
  for (const [path, sha256] of files) {
    const parts = path.split("/");
    let node = root;
    for (const part of parts.slice(0, -1)) {
      let next = node.dirs.get(part);
      if (!next) {
        next = { dirs: new Map(), files: new Map() };
        node.dirs.set(part, next);
      }
      node = next;
    }
    node.files.set(parts.at(-1) as string, sha256);
  }
  const entries: Array<{ path: string; type: string; sha256?: string }> = [];
  const walk = (node: Node, rel: string) => {
    const names = [...node.dirs.keys(), ...node.files.keys()].sort((a, b) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const dir = node.dirs.get(name);
      if (dir) {
        entries.push({ path, type: "directory" });
        walk(dir, path);
      } else entries.push({ path, type: "file", sha256: node.files.get(name) as string });
    }
  };
  walk(root, "");
  return `sha256:${createHash("sha256").update(JSON.stringify(entries)).digest("hex")}`;
}

/** origin.json's file list, if it is the one the lockfile's tree digest vouches for. */
export function trustedFilesOf(
  entry: LockEntry,
  origin: Origin | undefined,
): Map<string, string> | undefined {
  if (!origin?.files || !entry.fileTreeSha256) return undefined;
  const files = new Map(Object.entries(origin.files));
  return treeDigestOfFiles(files) === entry.fileTreeSha256 ? files : undefined;
}

/**
 * Every file under a folder (all of them: ignore rules do not apply to what is checked), as
 * path → sha256; the top-level metadata folder is skipped. Links and special files inside are
 * reported with a marker instead of a hash, so they never match.
 */
export async function hashTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    const dirents = await readdir(rel ? join(root, rel) : root, { withFileTypes: true });
    for (const d of dirents) {
      if (!rel && METADATA.has(d.name)) continue;
      const path = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) await walk(path);
      else if (d.isFile())
        out.set(
          path,
          createHash("sha256")
            .update(await readFile(join(root, path)))
            .digest("hex"),
        );
      else out.set(path, d.isSymbolicLink() ? "(symbolic link)" : "(special file)");
    }
  };
  await walk("");
  return out;
}

/** Compares a folder with the expected files. */
export async function compareFolder(
  dir: string,
  expected: ReadonlyMap<string, string>,
): Promise<Pick<CopyCheck, "changed" | "added" | "missing">> {
  const actual = await hashTree(dir);
  const changed: string[] = [];
  const added: string[] = [];
  const missing: string[] = [];
  for (const [path, sha256] of actual) {
    const want = expected.get(path);
    if (want === undefined) added.push(path);
    else if (want !== sha256) changed.push(path);
  }
  for (const path of expected.keys()) if (!actual.has(path)) missing.push(path);
  return { changed: changed.sort(), added: added.sort(), missing: missing.sort() };
}

/**
 * Checks the canonical folder and every agent's place of one skill. `expected` is what each
 * copy must hold; `agents` the agents the lockfile records.
 */
export async function checkCopies(p: {
  root: string;
  scope: "project" | "global";
  target: string;
  slug: string;
  agents: readonly AgentName[];
  expected: ReadonlyMap<string, string>;
}): Promise<CopyCheck[]> {
  const copies: CopyCheck[] = [];
  const empty = { changed: [], added: [], missing: [] };
  const folder = async (path: string, kind: CopyCheck["kind"], agent?: AgentName) => {
    const diff = await compareFolder(path, p.expected);
    const ok = diff.changed.length + diff.added.length + diff.missing.length === 0;
    copies.push({ path, ...(agent ? { agent } : {}), kind, ok, ...diff });
  };
  const targetStat = await lstat(p.target).catch(() => undefined);
  if (!targetStat?.isDirectory())
    copies.push({ path: p.target, kind: "canonical", ok: false, ...empty, problem: "missing" });
  else await folder(p.target, "canonical");
  const seen = new Set([resolve(p.target)]);
  for (const agent of p.agents) {
    const path = agentPath(p.root, agent, p.scope, p.slug);
    if (seen.has(resolve(path))) continue;
    seen.add(resolve(path));
    const st = await lstat(path).catch(() => undefined);
    if (!st) {
      copies.push({ path, agent, kind: "copy", ok: false, ...empty, problem: "missing" });
    } else if (st.isSymbolicLink()) {
      const [to, canonical] = await Promise.all([
        realpath(path).catch(() => undefined),
        realpath(p.target).catch(() => undefined),
      ]);
      const ok = to !== undefined && to === canonical;
      copies.push({
        path,
        agent,
        kind: "link",
        ok,
        ...empty,
        ...(ok ? {} : { problem: `links to ${await readlink(path)}, not to the installed copy` }),
      });
    } else if (st.isDirectory()) await folder(path, "copy", agent);
    else copies.push({ path, agent, kind: "copy", ok: false, ...empty, problem: "not a folder" });
  }
  return copies;
}

/** One line per damaged copy: what a user reads in an error or in `clawhub verify`. */
export function describeCopies(copies: readonly CopyCheck[]): string[] {
  const lines: string[] = [];
  for (const c of copies) {
    if (c.ok) continue;
    const who = c.agent ? `${c.agent} ${c.kind}` : "installed copy";
    const parts = [
      c.problem,
      c.changed.length ? `changed ${c.changed.join(", ")}` : "",
      c.added.length ? `added ${c.added.join(", ")}` : "",
      c.missing.length ? `missing ${c.missing.join(", ")}` : "",
    ].filter(Boolean);
    lines.push(`${c.path} (${who}): ${parts.join("; ")}`);
  }
  return lines;
}
