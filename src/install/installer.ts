import { lstat, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import semver from "semver";
import type { RegistryClient } from "../client/index.ts";
import { ClawHubError, isClawHubError } from "../errors/index.ts";
import { extractZip, fingerprintOf, hashFolder, removeStaleStaging } from "../skill/index.ts";
import {
  type AgentName,
  agentPath,
  CANONICAL,
  placeForAgents,
  removeFromAgents,
} from "./agents.ts";
import { type Attested, type TrustLevel, verifyAttested, type Witness } from "./attest.ts";
import { pool, settle } from "./batch.ts";
import { createArchiveCache } from "./cache.ts";
import { fetchArchive } from "./fetch.ts";
import {
  type LockEntry,
  type Lockfile,
  readLockfile,
  readOrigin,
  writeLockfile,
  writeOrigin,
} from "./lockfile.ts";
import { lockKeyOf, parseSkillRef, type SkillRef } from "./refs.ts";
import { skillFileOf, treeDigest } from "./tree.ts";
import {
  type CopyCheck,
  checkCopies,
  describeCopies,
  type SkillCheck,
  trustedFilesOf,
} from "./verify.ts";

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
  /** Stops an install between steps (Ctrl-C); its staging folder is removed. */
  signal?: AbortSignal;
  /**
   * Checks every archive against the registry's transparency log before it reaches the disk
   * (src/install/attest.ts): the CLI always passes one. Without it, integrity only.
   */
  log?: { witness: Witness; trust?: TrustLevel | undefined };
}

/** What one install or update did. */
export interface InstallOutcome {
  key: string;
  slug: string;
  ownerHandle?: string;
  version: string;
  previousVersion?: string | null;
  path: string;
  /** Agent directories that got a symlink to the canonical copy. */
  links: string[];
  /** Agent directories that got a copy (`--copy`, and OpenClaw always). */
  copies: string[];
  /** Agent links or copies removed (an agent dropped with --force). */
  removed?: string[];
  cached: boolean;
  status: "installed" | "updated" | "up-to-date" | "skipped" | "linked" | "would-update";
  reason?: string;
  /** The update crossed a major version (breaking changes are allowed there). */
  majorJump?: boolean;
  /** The transparency log check: null when the registry keeps no log (integrity only). */
  attested?: Attested | null;
}

/** One skill checked against the registry's transparency log (`clawhub verify`). */
export interface LogCheck {
  key: string;
  version: string;
  status: "ok" | "failed" | "skipped";
  attested?: Attested;
  reason?: string;
}

/** One row of `clawhub outdated`. */
export interface OutdatedRow {
  key: string;
  installed: string | null;
  /** The registry's latest version; null when it no longer serves the skill. */
  latest: string | null;
  /** current; outdated (latest is newer); ahead (installed is newer than latest); unavailable. */
  status: "current" | "outdated" | "ahead" | "unavailable";
  majorJump?: boolean;
  pinned?: boolean;
  agents?: string[];
  reason?: string;
}

