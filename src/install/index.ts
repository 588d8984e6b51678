/**
 * Installing skills: references, the lockfile and origin records (official CLI and OpenClaw
 * formats), the archive cache, server-side version resolution, verified fetches (integrity and
 * the registry's transparency log), agent targets, and the installer that ties them together. The HTTP client lives in src/client.
 */
export {
  AGENTS,
  type AgentName,
  type AgentTarget,
  CANONICAL,
  isAgent,
  type Placement,
} from "./agents.ts";
export {
  type Attested,
  advanced,
  checkAttestation,
  checkCheckpoint,
  checkPublisher,
  createFileWitness,
  latestCheckpoint,
  pinnedLog,
  TRUST_LEVELS,
  type TrustLevel,
  verifyAttested,
  type Witness,
  type WitnessState,
} from "./attest.ts";
export { createArchiveCache } from "./cache.ts";
export { type FetchedArchive, fetchArchive } from "./fetch.ts";
export {
  createInstaller,
  type InstallerOptions,
  type InstallOutcome,
  type LogCheck,
  type OutdatedRow,
} from "./installer.ts";
export {
  type ArtifactLock,
  type LockEntry,
  type Lockfile,
  type Origin,
  readLockfile,
  readOrigin,
  type SkillFileLock,
  writeLockfile,
} from "./lockfile.ts";
export { lockKeyOf, parseSkillRef, type SkillRef } from "./refs.ts";
export { skillFileOf, treeDigest } from "./tree.ts";
export {
  type CopyCheck,
  describeCopies,
  type SkillCheck,
  treeDigestOfFiles,
} from "./verify.ts";
