import type { IncomingMessage } from "node:http";
import { type Context, Hono } from "hono";
import { ClawHubError, type ErrorCode, redactSecrets, toClawHubError } from "../errors/index.ts";
import type {
  AdminUserListResponse,
  CreatedTokenResponse,
  CreatedUserResponse,
  OkResponse,
  PublishResponse,
  ResolveResponse,
  SearchResponse,
  SearchStatusResponse,
  SkillDetailResponse,
  SkillListResponse,
  SkillSummary,
  TokenInfo,
  TokenListResponse,
  UploadUrlResponse,
  UserStateResponse,
  VersionDetailResponse,
  VersionListResponse,
  VersionSummary,
  WellKnownResponse,
  WhoamiResponse,
} from "../schema/index.ts";
import { maxArchiveBytes } from "../skill/index.ts";
import { createRateLimiter, type RateLimitConfig, type RateLimiter } from "./ratelimit.ts";
import type { Principal, PublishFile, Registry } from "./service.ts";
import type { SkillRecord, SkillSort, VersionRecord } from "./store/index.ts";

/** Options of {@link createApp}. */
export interface AppOptions {
  registry: Registry;
  /** Public base URL (for discovery and upload URLs); default: the request's own origin. */
  baseUrl?: string;
  /** Per-minute limits; `false` turns rate limiting off (private registries, benchmarks). */
  rateLimits?: Partial<RateLimitConfig> | false;
  /** Trust X-Forwarded-For / X-Real-IP for the client address (only behind your own proxy). */
  trustProxy?: boolean;
  now?: () => number;
  logger?: (line: string) => void;
}

type Env = {
  Bindings: { incoming?: IncomingMessage };
  Variables: { principal: Principal | undefined; authError: ClawHubError | undefined };
};

/** HTTP status of each error code: the server's one mapping. */
export const STATUS_OF: Record<ErrorCode, number> = {
  USAGE: 400,
  INVALID_ARGUMENT: 400,
  INVALID_SKILL: 400,
  INVALID_WORKFLOW: 400,
  CONFIG_INVALID: 400,
  INTEGRITY_MISMATCH: 400,
  UNSAFE_ARCHIVE: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  LOCAL_MODIFIED: 409,
  GONE: 410,
  LIMIT_EXCEEDED: 413,
  RATE_LIMITED: 429,
  NETWORK_ERROR: 502,
  SERVER_ERROR: 502,
  IO_ERROR: 500,
  INTERNAL: 500,
  SCHEMA_INVALID: 400,
  TASK_FAILED: 502,
  CANCELLED: 499,
  RESOURCE_EXHAUSTED: 429,
  DEADLINE_EXCEEDED: 504,
  UNAVAILABLE: 503,
};

