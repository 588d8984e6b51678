import { createHash } from "node:crypto";
import {
  cp,
  lstat,
  mkdir,
  readFile,
  readlink,
  rename,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import semver from "semver";
import { ClawHubError, toClawHubError } from "../errors/index.ts";
import { HANDLE, isName, SLUG } from "../schema/index.ts";
import { extractZip, hashFolder, integrityOf } from "../skill/index.ts";
import type { RegistryClient } from "./http.ts";

/** A parsed install reference: `[@owner/]slug[@version|@range|@tag]`. */
export interface SkillRef {
  ownerHandle?: string;
  slug: string;
  selector?: string;
}

/** Parses `@owner/slug@^1.2`, `owner/slug`, `slug@beta`... and refuses anything path-like. */
export function parseSkillRef(spec: string): SkillRef {
  let rest = spec.trim();
  let ownerHandle: string | undefined;
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    ownerHandle = rest.slice(0, slash).replace(/^@/, "").toLowerCase();
    rest = rest.slice(slash + 1);
  }
  const at = rest.indexOf("@");
  const slug = (at >= 0 ? rest.slice(0, at) : rest).toLowerCase();
  const selector = at >= 0 ? rest.slice(at + 1) : undefined;
  const bad = (why: string) =>
    new ClawHubError("INVALID_ARGUMENT", `invalid skill reference "${spec}": ${why}`, {
      hint: "Use slug, @owner/slug, or add @1.2.3, @^1.2 or @tag.",
    });
  if (!isName(SLUG, slug)) throw bad(`bad slug: ${SLUG.rule}`);
  if (ownerHandle !== undefined && !isName(HANDLE, ownerHandle))
    throw bad(`bad owner: ${HANDLE.rule}`);
  if (selector !== undefined && selector === "") throw bad("empty version after @");
  return { ...(ownerHandle ? { ownerHandle } : {}), slug, ...(selector ? { selector } : {}) };
}

/** The lock key the official CLI uses: `slug`, or `@owner/slug` for owner-scoped installs. */
export function lockKeyOf(ref: Pick<SkillRef, "slug" | "ownerHandle">): string {
  return ref.ownerHandle ? `@${ref.ownerHandle}/${ref.slug}` : ref.slug;
}

/** One lockfile entry (the official format, plus our optional fields). */
export interface LockEntry {
  version: string | null;
  installedAt: number;
  ownerHandle?: string;
  pinned?: boolean;
  pinReason?: string;
  /** Agents the skill was installed for (`--agent`), when not the default directory. */
  agents?: string[];
  integrity?: string;
}

/** `.clawhub/lock.json`. */
export interface Lockfile {
  version: 1;
  skills: Record<string, LockEntry>;
}

/** `<skill>/.clawhub/origin.json` (the official format). */
export interface Origin {
  version: 1;
  registry: string;
  slug: string;
  ownerHandle?: string;
  installedVersion: string;
  installedAt: number;
  fingerprint?: string;
}

/** Reads the lockfile (legacy `.clawdhub` too); an absent one is empty. */
export async function readLockfile(workdir: string): Promise<Lockfile> {
  for (const dir of [".clawhub", ".clawdhub"]) {
    let raw: string;
    try {
      raw = await readFile(join(workdir, dir, "lock.json"), "utf8");
    } catch {
      continue;
    }
    try {
      const parsed = JSON.parse(raw) as Lockfile;
      if (parsed?.version === 1 && typeof parsed.skills === "object" && parsed.skills !== null)
        // Without a prototype: `uninstall constructor` must not find Object.prototype's member.
        return { version: 1, skills: Object.assign(Object.create(null), parsed.skills) };
    } catch {
      // fall through
    }
    throw new ClawHubError(
      "CONFIG_INVALID",
      `${join(workdir, dir, "lock.json")} is not a valid lockfile`,
      { hint: "Fix or delete it; installed skills stay on disk." },
    );
  }
  return { version: 1, skills: Object.create(null) as Lockfile["skills"] };
}