/** What a lock entry says the archive is: our sha512 integrity, or OpenClaw's sha256. */
function expectedOf(entry: LockEntry) {
  return { integrity: entry.integrity, sha256: entry.artifact?.sha256 };
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
  const exists = (path: string) =>
    lstat(path).then(
      () => true,
      () => false,
    );
  const cleaned = new Set<string>();
  /** Staging folders of killed installs (Ctrl-C, kill -9) go on the next run. */
  async function cleanStaging(target: string): Promise<void> {
    const dir = dirname(target);
    if (cleaned.has(dir)) return;
    cleaned.add(dir);
    await removeStaleStaging(dir);
  }

  /** The version a reference names, resolved by the registry (ranges and tags included). */
  async function chooseVersion(ref: SkillRef): Promise<{ version: string; owner: string }> {
    try {
      const r = await client.resolveSelector(ref.slug, ref.selector ?? "latest", ref.ownerHandle);
      return { version: r.version, owner: ref.ownerHandle ?? r.ownerHandle };
    } catch (error) {
      // A registry without selector resolution (the public one answers 400 to `selector`):
      // resolve here from the skill's detail and version list, as before.
      if (!(error instanceof ClawHubError && error.code === "INVALID_ARGUMENT")) throw error;
      return chooseLocally(ref);
    }
  }

  async function chooseLocally(ref: SkillRef): Promise<{ version: string; owner: string }> {
    const detail = await client.skill(ref.slug, ref.ownerHandle);
    const owner = ref.ownerHandle ?? detail.owner?.handle ?? "";
    const sel = ref.selector;
    const name = `${ref.ownerHandle ? `@${ref.ownerHandle}/` : ""}${ref.slug}`;
    if (!sel || sel === "latest") {
      const v = detail.latestVersion?.version ?? detail.skill?.tags.latest;
      if (!v) throw new ClawHubError("NOT_FOUND", `${name} has no published version`);
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
      if (!best) throw new ClawHubError("NOT_FOUND", `no version of ${name} satisfies ${sel}`);
      return { version: best, owner };
    }
    const tags = detail.skill?.tags ?? {};
    const tagged = Object.hasOwn(tags, sel) ? tags[sel] : undefined;
    if (!tagged) throw new ClawHubError("NOT_FOUND", `${name} has no tag "${sel}"`);
    return { version: tagged, owner };
  }

  /**
   * Downloads (or takes from the cache), verifies, and extracts a version, with origin.json
   * written inside the staging folder so that files and origin appear in one rename; then
   * places the agents' links or copies and records the lock entry.
   */
  async function place(p: {
    ref: SkillRef;
    owner: string;
    version: string;
    lock: Lockfile;
    status: InstallOutcome["status"];
    forAgents: readonly AgentName[];
    previous?: string | null;
    expected?: { integrity?: string | undefined; sha256?: string | undefined } | undefined;
  }): Promise<InstallOutcome> {
    const { ref, owner, version, lock } = p;
    const archive = await fetchArchive({
      client,
      cache,
      slug: ref.slug,
      owner,
      version,
      expected: p.expected,
    });
    const attested = options.log
      ? ((await verifyAttested({
          client,
          witness: options.log.witness,
          slug: ref.slug,
          owner,
          version,
          archive,
          ...(options.log.trust ? { trust: options.log.trust } : {}),
        })) ?? null)
      : undefined;
    const key = lockKeyOf(ref);
    const existing = lock.skills[key];
    const target = targetOf(ref, p.forAgents);
    await cleanStaging(target);
    const installedAt = now();
    const artifact = {
      kind: "archive" as const,
      sha256: archive.sha256,
      integrity: `sha256-${Buffer.from(archive.sha256, "hex").toString("base64")}`,
    };
    let tracked: {
      fingerprint: string;
      fileTreeSha256: string;
      skillFile?: LockEntry["skillFile"];
    } = { fingerprint: "", fileTreeSha256: "" };
    await extractZip(archive.bytes, target, {
      overwrite: true,
      ...(options.signal ? { signal: options.signal } : {}),
      beforeCommit: async (staging, files) => {
        const hashes = new Map(files.map((f) => [f.path, f.sha256]));
        const skillFile = skillFileOf(hashes);
        tracked = {
          fingerprint: fingerprintOf(files),
          fileTreeSha256: await treeDigest(staging, hashes),
          ...(skillFile ? { skillFile } : {}),
        };
        await writeOrigin(staging, {
          version: 1,
          registry: client.registry,
          slug: ref.slug,
          ...(owner ? { ownerHandle: owner } : {}),
          installedVersion: version,
          installedAt,
          artifact,
          ...tracked,
          files: Object.fromEntries([...hashes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
        });
      },
    });
    const placed = await placeForAgents({
      root: workdir,
      scope,
      target,
      slug: ref.slug,
      agents: p.forAgents,
      copy: options.copy === true,
    });
    // Agents of the previous install that this one no longer names lose their link or copy.
    const dropped = (existing?.agents ?? []).filter(
      (a): a is AgentName => !p.forAgents.includes(a as AgentName),
    );
    const removed = await removeFromAgents({
      root: workdir,
      scope,
      target,
      slug: ref.slug,
      agents: dropped,
    });
    lock.skills[key] = {
      version,
      registry: client.registry,
      installedAt,
      ...(owner ? { ownerHandle: owner } : {}),
      ...(existing?.pinned ? { pinned: true } : {}),
      ...(existing?.pinReason ? { pinReason: existing.pinReason } : {}),
      ...(p.forAgents.length > 0 ? { agents: [...p.forAgents] } : {}),
      integrity: archive.integrity,
      artifact,
      ...(tracked.skillFile ? { skillFile: tracked.skillFile } : {}),
      fileTreeSha256: tracked.fileTreeSha256,
    };
    await client.reportInstall(ref.slug, owner || undefined).catch(() => undefined);
    return {
      key,
      slug: ref.slug,
      ...(owner ? { ownerHandle: owner } : {}),
      version,
      previousVersion: p.previous ?? null,
      path: target,
      links: placed.filter((x) => x.how === "link").map((x) => x.path),
      copies: placed.filter((x) => x.how === "copy").map((x) => x.path),
      ...(removed.length > 0 ? { removed } : {}),
      cached: archive.cached,
      status: p.status,
      ...(attested !== undefined ? { attested } : {}),
    };
  }

  /**
   * What every copy of an installed skill must hold: origin.json's file list when the lockfile's
   * tree digest vouches for it, else the files of the archive the lockfile's integrity names.
   */
  async function expectedFiles(
    ref: SkillRef,
    entry: LockEntry,
    target: string,
  ): Promise<Map<string, string>> {
    const trusted = trustedFilesOf(entry, await readOrigin(target));
    if (trusted) return trusted;
    if (!entry.version)
      throw new ClawHubError("CONFIG_INVALID", `${lockKeyOf(ref)} has no version in the lockfile`);
    const archive = await fetchArchive({
      client,
      cache,
      slug: ref.slug,
      owner: ref.ownerHandle ?? entry.ownerHandle ?? "",
      version: entry.version,
      expected: expectedOf(entry),
    });
    const scratch = await mkdtemp(join(tmpdir(), "clawhub-verify-"));
    try {
      const { files } = await extractZip(archive.bytes, join(scratch, ref.slug));
      return new Map(files.map((f) => [f.path, f.sha256]));
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** Every copy of one installed skill checked against what was installed. */
  async function check(key: string, entry: LockEntry): Promise<SkillCheck> {
    const ref = parseSkillRef(key);
    const forAgents = (entry.agents ?? []) as AgentName[];
    const target = targetOf(ref, forAgents);
    const present = await exists(target);
    const expected = present ? await expectedFiles(ref, entry, target) : new Map();
    const copies = await checkCopies({
      root: workdir,
      scope,
      target,
      slug: ref.slug,
      agents: forAgents,
      expected,
    });
    return { key, version: entry.version, ok: copies.every((c) => c.ok), copies };
  }

  /** Copies that hold something else than what was installed (a missing copy is not an edit). */
  const edited = (copies: readonly CopyCheck[]) =>
    copies.filter((c) => !c.ok && c.problem !== "missing");

  /** Refuses to overwrite edited copies: LOCAL_MODIFIED naming each file and copy. */
  function refuseEdits(key: string, copies: readonly CopyCheck[]): never {
    const lines = describeCopies(copies);
    throw new ClawHubError(
      "LOCAL_MODIFIED",
      `${key} has local changes that match no published version:\n  ${lines.join("\n  ")}`,
      {
        hint: "Keep them elsewhere, or pass --force to overwrite them (`clawhub verify` lists them).",
        details: { copies },
      },
    );
  }

  /** `clawhub install` without names: exactly what the lockfile records, verified (npm ci). */
  async function installFromLockfile(opts: {
    concurrency?: number;
    force?: boolean;
  }): Promise<InstallOutcome[]> {
    const lock = await readLockfile(workdir);
    const keys = Object.keys(lock.skills);
    if (keys.length === 0)
      throw new ClawHubError(
        "NOT_FOUND",
        `nothing to install: ${join(workdir, ".clawhub", "lock.json")} lists no skills`,
        {
          hint: "Name skills to install: clawhub install <skill>.",
        },
      );
    const result = await pool(
      keys,
      opts.concurrency ?? 4,
      (k) => k,
      async (key) => {
        const entry = lock.skills[key] as LockEntry;
        const ref = parseSkillRef(key);
        if (!entry.version)
          throw new ClawHubError("CONFIG_INVALID", `${key} has no version in the lockfile`);
        const forAgents = (entry.agents ?? []) as AgentName[];
        const target = targetOf(ref, forAgents);
        // Already there at the locked version: every copy must hold what was installed. Intact:
        // nothing to download; edited: refused unless --force (update refuses the same way);
        // only missing copies: put back. Another version (the lockfile moved, as after a pull):
        // the locked one replaces it, as npm ci does.
        if (await exists(target)) {
          const origin = await readOrigin(target);
          if (origin?.installedVersion === entry.version) {
            const { copies } = await check(key, entry);
            const changes = edited(copies);
            if (changes.length > 0 && !opts.force) refuseEdits(key, changes);
            if (copies.every((c) => c.ok))
              return {
                key,
                slug: ref.slug,
                version: entry.version,
                path: target,
                links: [],
                copies: [],
                cached: true,
                status: "up-to-date" as const,
              };
          }
        }
        return place({
          ref,
          owner: ref.ownerHandle ?? entry.ownerHandle ?? "",
          version: entry.version,
          lock,
          status: "installed",
          forAgents,
          expected: expectedOf(entry),
        });
      },
    );
    if (result.ok.length > 0) await writeLockfile(workdir, lock);
    return settle(result, "installed");
  }

  return {
    targetOf,

    /**
     * Installs references (in parallel). An installed skill is refused unless `force`, except
     * that naming new agents for it adds their links or copies. With no references: installs
     * what the lockfile records.
     */
    async install(
      specs: string[],
      opts: {
        force?: boolean;
        concurrency?: number;
        onProgress?: (done: number, total: number, label: string) => void;
      } = {},
    ): Promise<InstallOutcome[]> {
      if (specs.length === 0) return installFromLockfile(opts);
      const refs = specs.map(parseSkillRef);
      const lock = await readLockfile(workdir);
      let done = 0;
      const result = await pool(refs, opts.concurrency ?? 4, lockKeyOf, async (ref) => {
        const key = lockKeyOf(ref);
        const entry = lock.skills[key];
        if (entry?.pinned && !opts.force) {
          throw new ClawHubError("ALREADY_EXISTS", `${key} is pinned at ${entry.version}`, {
            hint: `Run \`clawhub unpin ${key}\` first.`,
          });
        }
        const recorded = (entry?.agents ?? []) as AgentName[];
        const installedAt = entry ? targetOf(ref, recorded) : targetOf(ref);
        const present = await exists(installedAt);
        const added = agents.filter((a) => !recorded.includes(a));
        if (present && entry && !opts.force && !ref.selector && agents.length > 0) {
          if (added.length === 0)
            throw new ClawHubError(
              "ALREADY_EXISTS",
              `${key} is already installed for ${agents.join(", ")}`,
              {
                hint: "Use `clawhub update`, or --force to reinstall.",
              },
            );
          // The same version, more agents: no download, the new agents get their place.
          const all = [...recorded, ...added];
          if (recorded.length === 0) {
            // From the default folder to the agents' canonical one: extracted again (from the
            // cache), then the old folder goes.
            const moved = await place({
              ref,
              owner: entry.ownerHandle ?? "",
              version: entry.version ?? "",
              lock,
              status: "linked",
              forAgents: all,
              expected: expectedOf(entry),
            });
            if (moved.path !== installedAt) await rm(installedAt, { recursive: true, force: true });
            return moved;
          }
          const placed = await placeForAgents({
            root: workdir,
            scope,
            target: installedAt,
            slug: ref.slug,
            agents: added,
            copy: options.copy === true,
          });
          lock.skills[key] = { ...entry, agents: all };
          return {
            key,
            slug: ref.slug,
            version: entry.version ?? "?",
            path: installedAt,
            links: placed.filter((x) => x.how === "link").map((x) => x.path),
            copies: placed.filter((x) => x.how === "copy").map((x) => x.path),
            cached: true,
            status: "linked" as const,
          };
        }
        if (present && !opts.force) {
          // A named version or tag is resolved first: one that does not exist says so.
          const wanted = ref.selector ? (await chooseVersion(ref)).version : undefined;
          throw new ClawHubError(
            "ALREADY_EXISTS",
            wanted && entry?.version && wanted !== entry.version
              ? `${key} ${entry.version} is already installed at ${installedAt} (${ref.selector} is ${wanted})`
              : `${key}${entry?.version ? ` ${entry.version}` : ""} is already installed at ${installedAt}`,
            {
              hint:
                wanted && wanted !== entry?.version
                  ? `Run \`clawhub update ${key} --version ${ref.selector}\`, or --force to reinstall.`
                  : "Use `clawhub update`, or --force to reinstall (--agent adds an agent).",
            },
          );
        }
        const { version, owner } = await chooseVersion(ref);
        // A forced reinstall keeps the agents it was installed for unless --agent names others.
        const forAgents = agents.length > 0 || !entry ? agents : recorded;
        const outcome = await place({
          ref,
          owner,
          version,
          lock,
          status: "installed",
          forAgents,
          // Reinstalling the recorded version: the bytes must be the ones recorded.
          expected: entry?.version === version ? expectedOf(entry) : undefined,
        });
        // Moving between the default folder and the agents' canonical one: the old copy goes.
        if (entry && installedAt !== outcome.path && present) {
          await rm(installedAt, { recursive: true, force: true });
        }
        opts.onProgress?.(++done, refs.length, `${key}@${version}`);
        return outcome;
      });
      if (result.ok.length > 0) await writeLockfile(workdir, lock);
      return settle(result, "installed");
    },

    /**
     * Updates one skill or all of them to the latest version (or `version`). Never moves to
     * a lower version unless that version is named; refuses to overwrite local modifications
     * (a fingerprint that matches no published version) unless `force`.
     */
    async update(target: {
      key?: string;
      all?: boolean;
      version?: string;
      force?: boolean;
      concurrency?: number;
      /** Say what would change; download, write and report nothing. */
      dryRun?: boolean;
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
          const forAgents = (entry.agents ?? []) as AgentName[];
          const dir = targetOf(ref, forAgents);
          const base = {
            key,
            slug: ref.slug,
            version: entry.version ?? "?",
            path: dir,
            links: [],
            copies: [],
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
          const present = await exists(dir);
          // Every copy, for every agent, must hold what was installed; the installed folder may
          // also hold another published version's files (put there by hand or another client).
          let intact = true;
          if (present && !target.force) {
            const { copies } = await check(key, entry);
            intact = copies.every((c) => c.ok);
            let changes = edited(copies);
            const canonical = changes.find((c) => c.kind === "canonical");
            if (canonical) {
              const { fingerprint } = await hashFolder(dir);
              const known = await client
                .resolve(ref.slug, fingerprint, owner)
                .catch(() => ({ match: null }));
              if (known.match) changes = changes.filter((c) => c !== canonical);
            }
            if (changes.length > 0) {
              if (!target.dryRun) refuseEdits(key, changes);
              return {
                ...base,
                status: "skipped",
                reason: `local changes (--force overwrites them): ${describeCopies(changes).join("; ")}`,
              };
            }
          }
          const { version, owner: resolvedOwner } = await chooseVersion(scoped);
          const installed =
            entry.version && semver.valid(entry.version) ? entry.version : undefined;
          if (present && version === entry.version && !target.force && intact)
            return { ...base, version, status: "up-to-date" };
          // `latest` moved back (a version was deleted or the tag re-pointed): stay put.
          if (present && installed && !target.version && semver.lt(version, installed))
            return {
              ...base,
              status: "up-to-date",
              reason: `installed ${installed} is newer than the registry's ${version}; not downgrading (name --version to move back)`,
            };
          const majorJump = Boolean(installed && semver.major(version) > semver.major(installed));
          if (target.dryRun)
            return {
              ...base,
              version,
              previousVersion: entry.version,
              status: "would-update",
              ...(majorJump ? { majorJump } : {}),
              ...(version === entry.version ? { reason: "restores the installed files" } : {}),
            };
          const outcome = await place({
            ref,
            owner: owner ?? resolvedOwner,
            version,
            lock,
            status: "updated",
            forAgents,
            previous: entry.version,
          });
          return majorJump ? { ...outcome, majorJump: true } : outcome;
        },
      );
      if (!target.dryRun) await writeLockfile(workdir, lock);
      return settle(result, "updated");
    },

    /** Removes an installed skill, every agent link or copy it made, and its lock entry. */
    async uninstall(key: string): Promise<{ key: string; removed: string[] }> {
      const lock = await readLockfile(workdir);
      const normalized = lock.skills[key] ? key : lock.skills[`@${key}`] ? `@${key}` : key;
      if (!lock.skills[normalized])
        throw new ClawHubError("NOT_FOUND", `${key} is not installed here`, {
          hint: "`clawhub list` shows what is installed.",
        });
      const ref = parseSkillRef(normalized);
      const recorded = (lock.skills[normalized]?.agents ?? []) as AgentName[];
      const target = targetOf(ref, recorded);
      const removed = await removeFromAgents({
        root: workdir,
        scope,
        target,
        slug: ref.slug,
        agents: recorded,
      });
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

    /**
     * `clawhub outdated`: each installed skill's version against the newest the registry has
     * (its `latest` tag); a skill the registry no longer serves says why instead of failing all.
     */
    async outdated(): Promise<OutdatedRow[]> {
      const lock = await readLockfile(workdir);
      const keys = Object.keys(lock.skills);
      const result = await pool(
        keys,
        8,
        (k) => k,
        async (key): Promise<OutdatedRow> => {
          const entry = lock.skills[key] as LockEntry;
          const ref = parseSkillRef(key);
          const owner = ref.ownerHandle ?? entry.ownerHandle;
          const row = {
            key,
            installed: entry.version,
            ...(entry.pinned ? { pinned: true } : {}),
            ...(entry.agents?.length ? { agents: entry.agents } : {}),
          };
          let latest: string;
          try {
            latest = (
              await chooseVersion({
                ...ref,
                ...(owner ? { ownerHandle: owner } : {}),
                selector: "latest",
              })
            ).version;
          } catch (error) {
            const e = error instanceof ClawHubError ? error : undefined;
            if (e?.category === "network" || e?.code === "UNAUTHENTICATED") throw error;
            return {
              ...row,
              latest: null,
              status: "unavailable",
              reason: e?.message ?? String(error),
            };
          }
          const installed =
            entry.version && semver.valid(entry.version) ? entry.version : undefined;
          const status: OutdatedRow["status"] =
            !installed || latest === installed
              ? "current"
              : semver.gt(latest, installed)
                ? "outdated"
                : "ahead";
          return {
            ...row,
            latest,
            status,
            ...(status === "outdated" && semver.major(latest) > semver.major(installed as string)
              ? { majorJump: true }
              : {}),
          };
        },
      );
      return settle(result, "checked");
    },

    /**
     * `clawhub verify`: every copy of the named installed skills (all without names) checked
     * file by file against what was installed.
     */
    async verify(keys: readonly string[] = []): Promise<SkillCheck[]> {
      const lock = await readLockfile(workdir);
      const wanted =
        keys.length === 0
          ? Object.keys(lock.skills)
          : keys.map((k) => {
              const key = lock.skills[k] ? k : lock.skills[`@${k}`] ? `@${k}` : k;
              if (!lock.skills[key])
                throw new ClawHubError("NOT_FOUND", `${k} is not installed here`, {
                  hint: "`clawhub list` shows what is installed.",
                });
              return key;
            });
      const out: SkillCheck[] = [];
      for (const key of wanted) out.push(await check(key, lock.skills[key] as LockEntry));
      return out;
    },

    /**
     * Checks installed skills against the registry's transparency log, from the digests the
     * lockfile recorded (no download): signature, statement, inclusion and consistency with
     * the last checkpoint seen. One result per skill; VERIFICATION_FAILED is a result, not a
     * throw, so every skill is reported.
     */
    async attest(keys: readonly string[] = []): Promise<LogCheck[]> {
      const witness = options.log?.witness;
      if (!witness)
        throw new ClawHubError("INTERNAL", "the installer has no transparency log state");
      const lock = await readLockfile(workdir);
      const wanted =
        keys.length === 0
          ? Object.keys(lock.skills)
          : keys.map((k) => (lock.skills[k] ? k : `@${k}`));
      const out: LogCheck[] = [];
      for (const key of wanted) {
        const entry = lock.skills[key];
        if (!entry?.version) continue;
        const sha256 = entry.artifact?.sha256;
        if ((entry.registry ?? client.registry) !== client.registry || !sha256) {
          out.push({
            key,
            version: entry.version,
            status: "skipped",
            reason: sha256 ? `installed from ${entry.registry}` : "no archive digest recorded",
          });
          continue;
        }
        try {
          const attested = await verifyAttested({
            client,
            witness,
            slug: parseSkillRef(key).slug,
            owner: entry.ownerHandle ?? "",
            version: entry.version,
            archive: { sha256, ...(entry.integrity ? { integrity: entry.integrity } : {}) },
            ...(options.log?.trust ? { trust: options.log.trust } : {}),
          });
          out.push(
            attested
              ? { key, version: entry.version, status: "ok", attested }
              : {
                  key,
                  version: entry.version,
                  status: "skipped",
                  reason: "the registry keeps no transparency log",
                },
          );
        } catch (error) {
          // An unreachable registry leaves the check undone, said as such (verify also runs
          // offline); anything the log answered wrongly is a failure.
          if (isClawHubError(error) && error.code === "NETWORK_ERROR") {
            out.push({
              key,
              version: entry.version,
              status: "skipped",
              reason: "the registry is unreachable",
            });
            continue;
          }
          if (!(isClawHubError(error) && error.code === "VERIFICATION_FAILED")) throw error;
          out.push({ key, version: entry.version, status: "failed", reason: error.message });
        }
      }
      return out;
    },

    /** Where an agent's copy or link of a skill is (for messages). */
    agentPath: (agent: AgentName, slug: string) => agentPath(workdir, agent, scope, slug),
  };
}