/** The routes served, for /api/v1/openapi.json (a test checks every route is listed). */
export const ROUTES: ReadonlyArray<{
  method: string;
  path: string;
  summary: string;
  auth?: "user" | "admin";
}> = [
  { method: "get", path: "/.well-known/clawhub.json", summary: "Registry discovery" },
  { method: "get", path: "/api/v1/whoami", summary: "The token's user", auth: "user" },
  {
    method: "get",
    path: "/api/v1/search",
    summary: "Search skills (q, limit, mode=exact, ownerHandle, explain=1)",
  },
  {
    method: "get",
    path: "/api/v1/search/status",
    summary: "Index status: documents, embedded, pending, embedder",
  },
  {
    method: "get",
    path: "/api/v1/skills",
    summary: "List skills (limit, cursor, sort, prefix, ownerHandle)",
  },
  {
    method: "post",
    path: "/api/v1/skills",
    summary: "Publish a version (multipart payload + files[], or JSON with storageIds)",
    auth: "user",
  },
  {
    method: "post",
    path: "/api/v1/skills/-/upload-url",
    summary: "Announce a file upload",
    auth: "user",
  },
  {
    method: "post",
    path: "/api/v1/uploads/{ticket}",
    summary: "Upload a file's bytes",
    auth: "user",
  },
  { method: "get", path: "/api/v1/skills/{slug}", summary: "Skill detail (ownerHandle)" },
  { method: "delete", path: "/api/v1/skills/{slug}", summary: "Soft-delete a skill", auth: "user" },
  {
    method: "post",
    path: "/api/v1/skills/{slug}/undelete",
    summary: "Restore a soft-deleted skill",
    auth: "user",
  },
  {
    method: "get",
    path: "/api/v1/skills/{slug}/versions",
    summary: "Version history (limit, cursor)",
  },
  {
    method: "get",
    path: "/api/v1/skills/{slug}/versions/{version}",
    summary: "One version with its files",
  },
  {
    method: "get",
    path: "/api/v1/skills/{slug}/file",
    summary: "Raw text of one file (path, version, tag)",
  },
  { method: "get", path: "/api/v1/skills/{slug}/moderation", summary: "Moderation state" },
  {
    method: "get",
    path: "/api/v1/skills/{slug}/verify",
    summary: "Verification card of a version (integrity, fingerprint)",
  },
  {
    method: "post",
    path: "/api/v1/skills/{slug}/tags",
    summary: "Point a tag at a version",
    auth: "user",
  },
  {
    method: "get",
    path: "/api/v1/resolve",
    summary: "Map a local fingerprint to a version (slug, hash)",
  },
  {
    method: "get",
    path: "/api/v1/download",
    summary: "Deterministic ZIP of a version (slug, version, tag)",
  },
  { method: "post", path: "/api/v1/stars/{slug}", summary: "Star a skill", auth: "user" },
  { method: "delete", path: "/api/v1/stars/{slug}", summary: "Unstar a skill", auth: "user" },
  {
    method: "post",
    path: "/api/cli/telemetry/install",
    summary: "Count an install (slug; legacy roots snapshots accepted, not counted)",
  },
  {
    method: "post",
    path: "/api/cli/telemetry/sync",
    summary: "Older CLIs' sync telemetry (accepted, not counted)",
  },
  { method: "get", path: "/api/v1/tokens", summary: "Your tokens", auth: "user" },
  { method: "post", path: "/api/v1/tokens", summary: "Create a token for yourself", auth: "user" },
  { method: "get", path: "/api/v1/admin/users", summary: "List users", auth: "admin" },
  { method: "post", path: "/api/v1/admin/users", summary: "Create a user", auth: "admin" },
  {
    method: "post",
    path: "/api/v1/admin/users/{handle}/disable",
    summary: "Disable a user",
    auth: "admin",
  },
  {
    method: "post",
    path: "/api/v1/admin/users/{handle}/enable",
    summary: "Enable a user",
    auth: "admin",
  },
  { method: "get", path: "/api/v1/admin/tokens", summary: "List tokens", auth: "admin" },
  {
    method: "post",
    path: "/api/v1/admin/tokens",
    summary: "Create a token for a user",
    auth: "admin",
  },
  { method: "delete", path: "/api/v1/admin/tokens/{id}", summary: "Revoke a token", auth: "admin" },
  { method: "get", path: "/api/v1/openapi.json", summary: "This description" },
];

/** Deepest page a cursor may point at (past it, listings are for search, not paging). */
const MAX_OFFSET = 1_000_000;

const cursorOf = (offset: number) =>
  Buffer.from(JSON.stringify({ o: offset })).toString("base64url");
