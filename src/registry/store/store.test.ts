import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type TestPostgres } from "../../../test/helpers/postgres.ts";
import { migrate, openSqlite, openStore, SCHEMA_VERSION } from "./index.ts";
import { describeStoreConformance } from "./store.conformance.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describeStoreConformance("SQLite (node:sqlite)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "clawhub-store-"));
  dirs.push(dir);
  return openStore({ dataDir: dir });
});

// PostgreSQL 15 from Debian, started on loopback for this file (see .ci/run). Set
// CLAWHUB_TEST_PG_URL to use a running server instead.
let pg: TestPostgres | undefined;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  await pg?.stop();
});

describeStoreConformance("PostgreSQL", async () => {
  if (!pg) throw new Error("PostgreSQL did not start");
  return openStore({ dataDir: tmpdir(), db: await pg.createDatabase() });
});

describe("schema migration", () => {
  it("brings a version 1 database (skills without visibility) up to date, its skills public", async () => {
    const dir = mkdtempSync(join(tmpdir(), "clawhub-store-"));
    dirs.push(dir);
    const path = join(dir, "registry.db");
    const v2 = openSqlite(path);
    await migrate(v2);
    // What a version 1 database looked like: no visibility column, schema_version 1.
    await sql`ALTER TABLE skills DROP COLUMN visibility`.execute(v2);
    await sql`UPDATE meta SET value = '1' WHERE key = 'schema_version'`.execute(v2);
    await sql`INSERT INTO users (id, handle, display_name, role, disabled, created_at)
      VALUES ('u1', 'old', NULL, 'user', 0, 1)`.execute(v2);
    await sql`INSERT INTO skills (id, owner_id, slug, display_name, summary, created_at,
      updated_at, deleted_at, changed_at) VALUES ('s1', 'u1', 'old-skill', 'Old', NULL, 1, 1,
      NULL, 1)`.execute(v2);
    await v2.destroy();
    const store = await openStore({ dataDir: dir });
    try {
      expect(await store.findSkill("old-skill")).toMatchObject({
        ownerHandle: "old",
        visibility: "public",
      });
    } finally {
      await store.close();
    }
    const again = openSqlite(path);
    const version = await sql<{
      value: string;
    }>`SELECT value FROM meta WHERE key = 'schema_version'`.execute(again);
    expect(version.rows[0]?.value).toBe(String(SCHEMA_VERSION));
    await again.destroy();
  });
});
