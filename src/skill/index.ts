/**
 * The skill package format: SKILL.md parsing and validation (strict Agent Skills spec, lenient
 * registry mode), file sets with ignore rules and limits, the ClawHub fingerprint, deterministic
 * ZIP packing and safe extraction.
 */

export {
  findSkillDirs,
  summarize,
  type ValidateManyOptions,
  type ValidationSummary,
  validateMany,
} from "./batch.ts";
export {
  checkSkillPaths,
  type ExtractedFile,
  type ExtractOptions,
  type ExtractResult,
  extractZip,
  removeStaleStaging,
} from "./extract.ts";
export {
  ALWAYS_IGNORED,
  collectFiles,
  type FileSet,
  type FileSetViolation,
  hashFolder,
  IGNORE_FILES,
  type LoadedFile,
  loadFiles,
  type SkillFile,
  type SkippedPath,
} from "./files.ts";
export { normalizeText, splitFrontmatter } from "./frontmatter.ts";
export {
  compareFingerprintPaths,
  digestInSlices,
  type FileHash,
  fingerprintOf,
  integrityOf,
  sha256Hex,
  sha512HexOf,
} from "./hash.ts";
export {
  DEFAULT_LIMITS,
  formatBytes,
  maxArchiveBytes,
  resolveLimits,
  type SkillLimits,
} from "./limits.ts";
export {
  firstParagraph,
  type LicenseTerms,
  nameProblems,
  type ParseOptions,
  type ParseResult,
  parseSkillMd,
  type SkillIssue,
  type SkillManifest,
  SPEC_KEYS,
  SPEC_LIMITS,
  slugFromFolder,
} from "./manifest.ts";
export {
  type EnvVarSpec,
  type InstallSpec,
  KNOWN_INSTALL_KINDS,
  type OpenClawMetadata,
  type OpenClawSource,
} from "./openclaw.ts";
export { RULES, type RuleId, severityOf, type ValidationMode } from "./rules.ts";
export {
  type InitOptions,
  initSkill,
  type PackedSkill,
  packSkill,
  type SkillOptions,
  type SkillOutcome,
  type SkillReport,
  templateDescription,
  validateSkillDir,
} from "./skill.ts";
export {
  ARCHIVE_RULES,
  type ArchiveRule,
  createZip,
  createZipAsync,
  readZipDirectory,
  type ZipEntry,
  type ZipInput,
} from "./zip.ts";
