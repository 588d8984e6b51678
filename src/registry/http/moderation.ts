/**
 * Moderation routes: the moderators' queue and decisions, an owner's rescan and appeal, and
 * each user's notifications (src/registry/moderation.ts).
 */

import type { Context } from "hono";
import { ClawHubError } from "../../errors/index.ts";
import { type Env, intParam, jsonBody, ownerParam, type RouteContext } from "./common.ts";

/** Mounts the moderation routes. */
export function mountModerationRoutes(ctx: RouteContext): void {
  const { app, registry, requireUser } = ctx;
  const selector = (c: Context<Env>, version: unknown) => ({
    slug: c.req.param("slug") ?? "",
    ownerHandle: ownerParam(c),
    version: typeof version === "string" && version !== "" ? version : undefined,
  });
  app.get("/api/v1/moderation/queue", async (c) =>
    c.json({
      items: await registry.moderation.queue(
        requireUser(c),
        intParam(c.req.query("limit"), "limit", 100, 1, 500),
      ),
    }),
  );
  app.post("/api/v1/skills/:slug/review", async (c) => {
    const body = await jsonBody<{ version?: unknown; decision?: unknown; reason?: unknown }>(
      c,
      16 * 1024,
    );
    if (body.decision !== "approve" && body.decision !== "reject")
      throw new ClawHubError("INVALID_ARGUMENT", "decision is approve or reject");
    return c.json(
      await registry.moderation.decide(
        requireUser(c),
        selector(c, body.version),
        body.decision,
        body.reason,
      ),
    );
  });
  app.post("/api/v1/skills/:slug/rescan", async (c) => {
    const body = await jsonBody<{ version?: unknown }>(c, 16 * 1024);
    return c.json(await registry.moderation.rescan(requireUser(c), selector(c, body.version)));
  });
  app.post("/api/v1/skills/:slug/appeal", async (c) => {
    const body = await jsonBody<{ version?: unknown; message?: unknown }>(c, 16 * 1024);
    return c.json(
      await registry.moderation.appeal(requireUser(c), selector(c, body.version), body.message),
    );
  });
  app.get("/api/v1/notifications", async (c) =>
    c.json({
      items: await registry.moderation.notifications(
        requireUser(c),
        intParam(c.req.query("limit"), "limit", 50, 1, 200),
      ),
    }),
  );
}