/** Writes the lockfile atomically (temp file + rename), keys sorted. */
export async function writeLockfile(workdir: string, lock: Lockfile): Promise<void> {
  const path = join(workdir, ".clawhub", "lock.json");
  await mkdir(dirname(path), { recursive: true });
  const sorted: Lockfile = {
    version: 1,
    skills: Object.fromEntries(Object.entries(lock.skills).sort(([a], [b]) => a.localeCompare(b))),
  };
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(sorted, null, 2)}\n`);
  await rename(tmp, path);
}

export async function readOrigin(skillDir: string): Promise<Origin | undefined> {
  for (const dir of [".clawhub", ".clawdhub"]) {
    try {
      const o = JSON.parse(await readFile(join(skillDir, dir, "origin.json"), "utf8")) as Origin;
      if (o.version === 1 && o.slug && o.installedVersion) return o;
    } catch {
      // try next
    }
  }
  return undefined;
}

async function writeOrigin(skillDir: string, origin: Origin): Promise<void> {
  await mkdir(join(skillDir, ".clawhub"), { recursive: true });
  await writeFile(
    join(skillDir, ".clawhub", "origin.json"),
    `${JSON.stringify(origin, null, 2)}\n`,
  );
}

/** Agents ClawHub installs for, with their project and user (global) skill directories. */
export const AGENTS = {
  openclaw: { project: "skills", global: ".openclaw/skills" },
  claude: { project: ".claude/skills", global: ".claude/skills" },
  codex: { project: ".codex/skills", global: ".codex/skills" },
  cursor: { project: ".cursor/skills", global: ".cursor/skills" },
  agents: { project: ".agents/skills", global: ".agents/skills" },
} as const;

/** An agent name accepted by `--agent`. */
export type AgentName = keyof typeof AGENTS;

/** The shared canonical location when installing for agents. */
const CANONICAL = ".agents/skills";

/**
 * A content-addressed archive cache: archives are stored by sha256 and indexed by
 * (registry, owner, slug, version), which never changes once published. A cached archive is
 * re-hashed before use, so a corrupted cache entry is fetched again rather than trusted.
 */
export function createArchiveCache(dir: string) {
  const keyOf = (registry: string, owner: string, slug: string, version: string) =>
    createHash("sha256").update(`${registry}\n${owner}\n${slug}\n${version}`).digest("hex");
  const archivePath = (sha: string) => join(dir, "archives", sha.slice(0, 2), `${sha}.zip`);
  return {
    async get(
      registry: string,
      owner: string,
      slug: string,
      version: string,
    ): Promise<Buffer | undefined> {
      try {
        const index = JSON.parse(
          await readFile(
            join(dir, "index", `${keyOf(registry, owner, slug, version)}.json`),
            "utf8",
          ),
        ) as { sha256: string };
        const bytes = await readFile(archivePath(index.sha256));
        return createHash("sha256").update(bytes).digest("hex") === index.sha256
          ? bytes
          : undefined;
      } catch {
        return undefined;
      }
    },
    async put(
      registry: string,
      owner: string,
      slug: string,
      version: string,
      bytes: Buffer,
    ): Promise<void> {
      const sha = createHash("sha256").update(bytes).digest("hex");
      const path = archivePath(sha);
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, path);
      await mkdir(join(dir, "index"), { recursive: true });
      await writeFile(
        join(dir, "index", `${keyOf(registry, owner, slug, version)}.json`),
        JSON.stringify({ sha256: sha, registry, owner, slug, version }),
      );
    },
  };
}

/** Where and how to install. */
export interface InstallerOptions {
  client: RegistryClient;
  /** Project root holding `.clawhub/lock.json` (the home directory with `--global`). */
  workdir: string;
  /** Install directory under the workdir when no agent is given (default `skills`). */
  dir: string;
  cacheDir: string;
  agents?: AgentName[];
  global?: boolean;
  /** Copy into agent directories instead of symlinking to the canonical copy. */
  copy?: boolean;
  now?: () => number;
}

/** What one install or update did. */
export interface InstallOutcome {
  key: string;
  slug: string;
  ownerHandle?: string;
  version: string;
  previousVersion?: string | null;
  path: string;
  links: string[];
  cached: boolean;
  status: "installed" | "updated" | "up-to-date" | "skipped";
  reason?: string;
}

/** Install, update, uninstall, pin and list, sharing one lockfile. */
export function createInstaller(options: InstallerOptions) {
  const { client, workdir } = options;
  const now = options.now ?? Date.now;
  const cache = createArchiveCache(options.cacheDir);
  const agents = options.agents ?? [];
  const scope = options.global ? "global" : "project";
  // Agent installs use flat folder names (agents discover skills by folder); the default
  // directory keeps the official CLI's `@owner/slug` layout for owner-scoped references.
  // An installed skill keeps the agents it was installed for (lock entry), so update and
  // uninstall find it without repeating --agent.
  const targetOf = (
    ref: Pick<SkillRef, "slug" | "ownerHandle">,
    forAgents: readonly string[] = agents,
  ) =>
    forAgents.length > 0
      ? join(workdir, CANONICAL, ref.slug)
      : ref.ownerHandle
        ? join(workdir, options.dir, `@${ref.ownerHandle}`, ref.slug)
        : join(workdir, options.dir, ref.slug);
  const linkDirs = (forAgents: readonly string[] = agents) =>
    forAgents
      .filter((a): a is AgentName => a in AGENTS && a !== "agents")
      .map((a) => join(workdir, AGENTS[a][scope]));

  async function chooseVersion(ref: SkillRef): Promise<{ version: string; owner: string }> {
    const detail = await client.skill(ref.slug, ref.ownerHandle);
    const owner = ref.ownerHandle ?? detail.owner?.handle ?? "";
    if (detail.moderation?.isMalwareBlocked) {
      throw new ClawHubError(
        "INTEGRITY_MISMATCH",
        `${ref.slug} is blocked as malware and cannot be installed`,
      );
    }
    const sel = ref.selector;
    if (!sel || sel === "latest") {
      const v = detail.latestVersion?.version ?? detail.skill?.tags.latest;
      if (!v) throw new ClawHubError("NOT_FOUND", `${ref.slug} has no published version`);
      return { version: v, owner };
    }
    if (semver.valid(sel)) return { version: semver.clean(sel) ?? sel, owner };
    if (semver.validRange(sel)) {
      const list = await client.versions(ref.slug, {
        ...(ref.ownerHandle ? { ownerHandle: ref.ownerHandle } : {}),
        limit: 200,
      });
      const best = semver.maxSatisfying(
        list.items.map((i) => i.version),
        sel,
      );
      if (!best)
        throw new ClawHubError("NOT_FOUND", `no version of ${ref.slug} satisfies ${sel}`, {
          hint: `Published: ${list.items.map((i) => i.version).join(", ") || "none"}`,
        });
      return { version: best, owner };
    }
    const tags = detail.skill?.tags ?? {};
    const tagged = Object.hasOwn(tags, sel) ? tags[sel] : undefined;
    if (!tagged) throw new ClawHubError("NOT_FOUND", `${ref.slug} has no tag "${sel}"`);
    return { version: tagged, owner };
  }

  async function fetchArchive(
    ref: SkillRef,
    owner: string,
    version: string,
  ): Promise<{ bytes: Buffer; cached: boolean; integrity: string }> {
    const cached = await cache.get(client.registry, owner, ref.slug, version);
    if (cached) return { bytes: cached, cached: true, integrity: integrityOf(cached) };
    const got = await client.download(ref.slug, {
      version,
      ...(ref.ownerHandle || owner ? { ownerHandle: ref.ownerHandle ?? owner } : {}),
    });
    const integrity = integrityOf(got.bytes);
    if (got.integrity && got.integrity !== integrity) {
      throw new ClawHubError(
        "INTEGRITY_MISMATCH",
        `the archive of ${ref.slug}@${version} does not match the integrity the registry declared`,
        {
          details: { expected: got.integrity, actual: integrity },
          hint: "Nothing was installed. The download was corrupted or tampered with; try again.",
        },
      );
    }
    if (got.sha256 && got.sha256 !== createHash("sha256").update(got.bytes).digest("hex")) {
      throw new ClawHubError(
        "INTEGRITY_MISMATCH",
        `the archive of ${ref.slug}@${version} does not match its declared sha256`,
      );
    }
    await cache.put(client.registry, owner, ref.slug, version, got.bytes);
    return { bytes: got.bytes, cached: false, integrity };
  }

  async function linkAgents(
    target: string,
    slug: string,
    forAgents: readonly string[],
  ): Promise<string[]> {
    const links: string[] = [];
    for (const dir of linkDirs(forAgents)) {
      const link = join(dir, slug);
      if (link === target) continue;
      await mkdir(dir, { recursive: true });
      await rm(link, { recursive: true, force: true });
      if (options.copy) await cp(target, link, { recursive: true });
      else await symlink(relative(dir, target), link, "dir");
      links.push(link);
    }
    return links;
  }

  async function place(
    ref: SkillRef,
    owner: string,
    version: string,
    overwrite: boolean,
    lock: Lockfile,
    status: InstallOutcome["status"],
    previous?: string | null,
  ): Promise<InstallOutcome> {
    const { bytes, cached, integrity } = await fetchArchive(ref, owner, version);
    const key = lockKeyOf(ref);
    const existing = lock.skills[key];
    const forAgents = status === "updated" ? (existing?.agents ?? []) : agents;
    const target = targetOf(ref, forAgents);
    await extractZip(bytes, target, { overwrite });
    const { fingerprint } = await hashFolder(target);
    const installedAt = now();
    await writeOrigin(target, {
      version: 1,
      registry: client.registry,
      slug: ref.slug,
      ...(owner ? { ownerHandle: owner } : {}),
      installedVersion: version,
      installedAt,
      fingerprint,
    });
    const links = await linkAgents(target, ref.slug, forAgents);
    lock.skills[key] = {
      version,
      installedAt,
      ...(owner ? { ownerHandle: owner } : {}),
      ...(existing?.pinned ? { pinned: true } : {}),
      ...(existing?.pinReason ? { pinReason: existing.pinReason } : {}),
      ...(forAgents.length > 0 ? { agents: [...forAgents] } : {}),
      integrity,
    };
    await client.reportInstall(ref.slug, owner || undefined).catch(() => undefined);
    return {
      key,
      slug: ref.slug,
      ...(owner ? { ownerHandle: owner } : {}),
      version,
      previousVersion: previous ?? null,
      path: target,
      links,
      cached,
      status,
    };
  }

  /**
   * Runs `fn` over items with at most `limit` at once. Every item runs even when others fail:
   * successes are recorded (the caller writes the lockfile), then failures are reported together,
   * so a batch never leaves installed files without their lock entries.
   */
  async function pool<T, R>(
    items: T[],
    limit: number,
    label: (item: T) => string,
    fn: (item: T) => Promise<R>,
  ): Promise<{ ok: R[]; failed: Array<{ item: string; error: ClawHubError }> }> {
    // Results keep the input order, whatever order the parallel work finishes in.
    const results: Array<{ ok: R } | { failed: { item: string; error: ClawHubError } }> = new Array(
      items.length,
    );
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(limit, items.length) }, async () => {
        while (next < items.length) {
          const i = next++;
          const item = items[i] as T;
          try {
            results[i] = { ok: await fn(item) };
          } catch (error) {
            results[i] = { failed: { item: label(item), error: toClawHubError(error) } };
          }
        }
      }),
    );
    return {
      ok: results.flatMap((r) => ("ok" in r ? [r.ok] : [])),
      failed: results.flatMap((r) => ("failed" in r ? [r.failed] : [])),
    };
  }

  /** Throws the failures of a batch (after its successes were written), or returns the successes. */
  function settle<R>(
    result: { ok: R[]; failed: Array<{ item: string; error: ClawHubError }> },
    verb: string,
  ): R[] {
    const first = result.failed[0];
    if (!first) return result.ok;
    if (result.failed.length === 1 && result.ok.length === 0) throw first.error;
    const lines = result.failed.map((f) => `${f.item}: ${f.error.message}`);
    throw new ClawHubError(
      first.error.code,
      `${result.ok.length} ${verb}, ${result.failed.length} failed:\n  ${lines.join("\n  ")}`,
      {
        ...(first.error.hint ? { hint: first.error.hint } : {}),
        details: {
          succeeded: result.ok,
          failed: result.failed.map((f) => ({
            item: f.item,
            code: f.error.code,
            message: f.error.message,
          })),
        },
      },
    );
  }

  return {
    targetOf,

    /** Installs references (in parallel); refuses an existing install unless `force`. */
    async install(
      specs: string[],
      opts: {
        force?: boolean;
        concurrency?: number;
        onProgress?: (done: number, total: number, label: string) => void;
      } = {},
    ): Promise<InstallOutcome[]> {
      const refs = specs.map(parseSkillRef);
      const lock = await readLockfile(workdir);
      let done = 0;
      const result = await pool(refs, opts.concurrency ?? 4, lockKeyOf, async (ref) => {
        const key = lockKeyOf(ref);
        if (lock.skills[key]?.pinned && !opts.force) {
          throw new ClawHubError(
            "ALREADY_EXISTS",
            `${key} is pinned at ${lock.skills[key]?.version}`,
            { hint: `Run \`clawhub unpin ${key}\` first.` },
          );
        }
        const target = targetOf(ref);
        const exists = await lstat(target).then(
          () => true,
          () => false,
        );
        if (exists && !opts.force) {
          throw new ClawHubError("ALREADY_EXISTS", `${key} is already installed at ${target}`, {
            hint: "Use `clawhub update`, or --force to reinstall.",
          });
        }
        const { version, owner } = await chooseVersion(ref);
        const outcome = await place(ref, owner, version, exists, lock, "installed");
        opts.onProgress?.(++done, refs.length, `${key}@${version}`);
        return outcome;
      });
      if (result.ok.length > 0) await writeLockfile(workdir, lock);
      return settle(result, "installed");
    },

    /**
     * Updates one skill or all of them to the latest version (or `version`). Refuses to overwrite
     * local modifications (fingerprint matches no published version) unless `force`.
     */
    async update(target: {
      key?: string;
      all?: boolean;
      version?: string;
      force?: boolean;
      concurrency?: number;
    }): Promise<InstallOutcome[]> {
      const lock = await readLockfile(workdir);
      const keys = target.all
        ? Object.keys(lock.skills)
        : target.key
          ? [
              target.key.startsWith("@") || !target.key.includes("/")
                ? target.key
                : `@${target.key}`,
            ]
          : [];
      if (keys.length === 0)
        throw new ClawHubError("INVALID_ARGUMENT", "name a skill to update, or pass --all");
      const result = await pool(
        keys,
        target.concurrency ?? 4,
        (key) => key,
        async (key): Promise<InstallOutcome> => {
          const entry = lock.skills[key];
          const ref = parseSkillRef(key);
          if (!entry)
            throw new ClawHubError("NOT_FOUND", `${key} is not installed here`, {
              hint: "`clawhub list` shows what is installed.",
            });
          const base = {
            key,
            slug: ref.slug,
            version: entry.version ?? "?",
            path: targetOf(ref, entry.agents ?? []),
            links: [],
            cached: false,
          };
          if (entry.pinned)
            return {
              ...base,
              status: "skipped",
              reason: `pinned${entry.pinReason ? ` (${entry.pinReason})` : ""}`,
            };
          const owner = ref.ownerHandle ?? entry.ownerHandle;
          const scoped: SkillRef = {
            ...ref,
            ...(owner ? { ownerHandle: owner } : {}),
            ...(target.version ? { selector: target.version } : {}),
          };
          const dir = targetOf(ref, entry.agents ?? []);
          const present = await lstat(dir).then(
            () => true,
            () => false,
          );
          if (present && !target.force) {
            const { fingerprint } = await hashFolder(dir);
            const origin = await readOrigin(dir);
            if (origin?.fingerprint !== fingerprint) {
              const known = await client
                .resolve(ref.slug, fingerprint, owner)
                .catch(() => ({ match: null }));
              if (!known.match) {
                throw new ClawHubError(
                  "LOCAL_MODIFIED",
                  `${key} has local changes that match no published version`,
                  {
                    hint: "Keep them elsewhere, or pass --force to overwrite them.",
                    details: { path: dir, fingerprint },
                  },
                );
              }
            }
          }
          const { version, owner: resolvedOwner } = await chooseVersion(scoped);
          if (present && version === entry.version && !target.force)
            return { ...base, version, status: "up-to-date" };
          return place(
            ref,
            owner ?? resolvedOwner,
            version,
            present,
            lock,
            "updated",
            entry.version,
          );
        },
      );
      await writeLockfile(workdir, lock);
      return settle(result, "updated");
    },

    /** Removes an installed skill, its agent links and its lock entry. */
    async uninstall(key: string): Promise<{ key: string; removed: string[] }> {
      const lock = await readLockfile(workdir);
      const normalized = lock.skills[key] ? key : lock.skills[`@${key}`] ? `@${key}` : key;
      if (!lock.skills[normalized])
        throw new ClawHubError("NOT_FOUND", `${key} is not installed here`, {
          hint: "`clawhub list` shows what is installed.",
        });
      const ref = parseSkillRef(normalized);
      const recorded = lock.skills[normalized]?.agents ?? agents;
      const removed: string[] = [];
      for (const dir of linkDirs(recorded)) {
        const link = join(dir, ref.slug);
        const st = await lstat(link).catch(() => undefined);
        if (!st) continue;
        // Only what we put there: a link to the canonical copy, or a copy carrying our origin.
        const ours = st.isSymbolicLink()
          ? (await readlink(link)).endsWith(join(CANONICAL, ref.slug))
          : st.isDirectory() && (await readOrigin(link))?.slug === ref.slug;
        if (!ours) continue;
        await rm(link, { recursive: true, force: true });
        removed.push(link);
      }
      const target = targetOf(ref, recorded);
      await rm(target, { recursive: true, force: true });
      removed.push(target);
      delete lock.skills[normalized];
      await writeLockfile(workdir, lock);
      return { key: normalized, removed };
    },

    async setPinned(key: string, pinned: boolean, reason?: string): Promise<LockEntry> {
      const lock = await readLockfile(workdir);
      const normalized = lock.skills[key] ? key : `@${key}`;
      const entry = lock.skills[normalized];
      if (!entry) throw new ClawHubError("NOT_FOUND", `${key} is not installed here`);
      if (pinned) {
        entry.pinned = true;
        if (reason) entry.pinReason = reason;
      } else {
        delete entry.pinned;
        delete entry.pinReason;
      }
      await writeLockfile(workdir, lock);
      return entry;
    },

    list: async () => readLockfile(workdir),
  };
}
