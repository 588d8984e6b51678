/** Publisher keys: register, list, revoke your own; anyone reads a key by id or a user's keys. */
import { jsonBody, type RouteContext } from "./common.ts";

/** Mounts the key routes. */
export function mountKeyRoutes(ctx: RouteContext): void {
  const { app, registry, requireUser } = ctx;
  app.post("/api/v1/keys", async (c) => {
    const body = await jsonBody<{ name?: unknown; publicKey?: unknown }>(c, 16 * 1024);
    return c.json({ key: await registry.keys.add(requireUser(c), body) });
  });
  app.get("/api/v1/keys", async (c) => c.json({ items: await registry.keys.list(requireUser(c)) }));
  app.get("/api/v1/keys/:keyId", async (c) =>
    c.json({ key: await registry.keys.byId(c.req.param("keyId")) }),
  );
  app.delete("/api/v1/keys/:keyId", async (c) =>
    c.json(await registry.keys.revoke(requireUser(c), c.req.param("keyId"))),
  );
  app.get("/api/v1/users/:handle/keys", async (c) =>
    c.json({ items: await registry.keys.ofHandle(c.req.param("handle")) }),
  );
}
