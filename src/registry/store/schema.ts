import { type Generated, type Kysely, sql } from "kysely";

/** Tables of the registry database (SQLite and PostgreSQL alike). Times are epoch milliseconds. */
export interface Database {
  users: {
    id: string;
    handle: string;
    display_name: string | null;
    role: "user" | "moderator" | "admin";
    disabled: number;
    created_at: number;
  };
  tokens: {
    id: string;
    user_id: string;
    name: string;
    /** sha256 of the whole token: tokens are never stored. */
    token_hash: string;
    /** First characters of the token, to tell tokens apart in listings. */
    prefix: string;
    created_at: number;
    expires_at: number | null;
    revoked_at: number | null;
    last_used_at: number | null;
  };
  skills: {
    id: string;
    owner_id: string;
    slug: string;
    display_name: string;
    summary: string | null;
    created_at: number;
    updated_at: number;
    deleted_at: number | null;
    /** Bumped on every change that affects search (publish, delete, undelete, tags). */
    changed_at: number;
    downloads: Generated<number>;
    installs: Generated<number>;
    stars: Generated<number>;
    /** public, org (members of the owning org) or private (those who may publish there). */
    visibility: Generated<"public" | "org" | "private">;
  };
  /** Organisations: each is also a row of `users` (kind org), so `@org/slug` is a namespace. */
  orgs: {
    id: string;
    /** Visibility of a skill first published here without one (the official CLI sends none). */
    default_visibility: "public" | "org" | "private";
    created_at: number;
  };
  org_members: {
    org_id: string;
    user_id: string;
    role: "owner" | "publisher" | "reader";
    created_at: number;
  };
  /** The scanner's report of a version (one row a version; a rescan replaces it). */
  scans: {
    version_id: string;
    verdict: "clean" | "suspicious" | "malicious";
    score: number;
    /** The scanner's version (`clawhub-scan/1`). */
    engine: string;
    /** JSON of the findings. */
    findings: string;
    scanned_at: number;
  };
  versions: {
    id: string;
    skill_id: string;
    version: string;
    /** Sortable form of the semver (zero-padded), so the store can order versions in SQL. */
    sort_key: string;
    changelog: string;
    fingerprint: string;
    integrity: string;
    zip_sha256: string;
    zip_size: number;
    file_count: number;
    unpacked_size: number;
    /** JSON of the lenient manifest (description, OpenClaw metadata, warnings...). */
    manifest: string;
    publisher_id: string;
    created_at: number;
    deleted_at: number | null;
  };
  version_files: {
    version_id: string;
    path: string;
    sha256: string;
    size: number;
    content_type: string;
  };
  tags: {
    skill_id: string;
    tag: string;
    version_id: string;
    updated_at: number;
  };
  stars: {
    user_id: string;
    skill_id: string;
    created_at: number;
  };
  uploads: {
    ticket: string;
    user_id: string;
    path: string;
    sha256: string;
    size: number;
    content_type: string;
    created_at: number;
    completed_at: number | null;
  };
  download_events: {
    skill_id: string;
    identity: string;
    hour: number;
  };
  meta: {
    key: string;
    value: string;
  };
  /** Transparency log leaves: one publish statement each, in append order. */
  tlog_leaves: {
    idx: number;
    version_id: string;
    /** The DSSE envelope (JSON) whose payload is the leaf's data. */
    envelope: string;
    /** Hex RFC 9162 leaf hash of the payload. */
    leaf_hash: string;
    created_at: number;
  };
  /** Hex hashes of every complete subtree of the log (level 0: the leaves). */
  tlog_nodes: {
    level: number;
    idx: number;
    hash: string;
  };
  /** Moderators' reviews of flagged versions (held, approved, rejected; appeals). */
  reviews: {
    version_id: string;
    status: "held" | "approved" | "rejected";
    reason: string;
    reviewer_id: string | null;
    created_at: number;
    decided_at: number | null;
    appeal: string | null;
    appealed_at: number | null;
  };
  /** What users are told about their versions (moderation decisions, rescans). */
  notifications: {
    id: string;
    user_id: string;
    kind: string;
    subject: string;
    message: string;
    created_at: number;
  };
  /** Publishers' Ed25519 public keys (they sign their versions' statements). */
  publisher_keys: {
    /** Hex SHA-256 of the raw public key. */
    id: string;
    user_id: string;
    name: string;
    /** Base64 of the raw 32-byte public key. */
    public_key: string;
    created_at: number;
    revoked_at: number | null;
  };
  /** The signed checkpoint (C2SP signed note) of every size the log has had. */
  tlog_checkpoints: {
    size: number;
    note: string;
    created_at: number;
  };
  embeddings: {
    /** sha256 of the embedded text. */
    content_hash: string;
    embedder_id: string;
    dimensions: number;
    /** Float32 little-endian. */
    vector: Uint8Array;
    created_at: number;
  };
}

