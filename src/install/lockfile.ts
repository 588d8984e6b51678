import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ClawHubError } from "../errors/index.ts";

/** What was downloaded: OpenClaw's `artifact` record (integrity as sha256-base64). */
export interface ArtifactLock {
  kind: "archive";
  sha256: string;
  integrity: string;
}

/** The installed SKILL.md and its digest (OpenClaw's `skillFile`). */
export interface SkillFileLock {
  path: string;
  sha256: string;
}

/**
 * One lockfile entry: the official CLI's fields, OpenClaw's (registry, artifact, skillFile,
 * fileTreeSha256: OpenClaw updates only what carries them), and ours. Fields this code does
 * not know (OpenClaw's `verification`) are kept as they are.
 */
export interface LockEntry {
  version: string | null;
  installedAt: number;
  ownerHandle?: string;
  registry?: string;
  artifact?: ArtifactLock;
  skillFile?: SkillFileLock;
  fileTreeSha256?: string;
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
  artifact?: ArtifactLock;
  skillFile?: SkillFileLock;
  fileTreeSha256?: string;
  /**
   * Ours: every installed file's sha256 (path → hex), so `clawhub verify` can name what changed;
   * trusted only when it reproduces the lockfile's fileTreeSha256 (verify.ts).
   */
  files?: Record<string, string>;
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

/** Writes `<skillDir>/.clawhub/origin.json` (into a staging folder before its rename). */
export async function writeOrigin(skillDir: string, origin: Origin): Promise<void> {
  await mkdir(join(skillDir, ".clawhub"), { recursive: true });
  await writeFile(
    join(skillDir, ".clawhub", "origin.json"),
    `${JSON.stringify(origin, null, 2)}\n`,
  );
}
