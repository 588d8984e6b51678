/**
 * Typed reading of OpenClaw runtime metadata (`metadata.openclaw`, with the legacy aliases
 * `metadata.clawdbot` and `metadata.clawdis`), as the ClawHub skill-format docs define it.
 * Wrong-typed fields are dropped with a message rather than failing the skill: real registries
 * carry many hand-written variants.
 */

/** Where the OpenClaw block was found. */
export type OpenClawSource = "openclaw" | "clawdbot" | "clawdis";

/** One dependency install spec (`metadata.openclaw.install[]`). */
export interface InstallSpec {
  /** `brew`, `node`, `go`, `uv` are the documented kinds; others are kept as written. */
  kind: string;
  id?: string;
  label?: string;
  /** Homebrew formula (`kind: brew`). */
  formula?: string;
  /** npm / uv package (`kind: node|uv`). */
  package?: string;
  /** Go module (`kind: go`). */
  module?: string;
  /** Binaries the install provides. */
  bins: string[];
  /** OS restriction of this spec. */
  os: string[];
}

/** One environment variable the skill documents (`envVars`). */
export interface EnvVarSpec {
  name: string;
  description?: string;
  required?: boolean;
  default?: string;
}

/** OpenClaw runtime requirements of a skill, typed. */
export interface OpenClawMetadata {
  source: OpenClawSource;
  requires: { bins: string[]; anyBins: string[]; env: string[]; config: string[] };
  primaryEnv?: string;
  os: string[];
  install: InstallSpec[];
  envVars: EnvVarSpec[];
  homepage?: string;
  emoji?: string;
  always?: boolean;
  skillKey?: string;
}

/** Install kinds ClawHub documents; others produce a message but are kept. */
export const KNOWN_INSTALL_KINDS = ["brew", "node", "go", "uv"] as const;

type Report = (field: string, message: string) => void;

/** Finds the OpenClaw block in a metadata map, preferring `openclaw` over its legacy aliases. */
export function findOpenClawBlock(
  metadata: Record<string, unknown>,
): { source: OpenClawSource; value: unknown } | undefined {
  for (const source of ["openclaw", "clawdbot", "clawdis"] as const) {
    if (metadata[source] !== undefined) return { source, value: metadata[source] };
  }
  return undefined;
}

/** Parses an OpenClaw block into typed fields; `report` receives every dropped field. */
export function parseOpenClaw(
  source: OpenClawSource,
  value: unknown,
  report: Report,
): OpenClawMetadata | undefined {
  const prefix = `metadata.${source}`;
  if (!isRecord(value)) {
    report(prefix, `${prefix} must be a mapping, got ${typeName(value)}`);
    return undefined;
  }
  const out: OpenClawMetadata = {
    source,
    requires: { bins: [], anyBins: [], env: [], config: [] },
    os: [],
    install: [],
    envVars: [],
  };
  const requires = value.requires;
  if (requires !== undefined) {
    if (isRecord(requires)) {
      for (const key of ["bins", "anyBins", "env", "config"] as const) {
        out.requires[key] = stringList(requires[key], `${prefix}.requires.${key}`, report);
      }
    } else {
      report(
        `${prefix}.requires`,
        `${prefix}.requires must be a mapping, got ${typeName(requires)}`,
      );
    }
  }
  out.os = stringList(value.os, `${prefix}.os`, report);
  assignString(out, "primaryEnv", value.primaryEnv, `${prefix}.primaryEnv`, report);
  assignString(out, "homepage", value.homepage, `${prefix}.homepage`, report);
  assignString(out, "emoji", value.emoji, `${prefix}.emoji`, report);
  assignString(out, "skillKey", value.skillKey, `${prefix}.skillKey`, report);
  if (value.always !== undefined) {
    const always = flag(value.always);
    if (always !== undefined) out.always = always;
    else report(`${prefix}.always`, `${prefix}.always must be true or false`);
  }
  if (value.install !== undefined) {
    const list = Array.isArray(value.install) ? value.install : [value.install];
    list.forEach((spec, i) => {
      const parsed = parseInstallSpec(spec, `${prefix}.install[${i}]`, report);
      if (parsed) out.install.push(parsed);
    });
  }
  if (value.envVars !== undefined)
    out.envVars = parseEnvVars(value.envVars, `${prefix}.envVars`, report);
  return out;
}

function parseInstallSpec(value: unknown, field: string, report: Report): InstallSpec | undefined {
  if (!isRecord(value)) {
    report(field, `${field} must be a mapping, got ${typeName(value)}`);
    return undefined;
  }
  if (typeof value.kind !== "string" || value.kind === "") {
    report(`${field}.kind`, `${field}.kind is required (one of ${KNOWN_INSTALL_KINDS.join(", ")})`);
    return undefined;
  }
  if (!(KNOWN_INSTALL_KINDS as readonly string[]).includes(value.kind)) {
    report(
      `${field}.kind`,
      `${field}.kind "${value.kind}" is not one of ${KNOWN_INSTALL_KINDS.join(", ")}`,
    );
  }
  const spec: InstallSpec = {
    kind: value.kind,
    bins: stringList(value.bins, `${field}.bins`, report),
    os: stringList(value.os, `${field}.os`, report),
  };
  for (const key of ["id", "label", "formula", "package", "module"] as const) {
    assignString(spec, key, value[key], `${field}.${key}`, report);
  }
  return spec;
}

function parseEnvVars(value: unknown, field: string, report: Report): EnvVarSpec[] {
  const out: EnvVarSpec[] = [];
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (typeof item === "string") out.push({ name: item });
      else if (isRecord(item) && typeof item.name === "string")
        out.push(envVarFrom(item.name, item));
      else report(`${field}[${i}]`, `${field}[${i}] must be a name or a mapping with a name`);
    });
  } else if (isRecord(value)) {
    for (const [name, spec] of Object.entries(value)) {
      if (typeof spec === "string") out.push({ name, description: spec });
      else if (isRecord(spec)) out.push(envVarFrom(name, spec));
      else out.push({ name });
    }
  } else {
    report(field, `${field} must be a list or a mapping, got ${typeName(value)}`);
  }
  return out;
}

function envVarFrom(name: string, spec: Record<string, unknown>): EnvVarSpec {
  const out: EnvVarSpec = { name };
  if (typeof spec.description === "string") out.description = spec.description;
  const required = flag(spec.required);
  if (required !== undefined) out.required = required;
  if (typeof spec.default === "string" || typeof spec.default === "number") {
    out.default = String(spec.default);
  }
  return out;
}

function stringList(value: unknown, field: string, report: Report): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return value.trim() === "" ? [] : [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  report(field, `${field} must be a list of strings, got ${typeName(value)}`);
  return [];
}

function assignString<T extends object>(
  target: T,
  key: keyof T & string,
  value: unknown,
  field: string,
  report: Report,
): void {
  if (value === undefined || value === null) return;
  if (typeof value === "string") (target as Record<string, unknown>)[key] = value;
  else report(field, `${field} must be a string, got ${typeName(value)}`);
}

/** True for a plain object (a YAML/JSON mapping). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A short name of a value's YAML type, for messages. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (value instanceof Date) return "a date";
  if (typeof value === "object") return "a mapping";
  return `a ${typeof value}`;
}

/**
 * OpenClaw's boolean fields. Frontmatter scalars are text (the failsafe schema, as the spec's
 * reference reader); these fields are OpenClaw's typed extension, so `true`/`false` read as such.
 */
function flag(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (value === "true") return true;
  if (value === "false") return false;
  return undefined;
}