/** Schema version this code writes; migrations bring older databases up to it. */
export const SCHEMA_VERSION = 4;

// Any constant: the key of the advisory lock that serialises migrations across replicas.
const MIGRATION_LOCK = 7_402_518;

/**
 * Creates or upgrades the schema. Idempotent; on PostgreSQL it runs under an advisory lock, so
 * replicas starting at once do not race on CREATE TABLE (IF NOT EXISTS alone is not enough
 * there: concurrent creations collide in the catalog).
 */
export async function migrate(
  db: Kysely<Database>,
  engine: "sqlite" | "postgres" = "sqlite",
): Promise<void> {
  if (engine === "sqlite") return createSchema(db, engine);
  await db.connection().execute(async (conn) => {
    await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
    try {
      await createSchema(conn, engine);
    } finally {
      await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
    }
  });
}

async function createSchema(db: Kysely<Database>, engine: "sqlite" | "postgres"): Promise<void> {
  await db.schema
    .createTable("meta")
    .ifNotExists()
    .addColumn("key", "text", (c) => c.primaryKey())
    .addColumn("value", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("users")
    .ifNotExists()
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("handle", "text", (c) => c.notNull().unique())
    .addColumn("display_name", "text")
    .addColumn("role", "text", (c) => c.notNull())
    .addColumn("disabled", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("tokens")
    .ifNotExists()
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("prefix", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint")
    .addColumn("revoked_at", "bigint")
    .addColumn("last_used_at", "bigint")
    .execute();
  await db.schema
    .createTable("skills")
    .ifNotExists()
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("owner_id", "text", (c) => c.notNull().references("users.id"))
    .addColumn("slug", "text", (c) => c.notNull())
    .addColumn("display_name", "text", (c) => c.notNull())
    .addColumn("summary", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("deleted_at", "bigint")
    .addColumn("changed_at", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("downloads", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("installs", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("stars", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("visibility", "text", (c) => c.notNull().defaultTo("public"))
    .addUniqueConstraint("skills_owner_slug", ["owner_id", "slug"])
    .execute();
  await db.schema.createIndex("skills_slug").ifNotExists().on("skills").column("slug").execute();
  await db.schema
    .createIndex("skills_changed")
    .ifNotExists()
    .on("skills")
    .column("changed_at")
    .execute();
  await db.schema
    .createTable("versions")
    .ifNotExists()
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("skill_id", "text", (c) => c.notNull().references("skills.id"))
    .addColumn("version", "text", (c) => c.notNull())
    .addColumn("sort_key", "text", (c) => c.notNull())
    .addColumn("changelog", "text", (c) => c.notNull())
    .addColumn("fingerprint", "text", (c) => c.notNull())
    .addColumn("integrity", "text", (c) => c.notNull())
    .addColumn("zip_sha256", "text", (c) => c.notNull())
    .addColumn("zip_size", "bigint", (c) => c.notNull())
    .addColumn("file_count", "integer", (c) => c.notNull())
    .addColumn("unpacked_size", "bigint", (c) => c.notNull())
    .addColumn("manifest", "text", (c) => c.notNull())
    .addColumn("publisher_id", "text", (c) => c.notNull().references("users.id"))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("deleted_at", "bigint")
    // A version number is never reused: deleted versions keep their row.
    .addUniqueConstraint("versions_skill_version", ["skill_id", "version"])
    .execute();
  await db.schema
    .createIndex("versions_fingerprint")
    .ifNotExists()
    .on("versions")
    .columns(["skill_id", "fingerprint"])
    .execute();
  await db.schema
    .createTable("version_files")
    .ifNotExists()
    .addColumn("version_id", "text", (c) => c.notNull().references("versions.id"))
    .addColumn("path", "text", (c) => c.notNull())
    .addColumn("sha256", "text", (c) => c.notNull())
    .addColumn("size", "bigint", (c) => c.notNull())
    .addColumn("content_type", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("version_files_pk", ["version_id", "path"])
    .execute();
  // Version 3: the scanner's reports. A new table: older databases gain it here, and their
  // versions read as not scanned until a rescan.
  await db.schema
    .createTable("scans")
    .ifNotExists()
    .addColumn("version_id", "text", (c) => c.primaryKey().references("versions.id"))
    .addColumn("verdict", "text", (c) => c.notNull())
    .addColumn("score", "integer", (c) => c.notNull())
    .addColumn("engine", "text", (c) => c.notNull())
    .addColumn("findings", "text", (c) => c.notNull())
    .addColumn("scanned_at", "bigint", (c) => c.notNull())
    .execute();
  // Version 4: the transparency log, publisher keys, reviews and notifications. Older databases gain the tables here;
  // the registry logs their versions on its next start (oldest first).
  await db.schema
    .createTable("tlog_leaves")
    .ifNotExists()
    .addColumn("idx", "bigint", (c) => c.primaryKey())
    .addColumn("version_id", "text", (c) => c.notNull().unique().references("versions.id"))
    .addColumn("envelope", "text", (c) => c.notNull())
    .addColumn("leaf_hash", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("tlog_nodes")
    .ifNotExists()
    .addColumn("level", "integer", (c) => c.notNull())
    .addColumn("idx", "bigint", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("tlog_nodes_pk", ["level", "idx"])
    .execute();
  await db.schema
    .createTable("reviews")
    .ifNotExists()
    .addColumn("version_id", "text", (c) => c.primaryKey().references("versions.id"))
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("reason", "text", (c) => c.notNull())
    .addColumn("reviewer_id", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("decided_at", "bigint")
    .addColumn("appeal", "text")
    .addColumn("appealed_at", "bigint")
    .execute();
  await db.schema
    .createTable("notifications")
    .ifNotExists()
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id"))
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("message", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("notifications_user")
    .ifNotExists()
    .on("notifications")
    .columns(["user_id", "created_at"])
    .execute();
  await db.schema
    .createTable("publisher_keys")
    .ifNotExists()
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("public_key", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("revoked_at", "bigint")
    .execute();
  await db.schema
    .createTable("tlog_checkpoints")
    .ifNotExists()
    .addColumn("size", "bigint", (c) => c.primaryKey())
    .addColumn("note", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("tags")
    .ifNotExists()
    .addColumn("skill_id", "text", (c) => c.notNull().references("skills.id"))
    .addColumn("tag", "text", (c) => c.notNull())
    .addColumn("version_id", "text", (c) => c.notNull().references("versions.id"))
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("tags_pk", ["skill_id", "tag"])
    .execute();
  await db.schema
    .createTable("stars")
    .ifNotExists()
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id"))
    .addColumn("skill_id", "text", (c) => c.notNull().references("skills.id"))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("stars_pk", ["user_id", "skill_id"])
    .execute();
  await db.schema
    .createTable("uploads")
    .ifNotExists()
    .addColumn("ticket", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id"))
    .addColumn("path", "text", (c) => c.notNull())
    .addColumn("sha256", "text", (c) => c.notNull())
    .addColumn("size", "bigint", (c) => c.notNull())
    .addColumn("content_type", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("completed_at", "bigint")
    .execute();
  await db.schema
    .createTable("download_events")
    .ifNotExists()
    .addColumn("skill_id", "text", (c) => c.notNull())
    .addColumn("identity", "text", (c) => c.notNull())
    .addColumn("hour", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("download_events_pk", ["skill_id", "identity", "hour"])
    .execute();
  await db.schema
    .createTable("embeddings")
    .ifNotExists()
    .addColumn("content_hash", "text", (c) => c.notNull())
    .addColumn("embedder_id", "text", (c) => c.notNull())
    .addColumn("dimensions", "integer", (c) => c.notNull())
    .addColumn("vector", engine === "postgres" ? "bytea" : "blob", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("embeddings_pk", ["embedder_id", "content_hash"])
    .execute();
  await db.schema
    .createTable("orgs")
    .ifNotExists()
    .addColumn("id", "text", (c) => c.primaryKey().references("users.id"))
    .addColumn("default_visibility", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("org_members")
    .ifNotExists()
    .addColumn("org_id", "text", (c) => c.notNull().references("orgs.id"))
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id"))
    .addColumn("role", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("org_members_pk", ["org_id", "user_id"])
    .execute();
  await db.schema
    .createIndex("org_members_user")
    .ifNotExists()
    .on("org_members")
    .column("user_id")
    .execute();
  const current = await db
    .selectFrom("meta")
    .select("value")
    .where("key", "=", "schema_version")
    .executeTakeFirst();
  // Version 1 databases: skills had no visibility (every skill was public).
  if (current && Number(current.value) < 2) {
    await db.schema
      .alterTable("skills")
      .addColumn("visibility", "text", (c) => c.notNull().defaultTo("public"))
      .execute();
  }
  await db
    .insertInto("meta")
    .values({ key: "schema_version", value: String(SCHEMA_VERSION) })
    .onConflict((oc) => oc.column("key").doUpdateSet({ value: String(SCHEMA_VERSION) }))
    .execute();
}
