import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { ClawHubError } from "../errors/index.ts";
import { checkPublishableSlug } from "../schema/index.ts";
import { collectFiles, type FileSet, loadFiles } from "./files.ts";
import { type FileHash, fingerprintOf, integrityOf } from "./hash.ts";
import { DEFAULT_LIMITS, type SkillLimits } from "./limits.ts";
import { nameProblems, parseSkillMd, type SkillIssue, type SkillManifest } from "./manifest.ts";
import type { ValidationMode } from "./rules.ts";
import { createZip } from "./zip.ts";

/** Outcome of validating one skill: no issues, only warnings, or at least one error. */
export type SkillOutcome = "valid" | "warnings" | "invalid";

/** The report of validating one skill folder. */
export interface SkillReport {
  /** Absolute path of the skill folder. */
  dir: string;
  outcome: SkillOutcome;
  issues: SkillIssue[];
  /** Present whenever the skill could be read (even with warnings in lenient mode). */
  manifest?: SkillManifest;
  /** Publishable files and their total size. */
  files?: { count: number; totalBytes: number };
}

/** Options of {@link validateSkillDir} and {@link packSkill}. */
export interface SkillOptions {
  /** `strict` (the Agent Skills spec) or `lenient` (what a registry accepts). Default: lenient. */
  mode?: ValidationMode;
  limits?: SkillLimits;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Validates a skill folder: SKILL.md (frontmatter and body, every rule of the mode) and the file
 * set (ignore rules and limits). Never throws for a bad skill: problems are issues in the report.
 */
export async function validateSkillDir(
  dir: string,
  options: SkillOptions = {},
): Promise<SkillReport> {
  return (await inspectSkillDir(dir, options)).report;
}

/** Validates a folder and also returns the file set it walked, so packing walks only once. */
async function inspectSkillDir(
  dir: string,
  options: SkillOptions,
): Promise<{ report: SkillReport; fileSet?: FileSet }> {
  const mode = options.mode ?? "lenient";
  const limits = options.limits ?? DEFAULT_LIMITS;
  const abs = resolve(dir);
  const folderName = basename(abs);
  let fileSet: FileSet | undefined;
  const report = (issues: SkillIssue[], extra: Partial<SkillReport> = {}) => ({
    report: { dir: abs, outcome: outcomeOf(issues), issues, ...extra },
    ...(fileSet ? { fileSet } : {}),
  });

  let names: string[];
  try {
    names = await readdir(abs);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === "ENOTDIR" ? `${abs} is not a folder` : `folder ${abs} does not exist`;
    return report([{ rule: "file.missing", severity: "error", message, file: "." }]);
  }
  const fileName = names.includes("SKILL.md")
    ? "SKILL.md"
    : names.find((n) => n.toLowerCase() === "skill.md");
  if (fileName === undefined) {
    return report([
      {
        rule: "file.missing",
        severity: "error",
        message: "the folder has no SKILL.md",
        file: "SKILL.md",
      },
    ]);
  }

  const issues: SkillIssue[] = [];
  if (fileName !== "SKILL.md") {
    issues.push({
      rule: "file.lowercase-name",
      severity: mode === "strict" ? "error" : "warning",
      message: `the file is named ${fileName}; rename it to SKILL.md`,
      file: fileName,
    });
  }

  fileSet = await collectFiles(abs, { limits });
  for (const v of fileSet.violations) {
    issues.push({ rule: v.rule, severity: "error", message: v.message, file: v.path ?? "." });
  }
  for (const s of fileSet.skipped) {
    issues.push({
      rule: "files.symlink",
      severity: "warning",
      message: `${s.path} is a ${s.reason === "symlink" ? "symbolic link" : "special file"} and is not packed`,
      file: s.path,
    });
  }
  const files = { count: fileSet.files.length, totalBytes: fileSet.totalBytes };

  const skillPath = join(abs, fileName);
  const size = (await stat(skillPath)).size;
  if (size > limits.maxFileBytes) return report(issues, { files });
  let text: string;
  try {
    text = utf8.decode(await readFile(skillPath));
  } catch {
    issues.push({
      rule: "file.encoding",
      severity: "error",
      message: `${fileName} is not valid UTF-8`,
      file: fileName,
    });
    return report(issues, { files });
  }
  const parsed = parseSkillMd(text, { mode, folderName, fileName });
  issues.push(...parsed.issues);
  return report(issues, parsed.manifest ? { manifest: parsed.manifest, files } : { files });
}

function outcomeOf(issues: SkillIssue[]): SkillOutcome {
  if (issues.some((i) => i.severity === "error")) return "invalid";
  return issues.length > 0 ? "warnings" : "valid";
}

/** A packed skill: the archive and everything a registry needs to identify it. */
export interface PackedSkill {
  manifest: SkillManifest;
  /** Warnings the skill carries (errors make packing fail). */
  issues: SkillIssue[];
  zip: Buffer;
  /** sha512 SRI integrity of `zip`. */
  integrity: string;
  /** The ClawHub file-set fingerprint. */
  fingerprint: string;
  files: FileHash[];
  /** The bytes packed, per file: what a publish uploads, read once with the rest. */
  contents: Array<{ path: string; data: Buffer }>;
  totalBytes: number;
}

/**
 * Validates and packs a skill folder into a deterministic ZIP. Throws INVALID_SKILL (with every
 * issue in `details.issues`) when validation fails, LIMIT_EXCEEDED when the file set is too big.
 */
export async function packSkill(dir: string, options: SkillOptions = {}): Promise<PackedSkill> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const { report, fileSet } = await inspectSkillDir(dir, options);
  const errors = report.issues.filter((i) => i.severity === "error");
  const limitErrors = errors.filter((i) => i.rule.startsWith("files."));
  if (limitErrors.length > 0) {
    throw new ClawHubError("LIMIT_EXCEEDED", limitErrors.map((i) => i.message).join("; "), {
      hint: "Add a .clawhubignore to leave out what the skill does not need.",
      details: { issues: limitErrors },
    });
  }
  if (errors.length > 0 || !report.manifest) {
    const first = errors[0];
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
    throw new ClawHubError(
      "INVALID_SKILL",
      `${report.dir}: ${first?.message ?? "invalid skill"}${more}`,
      {
        hint: "Run `clawhub skill validate` on the folder to see every problem.",
        details: { issues: errors },
      },
    );
  }
  const loaded = await loadFiles(fileSet ?? (await collectFiles(report.dir, { limits })));
  const zip = createZip(loaded.map((f) => ({ path: f.path, data: f.data })));
  const files = loaded.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size }));
  return {
    manifest: report.manifest,
    issues: report.issues,
    zip,
    integrity: integrityOf(zip),
    fingerprint: fingerprintOf(files),
    files,
    contents: loaded.map((f) => ({ path: f.path, data: f.data })),
    totalBytes: loaded.reduce((n, f) => n + f.size, 0),
  };
}

