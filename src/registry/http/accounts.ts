/** Accounts: tokens, administration of users and tokens, and organisations. */
import { ClawHubError } from "../../errors/index.ts";
import type {
  AdminUserListResponse,
  CreatedTokenResponse,
  CreatedUserResponse,
  OkResponse,
  TokenInfo,
  TokenListResponse,
  UserStateResponse,
} from "../../schema/index.ts";
import { jsonBody, type RouteContext, tokenOptions } from "./common.ts";

/** Mounts the account routes. */
export function mountAccountRoutes(ctx: RouteContext): void {
  const { app, registry, requireUser, requireAdmin } = ctx;
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

  app.post("/api/v1/admin/gc", async (c) => {
    requireAdmin(c);
    const body = await jsonBody<{ graceSeconds?: unknown }>(c, 16 * 1024);
    const grace = body.graceSeconds;
    if (
      grace !== undefined &&
      !(typeof grace === "number" && Number.isInteger(grace) && grace >= 0 && grace <= 30 * 86_400)
    )
      throw new ClawHubError(
        "INVALID_ARGUMENT",
        "graceSeconds must be a whole number from 0 to 2592000",
      );
    return c.json(
      await registry.collectGarbage(typeof grace === "number" ? { graceMs: grace * 1000 } : {}),
    );
  });

  // ---- organisations -------------------------------------------------------------------------
  app.get("/api/v1/orgs", async (c) =>
    c.json({
      items: await registry.orgs.list(
        c.get("principal") ?? requireUser(c),
        c.req.query("all") === "1",
      ),
    }),
  );
  app.post("/api/v1/orgs", async (c) => {
    const body = await jsonBody<{
      handle?: unknown;
      displayName?: unknown;
      defaultVisibility?: unknown;
    }>(c, 16 * 1024);
    return c.json(
      { org: await registry.orgs.create(c.get("principal") ?? requireUser(c), body) },
      201,
    );
  });
  app.get("/api/v1/orgs/:org", async (c) =>
    c.json({
      org: await registry.orgs.show(c.get("principal") ?? requireUser(c), c.req.param("org")),
    }),
  );
  app.patch("/api/v1/orgs/:org", async (c) => {
    const body = await jsonBody<{ defaultVisibility?: unknown }>(c, 16 * 1024);
    return c.json({
      org: await registry.orgs.setDefaultVisibility(
        c.get("principal") ?? requireUser(c),
        c.req.param("org"),
        body.defaultVisibility,
      ),
    });
  });
  app.put("/api/v1/orgs/:org/members/:handle", async (c) => {
    const body = await jsonBody<{ role?: unknown }>(c, 16 * 1024);
    return c.json({
      org: await registry.orgs.setMember(
        c.get("principal") ?? requireUser(c),
        c.req.param("org"),
        c.req.param("handle"),
        body.role,
      ),
    });
  });
  app.delete("/api/v1/orgs/:org/members/:handle", async (c) =>
    c.json({
      org: await registry.orgs.removeMember(
        c.get("principal") ?? requireUser(c),
        c.req.param("org"),
        c.req.param("handle"),
      ),
    }),
  );
}
