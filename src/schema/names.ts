import { ClawHubError } from "../errors/index.ts";

/**
 * Every name ClawHub accepts, with one rule, one check and one message each. Registry, install,
 * hub, control plane and SDK all check names here, so a name one part accepts is never refused
 * by another for a different reason.
 */

/** One kind of name: its pattern, what a user reads when a value breaks it, and a check. */
export interface NameRule {
  /** What the name is, for messages: "slug", "agent id"... */
  readonly what: string;
  /** Matches the whole value (linear time: no nested quantifiers). */
  readonly pattern: RegExp;
  /** The rule in words, as it ends an error message: "use 3-96 characters of ...". */
  readonly rule: string;
  /** Extra condition beyond the pattern (no double hyphen...). */
  readonly extra?: (value: string) => boolean;
}

function rule(r: NameRule): NameRule {
  return Object.freeze(r);
}

/** Registry slug: 3-96 of a-z, 0-9 and single hyphens, a letter or digit at both ends. */
export const SLUG = rule({
  what: "slug",
  pattern: /^[a-z0-9][a-z0-9-]{1,94}[a-z0-9]$/,
  rule: "use 3-96 characters of a-z, 0-9 and single hyphens, starting and ending with a letter or digit",
  extra: (v) => !v.includes("--"),
});

/** Owner handle (user or organisation): 1-39 of a-z, 0-9, "-" and "_", starting with a letter or digit. */
export const HANDLE = rule({
  what: "owner handle",
  pattern: /^[a-z0-9][a-z0-9_-]{0,38}$/,
  rule: "use 1-39 characters of a-z, 0-9, - and _, starting with a letter or digit",
});

/** Version tag (`latest`, `beta`, `v2-rc`): 1-64 of letters, digits, ".", "_" and "-". */
export const TAG = rule({
  what: "tag",
  pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
  rule: "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
});

/** Capability name (`text.summarize`): 1-128 of letters, digits, ".", "_" and "-". */
export const CAPABILITY_NAME = rule({
  what: "capability name",
  pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
  rule: "use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
});

/** Agent id: 1-128 of letters, digits, "_" and "-". */
export const AGENT_ID = rule({
  what: "agent id",
  pattern: /^[A-Za-z0-9_-]{1,128}$/,
  rule: "use 1-128 letters, digits, _ or -",
});

/** A topic agents publish to: dot-separated tokens of `[A-Za-z0-9_=/-]`, at most 256 characters. */
export const TOPIC = rule({
  what: "topic",
  pattern: /^[A-Za-z0-9_=/-]+(?:\.[A-Za-z0-9_=/-]+)*$/,
  rule: "use dot-separated tokens of letters, digits, _ = / and -, at most 256 characters",
  extra: (v) => v.length <= 256,
});

/** A topic pattern to subscribe to: a topic whose tokens may be `*`, and may end in `.>` (or be `>`). */
export const TOPIC_PATTERN = rule({
  what: "topic pattern",
  pattern: /^(?:>|(?:[A-Za-z0-9_=/-]+|\*)(?:\.(?:[A-Za-z0-9_=/-]+|\*))*(?:\.>)?)$/,
  rule: "use a topic whose tokens may be * (one token), ending in .> for the rest (or just >)",
  extra: (v) => v.length <= 256,
});

/** True when `value` is a string that follows `r`. */
export function isName(r: NameRule, value: unknown): boolean {
  return typeof value === "string" && r.pattern.test(value) && (r.extra?.(value) ?? true);
}

/** Throws INVALID_ARGUMENT naming the value and the rule unless `value` follows `r`. */
export function checkName(r: NameRule, value: unknown): string {
  if (isName(r, value)) return value as string;
  const shown = typeof value === "string" ? JSON.stringify(value.slice(0, 100)) : String(value);
  throw new ClawHubError("INVALID_ARGUMENT", `invalid ${r.what} ${shown}: ${r.rule}`, {
    details: { name: r.what },
  });
}

/**
 * Whether a NATS-style pattern (`*` one token, final `>` one or more) matches a subject. Lives
 * here, not in the control plane, so the SDK can match topics without loading a backend.
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return i === p.length - 1 && s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== "*" && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/** Slugs nobody may publish: they would shadow routes or impersonate the project. */
export const RESERVED_SLUGS = new Set([
  "admin",
  "api",
  "assets",
  "auth",
  "clawhub",
  "clawdhub",
  "dashboard",
  "docs",
  "download",
  "explore",
  "help",
  "hub",
  "login",
  "logout",
  "new",
  "openclaw",
  "search",
  "settings",
  "skills",
  "static",
  "stars",
  "support",
  "user",
  "users",
  "well-known",
  "www",
]);

/**
 * Checks a name that is to be published: the slug rule and not reserved. `skill init` and
 * `publish` both use it, so init never creates a skill the registry would refuse.
 */
export function checkPublishableSlug(slug: string): void {
  checkName(SLUG, slug);
  if (RESERVED_SLUGS.has(slug))
    throw new ClawHubError("INVALID_ARGUMENT", `slug "${slug}" is reserved`, {
      hint: "Reserved slugs would shadow routes or impersonate the project; pick another.",
    });
}