/** Options of {@link initSkill}. */
/** The description `skill init` writes when given none: publish warns while it is unedited. */
export function templateDescription(name: string): string {
  return `Describe what ${name} does and when an agent should use it.`;
}

export interface InitOptions {
  /** One sentence: what the skill does and when an agent should use it. */
  description?: string;
  /** Overwrite an existing SKILL.md. */
  force?: boolean;
}

/**
 * Scaffolds a skill that passes strict validation: SKILL.md with the folder's name, a
 * description, and a body that shows the conventional layout.
 */
export async function initSkill(
  dir: string,
  options: InitOptions = {},
): Promise<{ dir: string; files: string[] }> {
  const abs = resolve(dir);
  const name = basename(abs);
  const problems = nameProblems(name);
  // Also what a registry would refuse to publish (too short, reserved): init never creates a
  // skill that cannot be published.
  if (problems.length === 0) {
    try {
      checkPublishableSlug(name);
    } catch (error) {
      throw new ClawHubError(
        "INVALID_ARGUMENT",
        `"${name}" cannot be published: ${(error as Error).message.replace(/^invalid slug "[^"]*": /, "")}`,
        {
          hint: "Name the folder with 3-96 lowercase letters, digits and single hyphens, not a reserved word.",
        },
      );
    }
  }
  if (problems.length > 0) {
    throw new ClawHubError(
      "INVALID_ARGUMENT",
      `"${name}" cannot be a skill name: ${problems[0]?.message}`,
      {
        hint: "Name the folder with lowercase letters, digits and single hyphens, e.g. `pdf-tools`.",
      },
    );
  }
  const description = options.description ?? templateDescription(name);
  if (description.length < 1 || description.length > 1024) {
    throw new ClawHubError("INVALID_ARGUMENT", "the description must be 1-1024 characters");
  }
  await mkdir(abs, { recursive: true });
  const skillPath = join(abs, "SKILL.md");
  const content = [
    "---",
    `name: ${name}`,
    `description: ${JSON.stringify(description)}`,
    "---",
    "",
    `# ${name}`,
    "",
    "## When to use",
    "",
    "Describe the situations in which an agent should load this skill.",
    "",
    "## Instructions",
    "",
    "1. Write the steps the agent should follow.",
    "2. Put long reference material in `references/` and link to it from here.",
    "3. Put helper scripts in `scripts/` and say when to run them.",
    "",
  ].join("\n");
  try {
    await writeFile(skillPath, content, { flag: options.force ? "w" : "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new ClawHubError("ALREADY_EXISTS", `${skillPath} already exists`, {
        hint: "Pass --force to overwrite it.",
      });
    }
    throw error;
  }
  return { dir: abs, files: ["SKILL.md"] };
}
