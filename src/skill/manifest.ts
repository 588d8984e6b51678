import { jsonNestingDepth, MAX_JSON_DEPTH } from "../schema/index.ts";
import {
  MAX_FRONTMATTER_BYTES,
  normalizeText,
  readFrontmatter,
  splitFrontmatter,
} from "./frontmatter.ts";
import {
  findOpenClawBlock,
  isRecord,
  type OpenClawMetadata,
  parseOpenClaw,
  typeName,
} from "./openclaw.ts";
import { RULES, type RuleId, severityOf, type ValidationMode } from "./rules.ts";

/** One problem found in a skill. */
export interface SkillIssue {
  rule: RuleId;
  severity: "error" | "warning";
  message: string;
  /** File, relative to the skill folder (usually SKILL.md). */
  file: string;
  /** 1-based line in `file`, where known. */
  line?: number;
  /** Frontmatter field the issue is about, where there is one. */
  field?: string;
}

/** A ClawHub license object (the structured `license:` form). */
export interface LicenseTerms {
  spdx: string;
  [term: string]: unknown;
}

/** The typed content of a valid (or leniently accepted) SKILL.md. */
export interface SkillManifest {
  /** Registry slug: the name in strict mode; derived from the folder in lenient mode. */
  slug: string;
  /** Spec name (equals `slug` whenever the skill is spec-valid). */
  name: string;
  /** Human title: the frontmatter name when it is not a valid slug, else the first heading. */
  displayName: string;
  description: string;
  license?: string | LicenseTerms;
  compatibility?: string;
  /** The metadata map as written (values may be nested in lenient mode). */
  metadata: Record<string, unknown>;
  allowedTools: string[];
  version?: string;
  homepage?: string;
  emoji?: string;
  openclaw?: OpenClawMetadata;
  /** The frontmatter mapping as parsed. */
  frontmatter: Record<string, unknown>;
  /** Markdown instructions after the frontmatter. */
  body: string;
}

/** Keys the Agent Skills spec defines. */
export const SPEC_KEYS = [
  "name",
  "description",
  "license",
  "compatibility",
  "metadata",
  "allowed-tools",
] as const;

/** Limits from the spec. */
export const SPEC_LIMITS = {
  nameMax: 64,
  descriptionMax: 1024,
  compatibilityMax: 500,
  bodyLinesAdvised: 500,
} as const;

const NAME_CHARSET = /^[a-z0-9-]+$/;
const SEMVER =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/** Options of {@link parseSkillMd}. */
export interface ParseOptions {
  mode: ValidationMode;
  /** Name of the skill's folder (the spec requires `name` to equal it). */
  folderName: string;
  /** File name as found (SKILL.md or skill.md), for messages. */
  fileName?: string;
}

/** Result of parsing SKILL.md. `manifest` is absent when an error prevents building one. */
export interface ParseResult {
  issues: SkillIssue[];
  manifest?: SkillManifest;
}

/** Validates that `name` meets the spec's name rules; returns the violated rules. */
export function nameProblems(name: string): Array<{ rule: RuleId; message: string }> {
  const out: Array<{ rule: RuleId; message: string }> = [];
  const length = [...name].length;
  if (length < 1 || length > SPEC_LIMITS.nameMax) {
    out.push({ rule: "name.length", message: `name must be 1-64 characters, got ${length}` });
  }
  if (length > 0 && !NAME_CHARSET.test(name)) {
    out.push({
      rule: "name.charset",
      message: `name "${clip(name)}" may contain only lowercase letters a-z, digits and hyphens`,
    });
  }
  if (name.startsWith("-") || name.endsWith("-")) {
    out.push({
      rule: "name.hyphen-edge",
      message: `name "${clip(name)}" must not start or end with a hyphen`,
    });
  }
  if (name.includes("--")) {
    out.push({ rule: "name.hyphen-double", message: `name "${clip(name)}" must not contain "--"` });
  }
  return out;
}

/** Derives a spec-valid slug from a folder name ("My_Skill v2" -> "my-skill-v2"), or "". */
export function slugFromFolder(folderName: string): string {
  return folderName
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .split("-")
    .filter(Boolean)
    .join("-")
    .slice(0, SPEC_LIMITS.nameMax)
    .replace(/-$/, "");
}

/**
 * The text of the first ATX heading of level 1 (`# Title`, closing #s dropped), found line by
 * line in linear time: a regex with a lazy group between optional runs of spaces backtracks
 * cubically on a long line of spaces (a 3 KB SKILL.md froze a server for 20 s).
 */