function offsetOf(cursor: string | undefined): number {
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

function intParam(
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

const SORTS: Record<string, SkillSort> = {
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

/**
 * Builds the registry's HTTP app (ClawHub API v1). Errors are plain text with the status of
 * their code; every response carries rate-limit headers.
 */
export function createApp(options: AppOptions): Hono<Env> {
  const { registry } = options;
  const now = options.now ?? Date.now;
  const limiter: RateLimiter | undefined =
    options.rateLimits === false ? undefined : createRateLimiter({ ...options.rateLimits, now });
  const app = new Hono<Env>();
  const limits = registry.limits;
  const maxBody = maxArchiveBytes(limits) + 1024 * 1024;

  const baseOf = (c: Context<Env>) => options.baseUrl ?? new URL(c.req.url).origin;
  const clientIp = (c: Context<Env>): string => {
    if (options.trustProxy) {
      const fwd =
        c.req.header("x-forwarded-for")?.split(",")[0]?.trim() ?? c.req.header("x-real-ip");
      if (fwd) return fwd;
    }
    return c.env?.incoming?.socket?.remoteAddress ?? "unknown";
  };
  const requireUser = (c: Context<Env>): Principal => {
    const p = c.get("principal");
    if (p) return p;
    throw c.get("authError") ?? new ClawHubError("UNAUTHENTICATED", "Unauthorized: missing token");
  };
  const requireAdmin = (c: Context<Env>): Principal => {
    const p = requireUser(c);
    if (p.user.role !== "admin") throw new ClawHubError("FORBIDDEN", "Forbidden: admin only");
    return p;
  };

  app.onError((error, c) => {
    const err = toClawHubError(error);
    const status = STATUS_OF[err.code] ?? 500;
    if (status >= 500)
      options.logger?.(
        `error ${c.req.method} ${c.req.path}: ${redactSecrets(String((err.cause as Error)?.stack ?? err.message))}`,
      );
    const message =
      status >= 500 && err.code === "INTERNAL"
        ? "Internal server error"
        : redactSecrets(err.message);
    return c.text(message, status as 400);
  });
  app.notFound((c) => c.text("Not found", 404));

  // Authentication (lazy on failure: public routes still answer; protected ones report the reason)
  // and rate limiting per token user, else per IP.
  app.use("*", async (c, next) => {
    let principal: Principal | undefined;
    try {
      principal = await registry.authenticate(c.req.header("authorization"));
    } catch (error) {
      c.set("authError", toClawHubError(error));
    }
    c.set("principal", principal);
    // Admins are not rate limited: bulk operations (ingesting a corpus, migrations) run as admin.
    if (principal?.user.role === "admin" || !limiter) return next();
    const bucket =
      c.req.path === "/api/v1/download"
        ? "download"
        : c.req.method === "GET" || c.req.method === "HEAD"
          ? "read"
          : "write";
    const key = principal ? `user:${principal.user.id}` : `ip:${clientIp(c)}`;
    const decision = limiter.take(bucket, key, principal !== undefined);
    const headers: Record<string, string> = {
      "X-RateLimit-Limit": String(decision.limit),
      "X-RateLimit-Remaining": String(decision.remaining),
      "X-RateLimit-Reset": String(Math.ceil(decision.resetAt / 1000)),
      "RateLimit-Limit": String(decision.limit),
      "RateLimit-Remaining": String(decision.remaining),
      "RateLimit-Reset": String(Math.max(0, Math.ceil((decision.resetAt - now()) / 1000))),
    };
    if (!decision.allowed) {
      const retry = String(Math.max(1, Math.ceil((decision.resetAt - now()) / 1000)));
      return c.text("Rate limit exceeded", 429, { ...headers, "Retry-After": retry });
    }
    await next();
    for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v);
  });

  // ---- discovery and identity ----------------------------------------------------------------
  const wellKnown = (c: Context<Env>) =>
    c.json({
      apiBase: baseOf(c),
      authBase: baseOf(c),
      registry: baseOf(c),
      minCliVersion: "0.0.5",
    } satisfies WellKnownResponse);
  app.get("/.well-known/clawhub.json", wellKnown);
  app.get("/.well-known/clawdhub.json", wellKnown);
  app.get("/api/v1/whoami", (c) => {
    const { user } = requireUser(c);
    return c.json({
      user: { handle: user.handle, displayName: user.displayName, image: null, role: user.role },
    } satisfies WhoamiResponse);
  });
  app.get("/api/cli/whoami", (c) => {
    const { user } = requireUser(c);
    return c.json({ user: { handle: user.handle } } satisfies WhoamiResponse);
  });

  // ---- shaping -------------------------------------------------------------------------------
  async function skillJson(skill: SkillRecord): Promise<
    Required<Pick<SkillDetailResponse, "skill" | "latestVersion" | "metadata" | "owner">> & {
      skill: SkillSummary;
    }
  > {
    const [tags, latest, versions] = await Promise.all([
      registry.store.tagsOf(skill.id),
      registry.latestVersion(skill),
      registry.store.listVersions(skill.id),
    ]);
    const manifest = latest ? registry.manifestOf(latest) : {};
    const oc = manifest.openclaw;
    return {
      skill: {
        slug: skill.slug,
        displayName: skill.displayName,
        summary: skill.summary,
        description: skill.summary,
        ownerHandle: skill.ownerHandle,
        tags,
        stats: {
          downloads: skill.downloads,
          installs: skill.installs,
          installsAllTime: skill.installs,
          stars: skill.stars,
          versions: versions.length,
        },
        createdAt: skill.createdAt,
        updatedAt: skill.updatedAt,
      },
      latestVersion: latest ? versionSummary(latest) : null,
      metadata: oc
        ? {
            setup: oc.requires.env.map((key) => ({ key, required: true })),
            os: oc.os.length > 0 ? oc.os : null,
            systems: null,
          }
        : null,
      owner: { handle: skill.ownerHandle, displayName: skill.ownerDisplayName, image: null },
    };
  }
  const versionSummary = (v: VersionRecord): VersionSummary => ({
    version: v.version,
    createdAt: v.createdAt,
    changelog: v.changelog,
    changelogSource: v.changelog ? ("user" as const) : null,
    license: "MIT-0" as const,
  });
  const ownerParam = (c: Context<Env>) =>
    c.req.query("ownerHandle")?.replace(/^@/, "") || undefined;

  // ---- search and listing --------------------------------------------------------------------
  app.get("/api/v1/search", async (c) => {
    const limit = intParam(c.req.query("limit"), "limit", 20, 1, 200);
    const explain = c.req.query("explain") === "1" || c.req.query("explain") === "true";
    const hits = await registry.search(c.req.query("q") ?? "", {
      limit,
      mode: c.req.query("mode") === "exact" ? "exact" : "default",
      ...(ownerParam(c) ? { ownerHandle: ownerParam(c) } : {}),
      nonSuspiciousOnly:
        c.req.query("nonSuspiciousOnly") === "true" || c.req.query("nonSuspicious") === "true",
    });
    return c.json({
      results: hits.map((h) => ({
        slug: h.skill.slug,
        ownerHandle: h.skill.ownerHandle,
        displayName: h.skill.displayName,
        summary: h.skill.summary,
        version: h.latest?.version ?? null,
        score: Number(h.score.toFixed(4)),
        downloads: h.skill.downloads,
        updatedAt: h.skill.updatedAt,
        owner: { handle: h.skill.ownerHandle, displayName: h.skill.ownerDisplayName, image: null },
        ...(explain ? { explain: h.parts } : {}),
      })),
    } satisfies SearchResponse);
  });

  app.get("/api/v1/search/status", (c) => {
    const { documents, embedded, pending, embedder } = registry.searchStatus();
    return c.json({ documents, embedded, pending, embedder } satisfies SearchStatusResponse);
  });

  app.get("/api/v1/skills", async (c) => {
    const limit = intParam(c.req.query("limit"), "limit", 25, 1, 200);
    const offset = offsetOf(c.req.query("cursor"));
    const sortName = c.req.query("sort") ?? "updated";
    // Own keys only: `sort=__proto__` must not find Object.prototype.
    const sort = Object.hasOwn(SORTS, sortName) ? SORTS[sortName] : undefined;
    if (!sort)
      throw new ClawHubError(
        "INVALID_ARGUMENT",
        `unknown sort "${sortName.slice(0, 40)}": use ${Object.keys(SORTS).join(", ")}`,
      );
    const prefix = c.req.query("prefix")?.toLowerCase();
    let rows = await registry.store.listSkills({
      sort,
      limit: prefix ? 10_000 : limit + 1,
      offset: prefix ? 0 : offset,
      ...(ownerParam(c) ? { ownerHandle: ownerParam(c) } : {}),
    });
    if (prefix)
      rows = rows.filter((s) => s.slug.startsWith(prefix)).slice(offset, offset + limit + 1);
    const page = rows.slice(0, limit);
    const items = await Promise.all(
      page.map(async (s) => {
        const j = await skillJson(s);
        return {
          ...j.skill,
          latestVersion: j.latestVersion ?? undefined,
          metadata: j.metadata,
          owner: j.owner,
        };
      }),
    );
    return c.json({
      items,
      nextCursor: rows.length > limit ? cursorOf(offset + limit) : null,
    } satisfies SkillListResponse);
  });

  // ---- publish -------------------------------------------------------------------------------
  app.post("/api/v1/skills/-/upload-url", async (c) => {
    const principal = requireUser(c);
    const body = await jsonBody<{
      path?: unknown;
      size?: unknown;
      sha256?: unknown;
      contentType?: unknown;
    }>(c, 64 * 1024);
    if (
      typeof body.path !== "string" ||
      typeof body.size !== "number" ||
      typeof body.sha256 !== "string"
    ) {
      throw new ClawHubError("INVALID_ARGUMENT", "path, size and sha256 are required");
    }
    const { ticket } = await registry.createUpload(principal, {
      path: body.path,
      size: body.size,
      sha256: body.sha256,
      ...(typeof body.contentType === "string" ? { contentType: body.contentType } : {}),
    });
    return c.json({
      uploadUrl: `${baseOf(c)}/api/v1/uploads/${ticket}`,
      uploadTicket: ticket,
    } satisfies UploadUrlResponse);
  });
  app.post("/api/v1/uploads/:ticket", async (c) => {
    const principal = requireUser(c);
    const bytes = await limitedBody(c, limits.maxFileBytes);
    return c.json(await registry.completeUpload(principal, c.req.param("ticket"), bytes));
  });

  app.post("/api/v1/skills", async (c) => {
    const principal = requireUser(c);
    const type = c.req.header("content-type") ?? "";
    let payload: Record<string, unknown>;
    let files: PublishFile[];
    if (type.startsWith("multipart/form-data")) {
      const raw = await limitedBody(c, maxBody);
      let form: FormData;
      try {
        form = await new Request("http://local/", {
          method: "POST",
          headers: { "content-type": type },
          body: raw,
        }).formData();
      } catch {
        throw new ClawHubError("INVALID_ARGUMENT", "Malformed multipart body");
      }
      const payloadField = form.get("payload");
      if (typeof payloadField !== "string")
        throw new ClawHubError("INVALID_ARGUMENT", "multipart field 'payload' (JSON) is required");
      payload = parseJsonObject(payloadField, "payload");
      files = [];
      for (const entry of [...form.getAll("files[]"), ...form.getAll("files")]) {
        if (typeof entry === "string")
          throw new ClawHubError("INVALID_ARGUMENT", "each files[] part must be a file");
        files.push({
          path: entry.name,
          bytes: Buffer.from(await entry.arrayBuffer()),
          contentType: entry.type,
        });
      }
    } else {
      payload = await jsonBody<Record<string, unknown>>(c, 4 * 1024 * 1024);
      const list = payload.files;
      if (!Array.isArray(list)) throw new ClawHubError("INVALID_ARGUMENT", "files is required");
      files = [];
      for (const f of list as Array<Record<string, unknown>>) {
        if (typeof f?.path !== "string" || typeof f.storageId !== "string")
          throw new ClawHubError("INVALID_ARGUMENT", "each file needs path and storageId");
        const bytes = await registry.uploadedFile(principal, {
          path: f.path,
          storageId: f.storageId,
          uploadTicket: typeof f.uploadTicket === "string" ? f.uploadTicket : undefined,
        });
        files.push({
          path: f.path,
          bytes,
          ...(typeof f.contentType === "string" ? { contentType: f.contentType } : {}),
        });
      }
    }
    const str = (v: unknown) => (typeof v === "string" ? v : undefined);
    const result = await registry.publish(principal, {
      slug: str(payload.slug) ?? "",
      displayName: str(payload.displayName),
      ownerHandle: str(payload.ownerHandle),
      version: str(payload.version) ?? "",
      changelog: str(payload.changelog),
      tags: tagsOf(payload.tags),
      files,
    });
    return c.json(result satisfies PublishResponse, 201);
  });

  // ---- one skill -----------------------------------------------------------------------------
  app.get("/api/v1/skills/:slug", async (c) => {
    const skill = await registry.requireSkill(c.req.param("slug"), ownerParam(c));
    const j = await skillJson(skill);
    return c.json({
      ...j,
      moderation: registry.canManage(c.get("principal"), skill) ? cleanModeration(skill) : null,
    } satisfies SkillDetailResponse);
  });
  app.delete("/api/v1/skills/:slug", async (c) =>
    c.json(
      await registry.setDeleted(
        c.get("principal") ?? requireUser(c),
        c.req.param("slug"),
        true,
        ownerParam(c),
      ),
    ),
  );
  app.post("/api/v1/skills/:slug/undelete", async (c) =>
    c.json(
      await registry.setDeleted(
        c.get("principal") ?? requireUser(c),
        c.req.param("slug"),
        false,
        ownerParam(c),
      ),
    ),
  );

  app.get("/api/v1/skills/:slug/versions", async (c) => {
    const skill = await registry.requireSkill(c.req.param("slug"), ownerParam(c));
    const limit = intParam(c.req.query("limit"), "limit", 25, 1, 200);
    const offset = offsetOf(c.req.query("cursor"));
    const rows = await registry.store.listVersions(skill.id, { limit: limit + 1, offset });
    return c.json({
      items: rows.slice(0, limit).map(versionSummary),
      nextCursor: rows.length > limit ? cursorOf(offset + limit) : null,
    } satisfies VersionListResponse);
  });
  app.get("/api/v1/skills/:slug/versions/:version", async (c) => {
    const skill = await registry.requireSkill(c.req.param("slug"), ownerParam(c));
    const v = await registry.pickVersion(skill, { version: c.req.param("version") });
    const files = await registry.store.filesOf(v.id);
    return c.json({
      version: {
        ...versionSummary(v),
        files,
        fingerprint: v.fingerprint,
        integrity: v.integrity,
        size: v.zipSize,
      },
      skill: { slug: skill.slug, displayName: skill.displayName },
    } satisfies VersionDetailResponse);
  });
  app.get("/api/v1/skills/:slug/file", async (c) => {
    const path = c.req.query("path");
    if (!path) throw new ClawHubError("INVALID_ARGUMENT", "path is required");
    const { file, bytes } = await registry.file({
      slug: c.req.param("slug"),
      ownerHandle: ownerParam(c),
      version: c.req.query("version"),
      tag: c.req.query("tag"),
      path,
    });
    if (bytes.length > 200 * 1024)
      throw new ClawHubError(
        "LIMIT_EXCEEDED",
        `${path} is over the 200 KB limit of this endpoint; download the archive instead`,
      );
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      return c.text("Binary files are not served by this endpoint", 415);
    }
    return c.text(text, 200, {
      "Content-Type": `${file.contentType.startsWith("text/") ? file.contentType : "text/plain"}; charset=utf-8`,
      ETag: `"${file.sha256}"`,
    });
  });
  app.get("/api/v1/skills/:slug/moderation", async (c) => {
    const skill = await registry.requireSkill(c.req.param("slug"), ownerParam(c));
    if (!registry.canManage(c.get("principal"), skill))
      throw new ClawHubError("NOT_FOUND", "No moderation record for this skill");
    return c.json({ moderation: { ...cleanModeration(skill), legacyReason: null, evidence: [] } });
  });
  app.get("/api/v1/skills/:slug/verify", async (c) => {
    const skill = await registry.requireSkill(c.req.param("slug"), ownerParam(c));
    const version = c.req.query("version");
    const tag = c.req.query("tag");
    const v = await registry.pickVersion(skill, { version, tag });
    return c.json({
      schema: "clawhub.skill.verify.v1",
      ok: true,
      decision: "pass",
      reasons: [],
      slug: skill.slug,
      displayName: skill.displayName,
      pageUrl: `${baseOf(c)}/${skill.ownerHandle}/${skill.slug}`,
      publisherHandle: skill.ownerHandle,
      publisherDisplayName: skill.ownerDisplayName,
      publisherProfileUrl: null,
      version: v.version,
      resolvedFrom: version ? "version" : tag ? "tag" : "latest",
      tag: tag ?? null,
      createdAt: v.createdAt,
      card: null,
      artifact: {
        kind: "legacy-zip",
        integrity: v.integrity,
        sha256: v.zipSha256,
        fingerprint: v.fingerprint,
        size: v.zipSize,
      },
      provenance: null,
      security: null,
      signature: null,
    });
  });
  app.post("/api/v1/skills/:slug/tags", async (c) => {
    const body = await jsonBody<{ tag?: unknown; version?: unknown }>(c, 16 * 1024);
    if (typeof body.tag !== "string" || typeof body.version !== "string")
      throw new ClawHubError("INVALID_ARGUMENT", "tag and version are required");
    return c.json(
      await registry.setTag(
        c.get("principal") ?? requireUser(c),
        c.req.param("slug"),
        body.tag,
        body.version,
        ownerParam(c),
      ),
    );
  });

  // ---- resolve, download, stars, installs ----------------------------------------------------
  app.get("/api/v1/resolve", async (c) => {
    const slug = c.req.query("slug");
    const hash = c.req.query("hash");
    if (!slug || !hash) throw new ClawHubError("INVALID_ARGUMENT", "slug and hash are required");
    return c.json(
      (await registry.resolve(slug, hash.toLowerCase(), ownerParam(c))) satisfies ResolveResponse,
    );
  });
  app.get("/api/v1/download", async (c) => {
    const slug = c.req.query("slug");
    if (!slug) throw new ClawHubError("INVALID_ARGUMENT", "slug is required");
    const principal = c.get("principal");
    const { skill, version, zip } = await registry.download({
      slug,
      ownerHandle: ownerParam(c),
      version: c.req.query("version"),
      tag: c.req.query("tag"),
      identity: principal ? `user:${principal.user.id}` : `ip:${clientIp(c)}`,
    });
    const etag = `"${version.zipSha256}"`;
    const headers = {
      "Content-Type": "application/zip",
      "Content-Disposition": `attachment; filename="${skill.slug}-${version.version}.zip"`,
      ETag: etag,
      Digest: `sha-256=${Buffer.from(version.zipSha256, "hex").toString("base64")}`,
      "X-ClawHub-Artifact-Type": "legacy-zip",
      "X-ClawHub-Artifact-Sha256": version.zipSha256,
      "X-ClawHub-Integrity": version.integrity,
      "X-ClawHub-Version": version.version,
      "Cache-Control": "public, max-age=31536000, immutable",
    };
    if (c.req.header("if-none-match") === etag) return c.body(null, 304, headers);
    return c.body(new Uint8Array(zip), 200, headers);
  });
  app.post("/api/v1/stars/:slug", async (c) =>
    c.json(
      await registry.star(
        c.get("principal") ?? requireUser(c),
        c.req.param("slug"),
        true,
        ownerParam(c),
      ),
    ),
  );
  app.delete("/api/v1/stars/:slug", async (c) =>
    c.json(
      await registry.star(
        c.get("principal") ?? requireUser(c),
        c.req.param("slug"),
        false,
        ownerParam(c),
      ),
    ),
  );
  // Telemetry from the official CLIs. It never fails a client that sent a known shape: a
  // single install is counted (when the skill exists), the legacy bulk snapshots of older CLIs
  // (`roots`) and `/sync` are accepted and not counted, since they repeat on every run.
  app.post("/api/cli/telemetry/install", async (c) => {
    const body = await jsonBody<{ slug?: unknown; ownerHandle?: unknown; roots?: unknown }>(
      c,
      256 * 1024,
    );
    if (typeof body.slug === "string") {
      await registry
        .recordInstall(
          body.slug,
          typeof body.ownerHandle === "string" ? body.ownerHandle : undefined,
        )
        .catch((error: unknown) => {
          if (!(error instanceof ClawHubError && error.code === "NOT_FOUND")) throw error;
        });
    } else if (
      !Array.isArray(body.roots) &&
      typeof (body as { event?: unknown }).event !== "string"
    )
      throw new ClawHubError("INVALID_ARGUMENT", "slug, event or roots is required");
    return c.json({ ok: true } satisfies OkResponse);
  });
  app.post("/api/cli/telemetry/sync", async (c) => {
    await jsonBody<Record<string, unknown>>(c, 256 * 1024);
    return c.json({ ok: true } satisfies OkResponse);
  });

  // ---- tokens and administration -------------------------------------------------------------
  const tokenJson = (t: {
    id: string;
    name: string;
    prefix: string;
    createdAt: number;
    expiresAt: number | null;
    revokedAt: number | null;
    lastUsedAt: number | null;
    handle?: string;
  }): TokenInfo => ({
    id: t.id,
    name: t.name,
    prefix: t.prefix,
    handle: t.handle,
    createdAt: t.createdAt,
    expiresAt: t.expiresAt,
    revokedAt: t.revokedAt,
    lastUsedAt: t.lastUsedAt,
  });
  app.get("/api/v1/tokens", async (c) =>
    c.json({
      items: (await registry.listTokens(requireUser(c).user.handle)).map(tokenJson),
    } satisfies TokenListResponse),
  );
  app.post("/api/v1/tokens", async (c) => {
    const { user } = requireUser(c);
    const body = await jsonBody<{ name?: unknown; expiresInDays?: unknown }>(c, 16 * 1024);
    const created = await registry.createToken(user.handle, tokenOptions(body));
    return c.json(
      { token: created.token, ...tokenJson(created.info) } satisfies CreatedTokenResponse,
      201,
    );
  });
  app.get("/api/v1/admin/users", async (c) => {
    requireAdmin(c);
    return c.json({
      items: (await registry.listUsers()).map((u) => ({
        userId: u.id,
        handle: u.handle,
        displayName: u.displayName,
        role: u.role,
        disabled: u.disabled,
        createdAt: u.createdAt,
      })),
    } satisfies AdminUserListResponse);
  });
  app.post("/api/v1/admin/users", async (c) => {
    requireAdmin(c);
    const body = await jsonBody<{ handle?: unknown; role?: unknown; displayName?: unknown }>(
      c,
      16 * 1024,
    );
    if (typeof body.handle !== "string")
      throw new ClawHubError("INVALID_ARGUMENT", "handle is required");
    const role = body.role ?? "user";
    if (role !== "user" && role !== "moderator" && role !== "admin")
      throw new ClawHubError("INVALID_ARGUMENT", "role must be user, moderator or admin");
    const user = await registry.createUser(
      body.handle,
      role,
      typeof body.displayName === "string" ? body.displayName : undefined,
    );
    return c.json(
      { userId: user.id, handle: user.handle, role: user.role } satisfies CreatedUserResponse,
      201,
    );
  });
  for (const [action, disabled] of [
    ["disable", true],
    ["enable", false],
  ] as const) {
    app.post(`/api/v1/admin/users/:handle/${action}`, async (c) => {
      requireAdmin(c);
      const user = await registry.setUserDisabled(c.req.param("handle"), disabled);
      return c.json({
        ok: true,
        handle: user.handle,
        disabled: user.disabled,
      } satisfies UserStateResponse);
    });
  }
  app.get("/api/v1/admin/tokens", async (c) => {
    requireAdmin(c);
    return c.json({
      items: (await registry.listTokens(c.req.query("handle") || undefined)).map(tokenJson),
    } satisfies TokenListResponse);
  });
  app.post("/api/v1/admin/tokens", async (c) => {
    requireAdmin(c);
    const body = await jsonBody<{ handle?: unknown; name?: unknown; expiresInDays?: unknown }>(
      c,
      16 * 1024,
    );
    if (typeof body.handle !== "string")
      throw new ClawHubError("INVALID_ARGUMENT", "handle is required");
    const created = await registry.createToken(body.handle, tokenOptions(body));
    return c.json(
      {
        token: created.token,
        ...tokenJson({ ...created.info, handle: body.handle }),
      } satisfies CreatedTokenResponse,
      201,
    );
  });
  app.delete("/api/v1/admin/tokens/:id", async (c) => {
    const caller = requireAdmin(c);
    await registry.revokeToken(c.req.param("id"), caller);
    return c.json({ ok: true } satisfies OkResponse);
  });

  app.get("/api/v1/openapi.json", (c) => c.json(openApi(baseOf(c))));
  return app;
}

function cleanModeration(skill: SkillRecord) {
  return {
    isSuspicious: false,
    isMalwareBlocked: false,
    verdict: "clean" as const,
    reasonCodes: [],
    summary: null,
    engineVersion: null,
    updatedAt: skill.updatedAt,
  };
}

/** Publish tags: absent, or an array of strings (anything else is a 400, not a guess). */
function tagsOf(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((t) => typeof t !== "string"))
    throw new ClawHubError("INVALID_ARGUMENT", "tags must be an array of strings");
  return value as string[];
}

