/** The client side of the registry: a typed HTTP client and the installer (lockfile, cache, agents). */
export {
  type ClientOptions,
  createClient,
  type RegistryClient,
  type SearchResult,
  type SkillDetail,
  type VersionDetail,
} from "./http.ts";
export {
  AGENTS,
  type AgentName,
  createArchiveCache,
  createInstaller,
  type InstallerOptions,
  type InstallOutcome,
  type LockEntry,
  type Lockfile,
  lockKeyOf,
  type Origin,
  parseSkillRef,
  readLockfile,
  readOrigin,
  type SkillRef,
  writeLockfile,
} from "./install.ts";