export function firstHeading(body: string): string | undefined {
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf("\n", start);
    if (end < 0) end = body.length;
    if (body.charCodeAt(start) === 35 /* # */) {
      const line = body.slice(start, end);
      if (/^#[ \t]/.test(line)) {
        let text = line.slice(1).trim();
        let cut = text.length;
        while (cut > 0 && text.charCodeAt(cut - 1) === 35) cut--;
        text = text.slice(0, cut).trim();
        if (text) return text;
      }
    }
    start = end + 1;
  }
  return undefined;
}

/** Lines of a text without its trailing newlines, counted in linear time. */
function countLines(text: string): number {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 10) end--;
  let lines = 1;
  for (let i = 0; i < end; i++) if (text.charCodeAt(i) === 10) lines++;
  return lines;
}

/**
 * Parses and validates SKILL.md text. Strict mode applies the Agent Skills spec exactly; lenient
 * mode applies the documented fallbacks and reports them as warnings. Every problem is returned
 * at once, never only the first.
 */
export function parseSkillMd(rawText: string, options: ParseOptions): ParseResult {
  const { mode, folderName } = options;
  const file = options.fileName ?? "SKILL.md";
  const issues: SkillIssue[] = [];
  const add = (rule: RuleId, message: string, extra: { line?: number; field?: string } = {}) => {
    const level = severityOf(rule, mode);
    if (level === "ignore") return;
    issues.push({ rule, severity: level, message, file, ...extra });
  };

  const text = normalizeText(rawText);
  const split = splitFrontmatter(text);
  let frontmatter: Record<string, unknown> = {};
  let keyLines = new Map<string, number>();
  let body = split.body;

  switch (split.kind) {
    case "none":
      add("frontmatter.missing", "SKILL.md has no frontmatter; it must start with a --- line", {
        line: 1,
      });
      break;
    case "unterminated":
      add(
        "frontmatter.unterminated",
        "the frontmatter opened by --- is never closed by a --- line",
        {
          line: split.yamlLine - 1,
        },
      );
      break;
    case "late-delimited":
      add("frontmatter.not-first", "the frontmatter's --- must be the first line of SKILL.md", {
        line: split.yamlLine - 1,
      });
      break;
    case "undelimited":
      add("frontmatter.undelimited", "frontmatter keys must be enclosed between --- lines", {
        line: split.yamlLine,
      });
      break;
    case "delimited":
      break;
  }

  if (
    split.kind !== "none" &&
    split.kind !== "unterminated" &&
    Buffer.byteLength(split.yaml) > MAX_FRONTMATTER_BYTES
  ) {
    add(
      "frontmatter.too-large",
      `the frontmatter is ${Buffer.byteLength(split.yaml)} bytes; the limit is ${MAX_FRONTMATTER_BYTES}`,
      { line: split.yamlLine },
    );
    return { issues };
  }
  if (split.kind !== "none" && split.kind !== "unterminated") {
    const read = readFrontmatter(split.yaml, split.yamlLine, { salvage: mode === "lenient" });
    for (const err of read.errors) {
      const salvaged = mode === "lenient" ? " (salvaged key by key)" : "";
      add("frontmatter.yaml", `invalid YAML: ${err.message}${salvaged}`, { line: err.line });
    }
    if (read.rootType !== undefined) {
      add(
        "frontmatter.not-mapping",
        `the frontmatter must be a YAML mapping, got a ${read.rootType}`,
        {
          line: split.yamlLine,
        },
      );
    }
    if (read.data) frontmatter = read.data;
    keyLines = read.keyLines;
    // Unreadable YAML in strict mode: per-key rules would only repeat the syntax error.
    if (!read.data && read.errors.length > 0) return { issues };
  }
  const lineOf = (key: string) => keyLines.get(key);

  // Unknown keys: strict is the spec; lenient tolerates what real skills carry.
  for (const key of Object.keys(frontmatter)) {
    if (!(SPEC_KEYS as readonly string[]).includes(key)) {
      add(
        "frontmatter.unknown-key",
        `"${clip(key)}" is not a frontmatter key of the Agent Skills spec`,
        {
          line: lineOf(key),
          field: key,
        },
      );
    }
  }

  // name
  const rawName = frontmatter.name;
  let specName: string | undefined;
  if (rawName === undefined || rawName === null || rawName === "") {
    add("name.missing", "name is required", {
      line: lineOf("name") ?? split.yamlLine,
      field: "name",
    });
  } else if (typeof rawName !== "string") {
    add("name.type", `name must be a string, got ${typeName(rawName)}`, {
      line: lineOf("name"),
      field: "name",
    });
    specName = String(rawName);
  } else {
    specName = rawName;
  }
  let nameValid = false;
  if (specName !== undefined) {
    const problems = nameProblems(specName);
    for (const p of problems) add(p.rule, p.message, { line: lineOf("name"), field: "name" });
    nameValid = problems.length === 0 && typeof rawName === "string";
    if (specName !== folderName) {
      add(
        "name.folder-mismatch",
        `name "${clip(specName)}" must equal the folder name "${clip(folderName)}"`,
        { line: lineOf("name"), field: "name" },
      );
    }
  }

  // slug: strict = the name (which must equal the folder); lenient = derived from the folder.
  const slug = mode === "strict" ? folderName : slugFromFolder(folderName);
  if (mode === "lenient" && slug === "") {
    add("slug.invalid", `no slug can be derived from the folder name "${clip(folderName)}"`, {
      field: "name",
    });
  }

  // description
  const rawDescription = frontmatter.description;
  let description = "";
  if (rawDescription === undefined || rawDescription === null || rawDescription === "") {
    const fallback = mode === "lenient" ? firstParagraph(body) : "";
    if (fallback) {
      add("description.missing", "description is missing; using the first paragraph of the body", {
        line: lineOf("description") ?? split.yamlLine,
        field: "description",
      });
      description = fallback.slice(0, SPEC_LIMITS.descriptionMax);
    } else {
      issues.push({
        rule: "description.missing",
        severity: "error",
        message:
          "description is required (1-1024 characters: what the skill does and when to use it)",
        file,
        line: lineOf("description") ?? split.yamlLine,
        field: "description",
      });
    }
  } else if (typeof rawDescription !== "string") {
    add("description.type", `description must be a string, got ${typeName(rawDescription)}`, {
      line: lineOf("description"),
      field: "description",
    });
    description =
      typeof rawDescription === "object" ? JSON.stringify(rawDescription) : String(rawDescription);
  } else {
    description = rawDescription;
  }
  const descLength = [...description].length;
  if (descLength > SPEC_LIMITS.descriptionMax) {
    add("description.length", `description must be at most 1024 characters, got ${descLength}`, {
      line: lineOf("description"),
      field: "description",
    });
  }

  // license
  let license: string | LicenseTerms | undefined;
  const rawLicense = frontmatter.license;
  if (rawLicense !== undefined && rawLicense !== null) {
    if (typeof rawLicense === "string") {
      license = rawLicense;
    } else if (mode === "lenient" && isRecord(rawLicense) && typeof rawLicense.spdx === "string") {
      license = { ...rawLicense, spdx: rawLicense.spdx };
    } else {
      add("license.type", `license must be a string, got ${typeName(rawLicense)}`, {
        line: lineOf("license"),
        field: "license",
      });
    }
  }

  // compatibility
  let compatibility: string | undefined;
  const rawCompat = frontmatter.compatibility;
  if (rawCompat !== undefined && rawCompat !== null) {
    if (typeof rawCompat !== "string") {
      add("compatibility.type", `compatibility must be a string, got ${typeName(rawCompat)}`, {
        line: lineOf("compatibility"),
        field: "compatibility",
      });
    } else {
      compatibility = rawCompat;
      const n = [...rawCompat].length;
      if (n < 1 || n > SPEC_LIMITS.compatibilityMax) {
        add("compatibility.length", `compatibility must be 1-500 characters, got ${n}`, {
          line: lineOf("compatibility"),
          field: "compatibility",
        });
      }
    }
  }

  // metadata
  let metadata: Record<string, unknown> = {};
  const rawMetadata = frontmatter.metadata;
  // `metadata:` with nothing after it is empty text under the failsafe schema: no metadata.
  if (rawMetadata !== undefined && rawMetadata !== null && rawMetadata !== "") {
    const at = { line: lineOf("metadata"), field: "metadata" };
    if (typeof rawMetadata === "string") {
      const parsed = parseJsonObject(rawMetadata);
      if (parsed) {
        add("metadata.json-string", "metadata is a JSON string; write it as a YAML mapping", at);
        if (mode === "lenient") metadata = parsed;
      } else {
        add(
          "metadata.type",
          "metadata must be a mapping; this string is not a JSON object either",
          at,
        );
      }
    } else if (isRecord(rawMetadata)) {
      metadata = rawMetadata;
    } else {
      add("metadata.type", `metadata must be a mapping, got ${typeName(rawMetadata)}`, at);
    }
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== "string") {
        add(
          "metadata.value-type",
          `metadata.${clip(key)} must be a string, got ${typeName(value)}`,
          {
            line: lineOf("metadata"),
            field: `metadata.${key}`,
          },
        );
      }
    }
  }

  // allowed-tools: a space-delimited string (lenient also takes a list).
  let allowedTools: string[] = [];
  const rawTools = frontmatter["allowed-tools"];
  if (rawTools !== undefined && rawTools !== null) {
    if (typeof rawTools === "string") {
      allowedTools = rawTools.split(/\s+/).filter(Boolean);
    } else {
      add(
        "allowed-tools.type",
        `allowed-tools must be a space-delimited string, got ${typeName(rawTools)}`,
        {
          line: lineOf("allowed-tools"),
          field: "allowed-tools",
        },
      );
      if (Array.isArray(rawTools)) allowedTools = rawTools.map(String);
    }
  }

  // OpenClaw fields (lenient only: strict mode already reports them as unknown or non-string).
  let openclaw: OpenClawMetadata | undefined;
  let version: string | undefined;
  let homepage: string | undefined;
  let emoji: string | undefined;
  if (mode === "lenient") {
    const block = findOpenClawBlock(metadata);
    if (block) {
      openclaw = parseOpenClaw(block.source, block.value, (field, message) =>
        add("openclaw.invalid", message, { line: lineOf("metadata"), field }),
      );
    }
    const rawVersion = frontmatter.version ?? metadata.version;
    if (rawVersion !== undefined && rawVersion !== null) {
      const v = String(rawVersion);
      if (SEMVER.test(v)) version = v.replace(/^v/, "");
      else
        add("version.invalid", `version "${clip(v)}" is not a semantic version such as 1.2.0`, {
          line: lineOf("version") ?? lineOf("metadata"),
          field: "version",
        });
    }
    homepage = stringField(frontmatter.homepage) ?? openclaw?.homepage;
    emoji = stringField(frontmatter.emoji) ?? openclaw?.emoji;
  }

  // Body
  if (split.kind === "unterminated" || split.kind === "none") body = text;
  const bodyLines = countLines(body);
  if (body.trim() === "") {
    add("body.empty", "SKILL.md has no instructions after the frontmatter", {
      line: split.bodyLine,
    });
  } else if (bodyLines > SPEC_LIMITS.bodyLinesAdvised) {
    add(
      "body.too-long",
      `SKILL.md body has ${bodyLines} lines; keep it under 500 and move detail into references/`,
    );
  }

  const hasError = issues.some((i) => i.severity === "error");
  if (hasError && mode === "strict") return { issues };
  if (issues.some((i) => i.severity === "error" && blocksManifest(i.rule))) return { issues };

  const heading = firstHeading(body);
  const manifest: SkillManifest = {
    slug,
    name: nameValid && specName !== undefined ? specName : slug,
    displayName: !nameValid && specName ? specName : (heading ?? titleCase(slug)),
    description: description.trim(),
    metadata,
    allowedTools,
    frontmatter,
    body,
  };
  if (license !== undefined) manifest.license = license;
  if (compatibility !== undefined) manifest.compatibility = compatibility;
  if (version !== undefined) manifest.version = version;
  if (homepage !== undefined) manifest.homepage = homepage;
  if (emoji !== undefined) manifest.emoji = emoji;
  if (openclaw !== undefined) manifest.openclaw = openclaw;
  return { issues, manifest };
}

function blocksManifest(rule: RuleId): boolean {
  return (
    rule === "slug.invalid" || rule === "description.missing" || RULES[rule].lenient === "error"
  );
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  // Deeper than any real metadata, and stored and walked later: refused as not an object.
  if (jsonNestingDepth(text) > MAX_JSON_DEPTH) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function stringField(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** First prose paragraph of a Markdown body: skips headings, code fences, lists and quotes. */
export function firstParagraph(body: string): string {
  const lines = body.split("\n");
  let inFence = false;
  const para: string[] = [];
  for (const line of lines) {
    const t = line.trim();
    if (/^(```|~~~)/.test(t)) {
      inFence = !inFence;
      if (para.length) break;
      continue;
    }
    if (inFence) continue;
    if (t === "" || /^(#|>|[-*+]\s|\d+\.\s|\||<!--|---|===)/.test(t)) {
      if (para.length) break;
      continue;
    }
    para.push(t);
  }
  return para.join(" ").replace(/\s+/g, " ").trim();
}

function titleCase(slug: string): string {
  return slug
    .split("-")
    .filter(Boolean)
    .map((w) => w[0]?.toUpperCase() + w.slice(1))
    .join(" ");
}

function clip(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
