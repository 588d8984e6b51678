import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { startPostgres, type TestPostgres } from "../../../test/helpers/postgres.ts";
import { openStore } from "./index.ts";
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
