/**
 * Every validation rule, with a stable id. Strict mode (the Agent Skills spec exactly) reports
 * every rule as an error except the advisory ones; lenient mode (what a registry accepts from
 * real authors) downgrades some to warnings and applies a documented fallback, and ignores a few.
 */

/** How a rule is reported in lenient mode. */
export type LenientLevel = "error" | "warning" | "ignore";

interface RuleSpec {
  /** One line for `--help`, docs and summaries. */
  summary: string;
  /** Severity in strict mode. */
  strict: "error" | "warning";
  /** Severity in lenient mode. */
  lenient: LenientLevel;
}

export const RULES = {
  "file.missing": { summary: "the folder has no SKILL.md", strict: "error", lenient: "error" },
  "file.lowercase-name": {
    summary: "the file is named skill.md; the spec requires SKILL.md",
    strict: "error",
    lenient: "warning",
  },
  "file.encoding": { summary: "SKILL.md is not valid UTF-8", strict: "error", lenient: "error" },
  "frontmatter.missing": {
    summary:
      "SKILL.md has no YAML frontmatter (lenient: name from the folder, description from the body)",
    strict: "error",
    lenient: "warning",
  },
  "frontmatter.not-first": {
    summary: "blank lines precede the opening --- of the frontmatter",
    strict: "error",
    lenient: "warning",
  },
  "frontmatter.undelimited": {
    summary: "frontmatter keys without an opening --- line",
    strict: "error",
    lenient: "warning",
  },
  "frontmatter.unterminated": {
    summary: "the frontmatter's opening --- is never closed (lenient: read as body)",
    strict: "error",
    lenient: "warning",
  },
  "frontmatter.yaml": {
    summary: "the frontmatter is not valid YAML (lenient: salvaged key by key)",
    strict: "error",
    lenient: "warning",
  },
  "frontmatter.too-large": {
    summary: "the frontmatter is over 64 KiB (real ones are under 2 KB)",
    strict: "error",
    lenient: "error",
  },
  "frontmatter.not-mapping": {
    summary: "the frontmatter is not a YAML mapping (lenient: ignored)",
    strict: "error",
    lenient: "warning",
  },
  "frontmatter.unknown-key": {
    summary: "a frontmatter key the spec does not define",
    strict: "error",
    lenient: "warning",
  },
  "name.missing": {
    summary: "name is required (lenient: taken from the folder)",
    strict: "error",
    lenient: "warning",
  },
  "name.type": { summary: "name must be a string", strict: "error", lenient: "warning" },
  "name.length": { summary: "name must be 1-64 characters", strict: "error", lenient: "warning" },
  "name.charset": {
    summary: "name may contain only lowercase a-z, 0-9 and hyphens",
    strict: "error",
    lenient: "warning",
  },
  "name.hyphen-edge": {
    summary: "name must not start or end with a hyphen",
    strict: "error",
    lenient: "warning",
  },
  "name.hyphen-double": {
    summary: "name must not contain consecutive hyphens",
    strict: "error",
    lenient: "warning",
  },
  "name.folder-mismatch": {
    summary: "name must equal the folder name (lenient: the folder gives the slug)",
    strict: "error",
    lenient: "warning",
  },
  "slug.invalid": {
    summary: "no valid slug can be derived from the folder name",
    strict: "error",
    lenient: "error",
  },
  "description.missing": {
    summary: "description is required (lenient: first paragraph of the body)",
    strict: "error",
    lenient: "warning",
  },
  "description.type": {
    summary: "description must be a string",
    strict: "error",
    lenient: "warning",
  },
  "description.length": {
    summary: "description must be 1-1024 characters",
    strict: "error",
    lenient: "warning",
  },
  "license.type": {
    summary: "license must be a string (lenient: also a ClawHub license object)",
    strict: "error",
    lenient: "warning",
  },
  "compatibility.type": {
    summary: "compatibility must be a string",
    strict: "error",
    lenient: "warning",
  },
  "compatibility.length": {
    summary: "compatibility must be 1-500 characters",
    strict: "error",
    lenient: "warning",
  },
  "metadata.type": {
    summary: "metadata must be a mapping of strings",
    strict: "error",
    lenient: "warning",
  },
  "metadata.json-string": {
    summary: "metadata is a JSON string (legacy form; lenient: parsed)",
    strict: "error",
    lenient: "warning",
  },
  "metadata.value-type": {
    summary: "metadata values must be strings",
    strict: "error",
    lenient: "ignore",
  },
  "allowed-tools.type": {
    summary: "allowed-tools must be a space-delimited string",
    strict: "error",
    lenient: "warning",
  },
  "version.invalid": {
    summary: "version is not a semantic version (x.y.z)",
    strict: "error",
    lenient: "warning",
  },
  "openclaw.invalid": {
    summary: "an OpenClaw metadata field has the wrong type and is ignored",
    strict: "error",
    lenient: "warning",
  },
  "body.empty": {
    summary: "SKILL.md has no instructions after the frontmatter",
    strict: "warning",
    lenient: "warning",
  },
  "body.too-long": {
    summary: "SKILL.md is over 500 lines; move detail into references/",
    strict: "warning",
    lenient: "warning",
  },
  "files.symlink": {
    summary: "a symbolic link in the skill folder is not packed",
    strict: "warning",
    lenient: "warning",
  },
  "files.too-many": {
    summary: "the skill has more files than the limit",
    strict: "error",
    lenient: "error",
  },
  "files.too-large": {
    summary: "the skill's files add up to more than the size limit",
    strict: "error",
    lenient: "error",
  },
  "files.file-too-large": {
    summary: "a file is larger than the per-file limit",
    strict: "error",
    lenient: "error",
  },
} as const satisfies Record<string, RuleSpec>;

/** A stable validation rule id such as `name.charset`. */
export type RuleId = keyof typeof RULES;

/** Validation mode: `strict` is the Agent Skills spec; `lenient` is what a registry accepts. */
export type ValidationMode = "strict" | "lenient";

/** Severity of a rule in a mode, or "ignore" when the mode does not report it. */
export function severityOf(rule: RuleId, mode: ValidationMode): LenientLevel {
  const spec: RuleSpec = RULES[rule];
  return mode === "strict" ? spec.strict : spec.lenient;
}
