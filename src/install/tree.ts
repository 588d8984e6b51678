/**
 * OpenClaw's record of an installed skill's files (`fileTreeSha256`, `skillFile`), computed the
 * way OpenClaw 2026.9 computes it (src/skills/lifecycle/skill-tree-digest.ts): OpenClaw updates
 * and removes a tracked skill only when the folder still matches these, so a skill our CLI
 * installed stays manageable by OpenClaw and the other way round.
 *
 * The digest: every entry of the folder (top-level `.clawhub`/`.clawdhub` excluded), depth
 * first, each directory's names sorted by UTF-16 code units, as `{path, type}` for folders and
 * `{path, type, sha256}` for files; `sha256:` + sha256 of the JSON of that list. File hashes
 * come from the extraction (nothing is read back); only the folder structure is listed.
 */
import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { ClawHubError } from "../errors/index.ts";
import type { SkillFileLock } from "./lockfile.ts";

const METADATA = new Set([".clawhub", ".clawdhub"]);
const SKILL_FILES = ["SKILL.md", "skill.md"];

type TreeEntry =
  | { path: string; type: "directory" }
  | { path: string; type: "file"; sha256: string };

/** `fileTreeSha256` of a folder whose files' sha256 are known (path → hex). */
export async function treeDigest(
  root: string,
  hashes: ReadonlyMap<string, string>,
): Promise<string> {
  const entries: TreeEntry[] = [];
  async function walk(rel: string): Promise<void> {
    const dirents = await readdir(rel ? join(root, rel) : root, { withFileTypes: true });
    dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of dirents) {
      if (!rel && METADATA.has(d.name)) continue;
      const path = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) {
        entries.push({ path, type: "directory" });
        await walk(path);
      } else if (d.isFile()) {
        const sha256 = hashes.get(path);
        if (!sha256) throw new ClawHubError("INTERNAL", `no hash for extracted file ${path}`);
        entries.push({ path, type: "file", sha256 });
      } else {
        throw new ClawHubError("UNSAFE_ARCHIVE", `unsupported entry in the skill folder: ${path}`);
      }
    }
  }
  await walk("");
  return `sha256:${createHash("sha256").update(JSON.stringify(entries)).digest("hex")}`;
}

/** OpenClaw's `skillFile`: the root SKILL.md and its sha256. */
export function skillFileOf(hashes: ReadonlyMap<string, string>): SkillFileLock | undefined {
  for (const path of SKILL_FILES) {
    const sha256 = hashes.get(path);
    if (sha256) return { path, sha256 };
  }
  return undefined;
}
