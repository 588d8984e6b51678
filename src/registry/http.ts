import { type Context, Hono } from "hono";
import { ClawHubError, type ErrorCode, redactSecrets, toClawHubError } from "../errors/index.ts";
import type { WellKnownResponse, WhoamiResponse } from "../schema/index.ts";
import { mountAccountRoutes } from "./http/accounts.ts";
import type { Env, RouteContext } from "./http/common.ts";
import { mountKeyRoutes } from "./http/keys.ts";
import { mountLogRoutes } from "./http/log.ts";
import { mountModerationRoutes } from "./http/moderation.ts";
import { mountOpenClawRoutes } from "./http/openclaw.ts";
import { mountPublishRoutes } from "./http/publish.ts";
import { openApi } from "./http/routes.ts";
import { mountSkillRoutes } from "./http/skills.ts";
import { createRateLimiter, type RateLimitConfig, type RateLimiter } from "./ratelimit.ts";
import type { Principal, Registry } from "./service.ts";

export { ROUTES } from "./http/routes.ts";

/** Options of {@link createApp}. */
export interface AppOptions {
  registry: Registry;
  /**
   * Public base URL, for discovery (`apiBase`) and upload URLs. Never taken from a request's
   * Host header: a client that sends `Host: evil.example` must not make the registry hand out
   * URLs to another server (and the tokens that go with them). A function: read per request
   * (the server knows its port only once it listens).
   */
  baseUrl: string | (() => string);
  /**
   * Other public URLs of this registry (e.g. an internal and an external name): a request whose
   * Host is one of them gets that URL back; any other Host gets `baseUrl`.
   */
  publicUrls?: readonly string[];
  /** Per-minute limits; `false` turns rate limiting off (private registries, benchmarks). */
  rateLimits?: Partial<RateLimitConfig> | false;
  /** Trust X-Forwarded-For / X-Real-IP for the client address (only behind your own proxy). */
  trustProxy?: boolean;
  /**
   * Bytes of publishes being received and processed at once (their bodies, or the uploads they
   * name), default 256 MiB: past it a publish is refused with 429 and Retry-After, so concurrent
   * large publishes cannot exhaust memory. One publish is always let through.
   */
  maxPublishBytes?: number;
  now?: () => number;
  logger?: (line: string) => void;
}

/** HTTP status of each error code: the server's one mapping. */
export const STATUS_OF: Record<ErrorCode, number> = {
  USAGE: 400,
  INVALID_ARGUMENT: 400,
  INVALID_SKILL: 400,
  INVALID_WORKFLOW: 400,
  CONFIG_INVALID: 400,
  INTEGRITY_MISMATCH: 400,
  VERIFICATION_FAILED: 400,
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

/**
 * Builds the registry's HTTP app (ClawHub API v1). Errors are plain text with the status of
 * their code; every response carries rate-limit headers. Routes live in ./http/, one module per
 * area; this file holds what applies to all of them.
 */
export function createApp(options: AppOptions): Hono<Env> {
  const { registry } = options;
  const now = options.now ?? Date.now;
  const limiter: RateLimiter | undefined =
    options.rateLimits === false ? undefined : createRateLimiter({ ...options.rateLimits, now });
  const app = new Hono<Env>();

  const publicByHost = new Map(
    (options.publicUrls ?? []).map((u) => [new URL(u).host.toLowerCase(), u.replace(/\/+$/, "")]),
  );
  const baseOf = (c: Context<Env>) =>
    publicByHost.get(c.req.header("host")?.toLowerCase() ?? "") ??
    (typeof options.baseUrl === "string" ? options.baseUrl : options.baseUrl());
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
    // A body refused as too large is not read to its end: the connection cannot carry another
    // request, and a client that pooled it would see it closed under its next one.
    if (status === 413) c.header("Connection", "close");
    const retryMs = (err.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
    if (typeof retryMs === "number")
      c.header("Retry-After", String(Math.max(1, Math.ceil(retryMs / 1000))));
    return c.text(message, status as 400);
  });
  app.notFound((c) => c.text("Not found", 404));

  // Authentication and rate limiting per token user, else per IP. A token that is sent and
  // refused (unknown, revoked, expired, disabled account) is a 401 with the reason on every
  // route, public ones included: answering as if anonymous would turn "your token is bad" into
  // "not found" for a private skill (npm answers E401 the same way). Only discovery, which
  // clients call before they know where the API is, stays open.
  app.use("*", async (c, next) => {
    let principal: Principal | undefined;
    try {
      principal = await registry.authenticate(c.req.header("authorization"));
    } catch (error) {
      const refused = toClawHubError(error);
      c.set("authError", refused);
      if (!c.req.path.startsWith("/.well-known/")) throw refused;
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
  app.get("/api/v1/whoami", async (c) => {
    const principal = requireUser(c);
    const { user } = principal;
    // What moderators and rescans decided about the user's versions lately: told where the
    // user looks first.
    const since = (options.now ?? Date.now)() - 14 * 86_400_000;
    const notifications = (await registry.moderation.notifications(principal, 5)).filter(
      (n) => n.createdAt >= since,
    );
    return c.json({
      user: { handle: user.handle, displayName: user.displayName, image: null, role: user.role },
      notifications,
    } satisfies WhoamiResponse);
  });
  app.get("/api/cli/whoami", (c) => {
    const { user } = requireUser(c);
    return c.json({ user: { handle: user.handle } } satisfies WhoamiResponse);
  });

  const ctx: RouteContext = {
    app,
    registry,
    baseOf,
    clientIp,
    requireUser,
    requireAdmin,
    maxPublishBytes: options.maxPublishBytes ?? 256 * 1024 * 1024,
  };
  mountSkillRoutes(ctx);
  mountOpenClawRoutes(ctx);
  mountPublishRoutes(ctx);
  mountAccountRoutes(ctx);
  mountLogRoutes(ctx);
  mountKeyRoutes(ctx);
  mountModerationRoutes(ctx);

  app.get("/api/v1/openapi.json", (c) => c.json(openApi(baseOf(c))));
  return app;
}
