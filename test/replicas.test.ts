import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startRegistryServer } from "../src/registry/index.ts";
import { startPostgres, type TestPostgres } from "./helpers/postgres.ts";

const SKILL = (name: string) =>
  `---\nname: ${name}\ndescription: Replica test skill ${name}.\n---\n\nBody.\n`;

/** Several `clawhub serve` processes on one PostgreSQL database and one blob directory. */
describe("multi-replica registry on PostgreSQL", () => {
  let pg: TestPostgres;
  let dir: string;
  let a: RunningServer;
  let b: RunningServer;
  let token: string;

  beforeAll(async () => {
    pg = await startPostgres();
    const db = await pg.createDatabase();
    dir = await mkdtemp(join(tmpdir(), "clawhub-replicas-"));
    // Start both at once: exactly one of them may bootstrap the admin.
    [a, b] = await Promise.all([
      startRegistryServer({ port: 0, dataDir: dir, db, embedder: "none" }),
      startRegistryServer({ port: 0, dataDir: dir, db, embedder: "none" }),
    ]);
    const boots = [a.bootstrap, b.bootstrap].filter(Boolean);
    expect(boots).toHaveLength(1);
    token = boots[0]?.token ?? "";
  }, 120_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const publish = (server: RunningServer, slug: string, version: string) => {
    const fd = new FormData();
    fd.set("payload", JSON.stringify({ slug, version }));
    fd.append("files[]", new Blob([SKILL(slug)]), "SKILL.md");
    return fetch(`${server.url}/api/v1/skills`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body: fd,
    });
  };

  it("lets one replica serve what another published, search included", async () => {
    expect((await publish(a, "replicated-skill", "1.0.0")).status).toBe(200);
    const detail = await fetch(`${b.url}/api/v1/skills/replicated-skill`);
    expect(detail.status).toBe(200);
    const zip = await fetch(`${b.url}/api/v1/download?slug=replicated-skill`);
    expect(zip.status).toBe(200);
    // The other replica's index catches up within its 1 s refresh interval.
    await new Promise((r) => setTimeout(r, 1100));
    const search = (await (await fetch(`${b.url}/api/v1/search?q=replicated`)).json()) as {
      results: Array<{ slug: string }>;
    };
    expect(search.results.map((r) => r.slug)).toContain("replicated-skill");
  });

  it("lets exactly one of two replicas win a race for the same version", async () => {
    const [x, y] = await Promise.all([
      publish(a, "raced-skill", "1.0.0"),
      publish(b, "raced-skill", "1.0.0"),
    ]);
    expect([x.status, y.status].sort()).toEqual([200, 409]);
  });

  it("hides a skill deleted through one replica from the other's search", async () => {
    const del = await fetch(`${a.url}/api/v1/skills/replicated-skill`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(del.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    const search = (await (await fetch(`${b.url}/api/v1/search?q=replicated`)).json()) as {
      results: Array<{ slug: string }>;
    };
    expect(search.results.map((r) => r.slug)).not.toContain("replicated-skill");
  });
});
