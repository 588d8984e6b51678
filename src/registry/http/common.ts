/** What every route module shares: the Hono environment, its context, and request helpers. */
import type { IncomingMessage } from "node:http";
import type { Context, Hono } from "hono";
import { ClawHubError } from "../../errors/index.ts";
import { jsonNestingDepth, MAX_JSON_DEPTH } from "../../schema/index.ts";
import { type Finding, rulesOf } from "../../trust/index.ts";
import type { Principal, Registry } from "../service.ts";
import type { ScanRecord, SkillSort } from "../store/index.ts";

/** Hono's environment of the registry app. */
export type Env = {
  Bindings: { incoming?: IncomingMessage };
  Variables: { principal: Principal | undefined; authError: ClawHubError | undefined };
};

/** What a route module gets from createApp. */
export interface RouteContext {
  app: Hono<Env>;
  registry: Registry;
  /** Public base URL: `--base-url` (or a `--public-url` the request's Host names), never Host alone. */
  baseOf(c: Context<Env>): string;
  clientIp(c: Context<Env>): string;
  requireUser(c: Context<Env>): Principal;
  requireAdmin(c: Context<Env>): Principal;
  /** Bytes of publishes in flight at once (see AppOptions.maxPublishBytes). */
  maxPublishBytes: number;
}

/** `?ownerHandle=` without its `@`. */
export const ownerParam = (c: Context<Env>) =>
  c.req.query("ownerHandle")?.replace(/^@/, "") || undefined;

/** The skill a `/skills/:slug` route names, as the caller may see it (else "Skill not found"). */
export const requestedSkill = (registry: Registry, c: Context<Env>) =>
  registry.requireSkill(c.get("principal"), c.req.param("slug") ?? "", ownerParam(c));

/** Deepest page a cursor may point at (past it, listings are for search, not paging). */
export const MAX_OFFSET = 1_000_000;

export const cursorOf = (offset: number) =>
  Buffer.from(JSON.stringify({ o: offset })).toString("base64url");
export function offsetOf(cursor: string | undefined): number {
  if (!cursor) return 0;
  try {
    const o = (JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { o?: unknown }).o;
    // Bounded: an offset like 1e300 is an integer to JavaScript and an overflow to SQL.
    if (typeof o === "number" && Number.isInteger(o) && o >= 0 && o <= MAX_OFFSET) return o;
  } catch {
    // fall through
  }
  throw new ClawHubError("INVALID_ARGUMENT", "invalid cursor");
}

export function intParam(
  value: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ClawHubError("INVALID_ARGUMENT", `${name} must be an integer from ${min} to ${max}`);
  return n;
}

export const SORTS: Record<string, SkillSort> = {
  updated: "updated",
  createdAt: "createdAt",
  newest: "createdAt",
  downloads: "downloads",
  stars: "stars",
  rating: "stars",
  installs: "installs",
  installsCurrent: "installs",
  installsAllTime: "installs",
  trending: "installs",
};

/** What the moderation endpoint says of a version nothing scanned: not scanned, never clean. */
export function notScannedModeration() {
  return {
    isSuspicious: false,
    isMalwareBlocked: false,
    // Not one of upstream's clean|suspicious|malicious: a client that knows only those rejects
    // this answer and shows no verdict, rather than one that nothing here reached.
    verdict: "not_scanned",
    scanned: false,
    reasonCodes: ["scan.not_scanned"],
    summary: "No scanner has looked at this version (published before this registry scanned).",
    engineVersion: null,
    updatedAt: null,
    legacyReason: null,
    evidence: [],
  };
}

/**
 * What the moderation endpoint and the skill view say of a scanned version, in upstream's shape:
 * the verdict, the rules that weighed in as reason codes, and (for those who manage the skill)
 * every finding with its file, line, evidence and explanation.
 */