function tokenOptions(body: { name?: unknown; expiresInDays?: unknown }): {
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

function parseJsonObject(text: string, what: string): Record<string, unknown> {
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

async function jsonBody<T>(c: Context<Env>, max: number): Promise<T> {
  const raw = await limitedBody(c, max);
  if (raw.length === 0) return {} as T;
  return parseJsonObject(raw.toString("utf8"), "request body") as T;
}

/**
 * Reads a request body up to `max` bytes. A declared Content-Length over the limit is refused
 * before reading; an undeclared one is cut off the moment it passes the limit, so an oversized
 * upload is never buffered whole.
 */
async function limitedBody(c: Context<Env>, max: number): Promise<Buffer> {
  const declared = Number(c.req.header("content-length") ?? "NaN");
  const tooLarge = () =>
    new ClawHubError("LIMIT_EXCEEDED", `Payload too large (limit ${max} bytes)`);
  if (Number.isFinite(declared) && declared > max) throw tooLarge();
  const body = c.req.raw.body;
  if (!body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

function openApi(base: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    paths[r.path] ??= {};
    (paths[r.path] as Record<string, unknown>)[r.method] = {
      summary: r.summary,
      ...(params.length ? { parameters: params } : {}),
      ...(r.auth ? { security: [{ bearer: [] }] } : {}),
      responses: { "200": { description: "OK" }, "4XX": { description: "Plain-text error" } },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "ClawHub registry API", version: "1" },
    servers: [{ url: base }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "clh_ token" } },
    },
    paths,
  };
}
