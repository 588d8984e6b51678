/**
 * Registry persistence: the RegistryStore interface over Kysely (SQLite through node:sqlite by
 * default, PostgreSQL for multi-replica deployments) and the content-addressed blob store.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { openPostgres, openSqlite } from "./dialects.ts";
import { migrate } from "./schema.ts";
import { createRegistryStore, type RegistryStore } from "./store.ts";

export { type BlobStore, createFsBlobStore } from "./blobs.ts";
export { type Engine, openPostgres, openSqlite } from "./dialects.ts";
export type { KeyStore, PublisherKey } from "./keys.ts";
export type { Membership, OrgRecord, OrgRole, OrgStore, Visibility } from "./orgs.ts";
export type {
  NotificationRecord,
  QueueEntry,
  ReviewRecord,
  ReviewStore,
} from "./reviews.ts";
export { type Database, migrate, SCHEMA_VERSION } from "./schema.ts";
export {
  createRegistryStore,
  type PublishRecord,
  type ReadScope,
  type RegistryStore,
  type ScanRecord,
  type SkillRecord,
  type SkillSort,
  semverSortKey,
  type TokenInfo,
  type UploadRecord,
  type User,
  type VersionFile,
  type VersionRecord,
} from "./store.ts";
export type {
  CheckpointSigner,
  LogEntry,
  LogEntryInput,
  LogStore,
} from "./tlog.ts";

/**
 * Opens (and migrates) the store: a `postgres://` URL selects PostgreSQL; otherwise SQLite at
 * `dbPath` (default `<dataDir>/registry.db`).
 */
export async function openStore(options: {
  dataDir: string;
  db?: string | undefined;
}): Promise<RegistryStore> {
  if (options.db && /^postgres(ql)?:\/\//.test(options.db)) {
    const db = openPostgres(options.db);
    await migrate(db, "postgres");
    return createRegistryStore(db, "postgres");
  }
  mkdirSync(options.dataDir, { recursive: true });
  const path = options.db
    ? options.db.replace(/^sqlite:(\/\/)?/, "")
    : join(options.dataDir, "registry.db");
  const db = openSqlite(path);
  await migrate(db);
  return createRegistryStore(db, "sqlite");
}