export function scanModeration(scan: ScanRecord | undefined, withEvidence: boolean) {
  if (!scan) return notScannedModeration();
  let findings: Finding[] = [];
  try {
    findings = JSON.parse(scan.findings) as Finding[];
  } catch {
    findings = [];
  }
  const counted = findings.filter((f) => f.severity !== "info");
  const rules = rulesOf(findings);
  return {
    isSuspicious: scan.verdict === "suspicious",
    isMalwareBlocked: scan.verdict === "malicious",
    verdict: scan.verdict,
    scanned: true,
    reasonCodes: rules.map((r) => `scan.${r}`),
    summary:
      scan.verdict === "clean"
        ? "The scanner found nothing that weighs against this version."
        : `The scanner found ${counted.length} issue${counted.length === 1 ? "" : "s"} (${rules.join(", ")}): ${scan.verdict}.`,
    engineVersion: scan.engine,
    updatedAt: scan.scannedAt,
    legacyReason: null,
    evidence: withEvidence
      ? counted.map(({ rule, severity, file, line, evidence, explanation }) => ({
          rule,
          severity,
          file,
          line,
          evidence,
          explanation,
        }))
      : [],
  };
}

/** Publish tags: absent, or an array of strings (anything else is a 400, not a guess). */
export function tagsOf(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((t) => typeof t !== "string"))
    throw new ClawHubError("INVALID_ARGUMENT", "tags must be an array of strings");
  return value as string[];
}

export function tokenOptions(body: { name?: unknown; expiresInDays?: unknown }): {
  name?: string;
  expiresInDays?: number;
} {
  const out: { name?: string; expiresInDays?: number } = {};
  if (typeof body.name === "string" && body.name.trim()) out.name = body.name.trim().slice(0, 100);
  if (body.expiresInDays !== undefined) {
    if (
      typeof body.expiresInDays !== "number" ||
      !(body.expiresInDays > 0) ||
      body.expiresInDays > 3650
    ) {
      throw new ClawHubError("INVALID_ARGUMENT", "expiresInDays must be a number from 1 to 3650");
    }
    out.expiresInDays = body.expiresInDays;
  }
  return out;
}

export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  if (jsonNestingDepth(text) > MAX_JSON_DEPTH)
    throw new ClawHubError(
      "INVALID_ARGUMENT",
      `${what} nests deeper than ${MAX_JSON_DEPTH} levels`,
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ClawHubError("INVALID_ARGUMENT", `${what} is not valid JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new ClawHubError("INVALID_ARGUMENT", `${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

export async function jsonBody<T>(c: Context<Env>, max: number): Promise<T> {
  const raw = await limitedBody(c, max);
  if (raw.length === 0) return {} as T;
  return parseJsonObject(raw.toString("utf8"), "request body") as T;
}

/**
 * Streams a request body to `onChunk`, at most `max` bytes. A declared Content-Length over the
 * limit is refused before reading; an undeclared one is cut off the moment it passes the limit
 * (LIMIT_EXCEEDED), so an oversized upload is never read whole. `onChunk` returning false stops
 * the reading early. Either way the rest of the body is cancelled.
 */
export async function readBody(
  c: Context<Env>,
  max: number,
  onChunk: (chunk: Uint8Array) => boolean | undefined | Promise<boolean | undefined>,
): Promise<void> {
  const declared = Number(c.req.header("content-length") ?? "NaN");
  const tooLarge = () =>
    new ClawHubError("LIMIT_EXCEEDED", `Payload too large (limit ${max} bytes)`);
  if (Number.isFinite(declared) && declared > max) throw tooLarge();
  const body = c.req.raw.body;
  if (!body) return;
  const reader = body.getReader();
  let size = 0;
  let complete = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        complete = true;
        return;
      }
      size += value.byteLength;
      if (size > max) throw tooLarge();
      if ((await onChunk(value)) === false) return;
    }
  } finally {
    if (!complete) await reader.cancel().catch(() => {});
  }
}

/** Reads a request body up to `max` bytes (see {@link readBody}). */
export async function limitedBody(c: Context<Env>, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await readBody(c, max, (chunk) => {
    chunks.push(Buffer.from(chunk));
    return undefined;
  });
  return Buffer.concat(chunks);
}
