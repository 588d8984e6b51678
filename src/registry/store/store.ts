import type { CompiledQuery, Kysely, Transaction } from "kysely";
import { ClawHubError } from "../../errors/index.ts";
import type { Engine } from "./dialects.ts";
import { createKeyStore, type KeyStore } from "./keys.ts";
import { createOrgStore, type OrgStore, type Visibility } from "./orgs.ts";
import { createReviewStore, type ReviewRecord, type ReviewStore, reviewRow } from "./reviews.ts";
import type { Database } from "./schema.ts";
import {
  appendInTransaction,
  type CheckpointSigner,
  createLogStore,
  type LogEntryInput,
  type LogStore,
} from "./tlog.ts";

type Db = Kysely<Database> | Transaction<Database>;

/** A user account. */
export interface User {
  id: string;
  handle: string;
  displayName: string | null;
  role: "user" | "moderator" | "admin";
  disabled: boolean;
  createdAt: number;
}

/** An API token as listed (never the secret). */
export interface TokenInfo {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

/** A skill row with its owner's handle. */
export interface SkillRecord {
  id: string;
  ownerId: string;
  ownerHandle: string;
  ownerDisplayName: string | null;
  slug: string;
  displayName: string;
  summary: string | null;
  createdAt: number;
  updatedAt: number;
  deletedAt: number | null;
  downloads: number;
  installs: number;
  stars: number;
  visibility: Visibility;
  /** Set by skillsChangedSince. */
  changedAt?: number;
}

/** A published version. */
export interface VersionRecord {
  id: string;
  skillId: string;
  version: string;
  changelog: string;
  fingerprint: string;
  integrity: string;
  zipSha256: string;
  zipSize: number;
  fileCount: number;
  unpackedSize: number;
  manifest: string;
  publisherId: string;
  createdAt: number;
  deletedAt: number | null;
}

/** One file of a version. */
export interface VersionFile {
  path: string;
  sha256: string;
  size: number;
  contentType: string;
}

/** Everything one publish writes, applied in one transaction. */
export interface PublishRecord {
  skill: {
    id: string;
    ownerId: string;
    slug: string;
    displayName: string;
    summary: string | null;
    /** Set on the first publish; on later ones, changed only when given. */
    visibility?: Visibility | undefined;
  };
  version: Omit<VersionRecord, "skillId" | "deletedAt">;
  files: VersionFile[];
  tags: string[];
  now: number;
  /** The scanner's report, stored with the version in the same transaction. */
  scan?: Omit<ScanRecord, "versionId">;
  /** A review opened with the version (a flagged version held for a moderator). */
  review?: Omit<ReviewRecord, "versionId">;
  /** The version's statement, appended to the transparency log in the same transaction. */
  log?: { entry: Omit<LogEntryInput, "versionId">; sign: CheckpointSigner };
}

/** A scan report as its `scans` row. */
const scanRow = (scan: ScanRecord) => ({
  version_id: scan.versionId,
  verdict: scan.verdict,
  score: scan.score,
  engine: scan.engine,
  findings: scan.findings,
  scanned_at: scan.scannedAt,
});

/** The scanner's report of a version, as stored. */
export interface ScanRecord {
  versionId: string;
  verdict: "clean" | "suspicious" | "malicious";
  score: number;
  engine: string;
  /** JSON of the findings. */
  findings: string;
  scannedAt: number;
}

/** Sort orders of skill listings. */
export type SkillSort = "updated" | "createdAt" | "downloads" | "stars" | "installs";

/** A pending upload (the official CLI uploads files one by one before publishing). */
export interface UploadRecord {
  ticket: string;
  userId: string;
  path: string;
  sha256: string;
  size: number;
  contentType: string;
  createdAt: number;
  completedAt: number | null;
}

/**
 * Which non-public skills a reader may list, by owner id: `org` skills of `orgOwners`, `private`
 * skills of `privateOwners`; `"all"` for admins and moderators.
 */
export type ReadScope = "all" | { orgOwners: readonly string[]; privateOwners: readonly string[] };

/**
 * The registry's persistent state. One implementation over Kysely serves SQLite and
 * PostgreSQL; the conformance suite (`store.conformance.ts`) runs against both.
 */
export interface RegistryStore {
  readonly engine: Engine;
  close(): Promise<void>;

  createUser(user: User): Promise<User>;
  userByHandle(handle: string): Promise<User | undefined>;
  userById(id: string): Promise<User | undefined>;
  listUsers(): Promise<User[]>;
  countUsers(): Promise<number>;
  setUserDisabled(id: string, disabled: boolean): Promise<void>;

  createToken(token: TokenInfo & { tokenHash: string }): Promise<void>;
  tokenByHash(hash: string): Promise<(TokenInfo & { user: User }) | undefined>;
  listTokens(userId?: string): Promise<TokenInfo[]>;
  revokeToken(id: string, now: number): Promise<boolean>;
  touchToken(id: string, now: number): Promise<void>;

  /** Finds a skill by slug; without an owner, the first published skill of that slug. */
  findSkill(
    slug: string,
    options?: { ownerHandle?: string; includeDeleted?: boolean },
  ): Promise<SkillRecord | undefined>;
  /** Every skill of a slug, deleted ones included, oldest first (bare-slug resolution). */
  skillsBySlug(slug: string): Promise<SkillRecord[]>;
  listSkills(options: {
    sort: SkillSort;
    limit: number;
    offset: number;
    /** What the reader may see; listings never return a skill outside it. */
    scope: ReadScope;
    includeDeleted?: boolean;
    ownerHandle?: string;
  }): Promise<SkillRecord[]>;
  allSkills(options?: { includeDeleted?: boolean }): Promise<SkillRecord[]>;
  skillById(id: string): Promise<SkillRecord | undefined>;
  /** Skills (deleted ones included) changed at or after `since`, for replicas to refresh caches. */
  skillsChangedSince(since: number): Promise<SkillRecord[]>;
  setSkillDeleted(id: string, deletedAt: number | null, now: number): Promise<void>;
  setSkillVisibility(id: string, visibility: Visibility, now: number): Promise<void>;
  readonly orgs: OrgStore;
  /** The transparency log's leaves, subtree hashes and checkpoints. */
  readonly log: LogStore;
  /** Publishers' signing keys. */
  readonly keys: KeyStore;
  /** Moderators' reviews of flagged versions, and users' notifications. */
  readonly reviews: ReviewStore;

  /**
   * Writes a publish atomically: the skill (created on first publish), the version, its files
   * and its tags. Throws ALREADY_EXISTS when the version exists (also after deletion): of two
   * concurrent publishes of the same version, exactly one succeeds.
   */
  publish(record: PublishRecord): Promise<void>;
  versionOf(skillId: string, version: string): Promise<VersionRecord | undefined>;
  versionById(id: string): Promise<VersionRecord | undefined>;
  /** Versions newest first (by semver), deleted ones included only when asked. */
  listVersions(
    skillId: string,
    options?: { includeDeleted?: boolean; limit?: number; offset?: number },
  ): Promise<VersionRecord[]>;
  versionByFingerprint(skillId: string, fingerprint: string): Promise<VersionRecord | undefined>;
  filesOf(versionId: string): Promise<VersionFile[]>;
  /** A version's scan report; none for a version published before the scanner (not scanned). */
  scanOf(versionId: string): Promise<ScanRecord | undefined>;
  /** Stores a scan report, replacing the version's earlier one (a rescan). */
  putScan(scan: ScanRecord): Promise<void>;
  tagsOf(skillId: string): Promise<Record<string, string>>;
  setTag(skillId: string, tag: string, versionId: string, now: number): Promise<void>;
  setVersionDeleted(id: string, deletedAt: number | null): Promise<void>;

  /** Adds a star; returns false when it was already there. */
  addStar(userId: string, skillId: string, now: number): Promise<boolean>;
  removeStar(userId: string, skillId: string): Promise<boolean>;

  /** Counts a download once per identity and hour; returns whether it counted. */
  recordDownload(skillId: string, identity: string, hour: number): Promise<boolean>;
  /** Counts an install once per identity and hour bucket; returns whether it counted. */
  recordInstall(skillId: string, identity: string, hour: number): Promise<boolean>;

  /** Stored vectors of an embedder, by content hash (missing hashes are absent from the map). */
  getVectors(embedderId: string, hashes: string[]): Promise<Map<string, Float32Array>>;
  /** Stores vectors; an existing (embedder, hash) row is kept (same text, same vector). */
  putVectors(
    embedderId: string,
    rows: Array<{ hash: string; vector: Float32Array }>,
    now: number,
  ): Promise<void>;

  /** Every blob hash a version, a file or an upload refers to (what garbage collection keeps). */
  blobReferences(): Promise<Set<string>>;

  createUpload(upload: UploadRecord): Promise<void>;
  /** Deletes uploads created before `before` (expired tickets); returns how many went. */
  deleteUploadsBefore(before: number): Promise<number>;
  upload(ticket: string): Promise<UploadRecord | undefined>;
  completeUpload(ticket: string, now: number): Promise<void>;
}

/** Turns a semver string into a key whose string order is semver precedence (approximately for pre-releases). */
export function semverSortKey(version: string): string {
  const match = /^(\d+)\.(\d+)\.(\d+)(?:-([^+]*))?/.exec(version);
  if (!match) return `~${version}`;
  const pad = (n: string) => n.padStart(10, "0");
  const pre = match[4];
  const preKey =
    pre === undefined
      ? "~"
      : `-${pre
          .split(".")
          .map((p) => (/^\d+$/.test(p) ? pad(p) : p))
          .join(".")}`;
  return `${pad(match[1] ?? "0")}.${pad(match[2] ?? "0")}.${pad(match[3] ?? "0")}${preKey}`;
}

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string; errcode?: number };
  return (
    e?.code === "23505" || /UNIQUE constraint failed/i.test(e?.message ?? "") || e?.errcode === 2067
  );
}

const toUser = (r: Database["users"]): User => ({
  id: r.id,
  handle: r.handle,
  displayName: r.display_name,
  role: r.role,
  disabled: Boolean(r.disabled),
  createdAt: Number(r.created_at),
});

const toToken = (r: Database["tokens"]): TokenInfo => ({
  id: r.id,
  userId: r.user_id,
  name: r.name,
  prefix: r.prefix,
  createdAt: Number(r.created_at),
  expiresAt: r.expires_at === null ? null : Number(r.expires_at),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
  lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
});

const toVersion = (r: Database["versions"]): VersionRecord => ({
  id: r.id,
  skillId: r.skill_id,
  version: r.version,
  changelog: r.changelog,
  fingerprint: r.fingerprint,
  integrity: r.integrity,
  zipSha256: r.zip_sha256,
  zipSize: Number(r.zip_size),
  fileCount: Number(r.file_count),
  unpackedSize: Number(r.unpacked_size),
  manifest: r.manifest,
  publisherId: r.publisher_id,
  createdAt: Number(r.created_at),
  deletedAt: r.deleted_at === null ? null : Number(r.deleted_at),
});

function skillQuery(db: Db) {
  return db
    .selectFrom("skills")
    .innerJoin("users", "users.id", "skills.owner_id")
    .select([
      "skills.id as id",
      "skills.owner_id as owner_id",
      "users.handle as owner_handle",
      "users.display_name as owner_display_name",
      "skills.slug as slug",
      "skills.display_name as display_name",
      "skills.summary as summary",
      "skills.created_at as created_at",
      "skills.updated_at as updated_at",
      "skills.deleted_at as deleted_at",
      "skills.downloads as downloads",
      "skills.installs as installs",
      "skills.stars as stars",
      "skills.visibility as visibility",
    ]);
}

type SkillRow = Awaited<ReturnType<ReturnType<typeof skillQuery>["executeTakeFirstOrThrow"]>>;

const toSkill = (r: SkillRow): SkillRecord => ({
  id: r.id,
  ownerId: r.owner_id,
  ownerHandle: r.owner_handle,
  ownerDisplayName: r.owner_display_name,
  slug: r.slug,
  displayName: r.display_name,
  summary: r.summary,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  deletedAt: r.deleted_at === null ? null : Number(r.deleted_at),
  downloads: Number(r.downloads),
  installs: Number(r.installs),
  stars: Number(r.stars),
  visibility: r.visibility,
});

/** Adds one to a counter of a skill unless this (identity, hour) was counted already. */
function countOnce(
  db: Kysely<Database>,
  skillId: string,
  identity: string,
  hour: number,
  column: "downloads" | "installs",
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const r = await trx
      .insertInto("download_events")
      .values({ skill_id: skillId, identity, hour })
      .onConflict((oc) => oc.columns(["skill_id", "identity", "hour"]).doNothing())
      .executeTakeFirst();
    const counted = Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    if (counted)
      await trx
        .updateTable("skills")
        .set((eb) => ({ [column]: eb(column, "+", 1) }))
        .where("id", "=", skillId)
        .execute();
    return counted;
  });
}

/** Creates the store over an open Kysely instance (schema already migrated). */
/**
 * A query built and compiled once, then run with each call's parameters (in placeholder
 * order). Building and compiling a skill lookup through Kysely cost five times what SQLite
 * took to answer it, on the path every download and skill page takes.
 */
function prepared<R>(db: Kysely<Database>, build: () => { compile(): CompiledQuery<R> }) {
  let compiled: CompiledQuery<R> | undefined;
  return async (...parameters: unknown[]): Promise<R[]> => {
    compiled ??= build().compile();
    if (compiled.parameters.length !== parameters.length)
      throw new Error(`prepared query takes ${compiled.parameters.length} parameters`);
    return (await db.executeQuery<R>({ ...compiled, parameters })).rows;
  };
}

export function createRegistryStore(db: Kysely<Database>, engine: Engine): RegistryStore {
  const bySlug = (withOwner: boolean, includeDeleted: boolean) =>
    prepared(db, () => {
      let q = skillQuery(db).where("skills.slug", "=", "");
      if (withOwner) q = q.where("users.handle", "=", "");
      if (!includeDeleted) q = q.where("skills.deleted_at", "is", null);
      return q.orderBy("skills.created_at").orderBy("skills.id");
    });
  const skillLookups = {
    all: bySlug(false, true),
    live: bySlug(false, false),
    ownedAll: bySlug(true, true),
    ownedLive: bySlug(true, false),
  };
  return {
    engine,
    orgs: createOrgStore(db),
    log: createLogStore(db, engine),
    keys: createKeyStore(db),
    reviews: createReviewStore(db),
    async close() {
      await db.destroy();
    },

    async createUser(user) {
      try {
        await db
          .insertInto("users")
          .values({
            id: user.id,
            handle: user.handle,
            display_name: user.displayName,
            role: user.role,
            disabled: user.disabled ? 1 : 0,
            created_at: user.createdAt,
          })
          .execute();
      } catch (error) {
        if (isUniqueViolation(error))
          throw new ClawHubError("ALREADY_EXISTS", `user @${user.handle} already exists`);
        throw error;
      }
      return user;
    },
    async userByHandle(handle) {
      const row = await db
        .selectFrom("users")
        .selectAll()
        .where("handle", "=", handle)
        .executeTakeFirst();
      return row && toUser(row);
    },
    async userById(id) {
      const row = await db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
      return row && toUser(row);
    },
    async listUsers() {
      return (
        await db.selectFrom("users").selectAll().orderBy("created_at").orderBy("handle").execute()
      ).map(toUser);
    },
    async countUsers() {
      const row = await db
        .selectFrom("users")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async setUserDisabled(id, disabled) {
      await db
        .updateTable("users")
        .set({ disabled: disabled ? 1 : 0 })
        .where("id", "=", id)
        .execute();
    },

    async createToken(token) {
      await db
        .insertInto("tokens")
        .values({
          id: token.id,
          user_id: token.userId,
          name: token.name,
          token_hash: token.tokenHash,
          prefix: token.prefix,
          created_at: token.createdAt,
          expires_at: token.expiresAt,
          revoked_at: token.revokedAt,
          last_used_at: token.lastUsedAt,
        })
        .execute();
    },
    async tokenByHash(hash) {
      const row = await db
        .selectFrom("tokens")
        .selectAll()
        .where("token_hash", "=", hash)
        .executeTakeFirst();
      if (!row) return undefined;
      const user = await db
        .selectFrom("users")
        .selectAll()
        .where("id", "=", row.user_id)
        .executeTakeFirst();
      return user ? { ...toToken(row), user: toUser(user) } : undefined;
    },
    async listTokens(userId) {
      let q = db.selectFrom("tokens").selectAll().orderBy("created_at");
      if (userId) q = q.where("user_id", "=", userId);
      return (await q.execute()).map(toToken);
    },
    async revokeToken(id, now) {
      const r = await db
        .updateTable("tokens")
        .set({ revoked_at: now })
        .where("id", "=", id)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async touchToken(id, now) {
      await db.updateTable("tokens").set({ last_used_at: now }).where("id", "=", id).execute();
    },

    async findSkill(slug, options = {}) {
      const rows = options.ownerHandle
        ? await (options.includeDeleted ? skillLookups.ownedAll : skillLookups.ownedLive)(
            slug,
            options.ownerHandle,
          )
        : await (options.includeDeleted ? skillLookups.all : skillLookups.live)(slug);
      const row = rows[0];
      return row && toSkill(row);
    },
    async skillsBySlug(slug) {
      return (await skillLookups.all(slug)).map(toSkill);
    },
    async listSkills({ sort, limit, offset, includeDeleted, ownerHandle, scope }) {
      let q = skillQuery(db);
      if (scope !== "all") {
        const { orgOwners, privateOwners } = scope;
        q = q.where((eb) =>
          eb.or([
            eb("skills.visibility", "=", "public"),
            ...(orgOwners.length > 0
              ? [
                  eb.and([
                    eb("skills.visibility", "=", "org"),
                    eb("skills.owner_id", "in", [...orgOwners]),
                  ]),
                ]
              : []),
            ...(privateOwners.length > 0 ? [eb("skills.owner_id", "in", [...privateOwners])] : []),
          ]),
        );
      }
      if (!includeDeleted) q = q.where("skills.deleted_at", "is", null);
      if (ownerHandle) q = q.where("users.handle", "=", ownerHandle);
      const column = {
        updated: "skills.updated_at",
        createdAt: "skills.created_at",
        downloads: "skills.downloads",
        stars: "skills.stars",
        installs: "skills.installs",
      } as const;
      const rows = await q
        .orderBy(column[sort], "desc")
        .orderBy("skills.id")
        .limit(limit)
        .offset(offset)
        .execute();
      return rows.map(toSkill);
    },
    async allSkills(options = {}) {
      let q = skillQuery(db);
      if (!options.includeDeleted) q = q.where("skills.deleted_at", "is", null);
      return (await q.orderBy("skills.created_at").execute()).map(toSkill);
    },
    async skillById(id) {
      const row = await skillQuery(db).where("skills.id", "=", id).executeTakeFirst();
      return row && toSkill(row);
    },
    async skillsChangedSince(since) {
      const rows = await skillQuery(db)
        .select("skills.changed_at as changed_at")
        .where("skills.changed_at", ">=", since)
        .orderBy("skills.changed_at")
        .execute();
      return rows.map((r) => ({ ...toSkill(r), changedAt: Number(r.changed_at) }));
    },
    async setSkillVisibility(id, visibility, now) {
      await db
        .updateTable("skills")
        .set({ visibility, changed_at: now })
        .where("id", "=", id)
        .execute();
    },
    async setSkillDeleted(id, deletedAt, now) {
      await db
        .updateTable("skills")
        .set({ deleted_at: deletedAt, changed_at: now })
        .where("id", "=", id)
        .execute();
    },

    async publish(record) {
      const { skill, version, files, tags, now, scan, log, review } = record;
      try {
        await db.transaction().execute(async (trx) => {
          const existing = await trx
            .selectFrom("skills")
            .select("id")
            .where("id", "=", skill.id)
            .executeTakeFirst();
          if (existing) {
            await trx
              .updateTable("skills")
              .set({
                display_name: skill.displayName,
                summary: skill.summary,
                updated_at: now,
                changed_at: now,
                ...(skill.visibility ? { visibility: skill.visibility } : {}),
              })
              .where("id", "=", skill.id)
              .execute();
          } else {
            await trx
              .insertInto("skills")
              .values({
                id: skill.id,
                owner_id: skill.ownerId,
                slug: skill.slug,
                display_name: skill.displayName,
                summary: skill.summary,
                created_at: now,
                updated_at: now,
                deleted_at: null,
                changed_at: now,
                visibility: skill.visibility ?? "public",
              })
              .execute();
          }
          await trx
            .insertInto("versions")
            .values({
              id: version.id,
              skill_id: skill.id,
              version: version.version,
              sort_key: semverSortKey(version.version),
              changelog: version.changelog,
              fingerprint: version.fingerprint,
              integrity: version.integrity,
              zip_sha256: version.zipSha256,
              zip_size: version.zipSize,
              file_count: version.fileCount,
              unpacked_size: version.unpackedSize,
              manifest: version.manifest,
              publisher_id: version.publisherId,
              created_at: version.createdAt,
              deleted_at: null,
            })
            .execute();
          if (files.length > 0) {
            // Chunked: SQLite limits bound parameters per statement.
            for (let i = 0; i < files.length; i += 150) {
              await trx
                .insertInto("version_files")
                .values(
                  files.slice(i, i + 150).map((f) => ({
                    version_id: version.id,
                    path: f.path,
                    sha256: f.sha256,
                    size: f.size,
                    content_type: f.contentType,
                  })),
                )
                .execute();
            }
          }
          if (scan)
            await trx
              .insertInto("scans")
              .values(scanRow({ ...scan, versionId: version.id }))
              .execute();
          if (review)
            await trx
              .insertInto("reviews")
              .values(reviewRow({ ...review, versionId: version.id }))
              .execute();
          if (log)
            await appendInTransaction(
              trx,
              engine,
              [{ ...log.entry, versionId: version.id }],
              log.sign,
              now,
            );
          for (const tag of tags) {
            await trx
              .insertInto("tags")
              .values({ skill_id: skill.id, tag, version_id: version.id, updated_at: now })
              .onConflict((oc) =>
                oc
                  .columns(["skill_id", "tag"])
                  .doUpdateSet({ version_id: version.id, updated_at: now }),
              )
              .execute();
          }
        });
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new ClawHubError(
            "ALREADY_EXISTS",
            `version ${version.version} of ${skill.slug} already exists`,
            {
              hint: "Versions are immutable: publish a new version number.",
            },
          );
        }
        throw error;
      }
    },
    async versionOf(skillId, version) {
      const row = await db
        .selectFrom("versions")
        .selectAll()
        .where("skill_id", "=", skillId)
        .where("version", "=", version)
        .executeTakeFirst();
      return row && toVersion(row);
    },
    async versionById(id) {
      const row = await db
        .selectFrom("versions")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      return row && toVersion(row);
    },
    async listVersions(skillId, options = {}) {
      let q = db.selectFrom("versions").selectAll().where("skill_id", "=", skillId);
      if (!options.includeDeleted) q = q.where("deleted_at", "is", null);
      q = q.orderBy("sort_key", "desc").orderBy("created_at", "desc");
      if (options.limit !== undefined) q = q.limit(options.limit).offset(options.offset ?? 0);
      return (await q.execute()).map(toVersion);
    },
    async versionByFingerprint(skillId, fingerprint) {
      const row = await db
        .selectFrom("versions")
        .selectAll()
        .where("skill_id", "=", skillId)
        .where("fingerprint", "=", fingerprint)
        .where("deleted_at", "is", null)
        .orderBy("sort_key", "desc")
        .executeTakeFirst();
      return row && toVersion(row);
    },
    async scanOf(versionId) {
      const r = await db
        .selectFrom("scans")
        .selectAll()
        .where("version_id", "=", versionId)
        .executeTakeFirst();
      return r
        ? {
            versionId: r.version_id,
            verdict: r.verdict,
            score: Number(r.score),
            engine: r.engine,
            findings: r.findings,
            scannedAt: Number(r.scanned_at),
          }
        : undefined;
    },
    async putScan(scan) {
      const values = scanRow(scan);
      await db
        .insertInto("scans")
        .values(values)
        .onConflict((oc) => oc.column("version_id").doUpdateSet(values))
        .execute();
    },
    async filesOf(versionId) {
      const rows = await db
        .selectFrom("version_files")
        .selectAll()
        .where("version_id", "=", versionId)
        .orderBy("path")
        .execute();
      return rows.map((r) => ({
        path: r.path,
        sha256: r.sha256,
        size: Number(r.size),
        contentType: r.content_type,
      }));
    },
    async tagsOf(skillId) {
      const rows = await db
        .selectFrom("tags")
        .innerJoin("versions", "versions.id", "tags.version_id")
        .select(["tags.tag as tag", "versions.version as version"])
        .where("tags.skill_id", "=", skillId)
        .execute();
      return Object.fromEntries(rows.map((r) => [r.tag, r.version]));
    },
    async setTag(skillId, tag, versionId, now) {
      await db.updateTable("skills").set({ changed_at: now }).where("id", "=", skillId).execute();
      await db
        .insertInto("tags")
        .values({ skill_id: skillId, tag, version_id: versionId, updated_at: now })
        .onConflict((oc) =>
          oc.columns(["skill_id", "tag"]).doUpdateSet({ version_id: versionId, updated_at: now }),
        )
        .execute();
    },
    async setVersionDeleted(id, deletedAt) {
      await db
        .updateTable("versions")
        .set({ deleted_at: deletedAt })
        .where("id", "=", id)
        .execute();
    },

    async addStar(userId, skillId, now) {
      return db.transaction().execute(async (trx) => {
        const r = await trx
          .insertInto("stars")
          .values({ user_id: userId, skill_id: skillId, created_at: now })
          .onConflict((oc) => oc.columns(["user_id", "skill_id"]).doNothing())
          .executeTakeFirst();
        const added = Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
        if (added)
          await trx
            .updateTable("skills")
            .set((eb) => ({ stars: eb("stars", "+", 1) }))
            .where("id", "=", skillId)
            .execute();
        return added;
      });
    },
    async removeStar(userId, skillId) {
      return db.transaction().execute(async (trx) => {
        const r = await trx
          .deleteFrom("stars")
          .where("user_id", "=", userId)
          .where("skill_id", "=", skillId)
          .executeTakeFirst();
        const removed = Number(r.numDeletedRows) > 0;
        if (removed)
          await trx
            .updateTable("skills")
            .set((eb) => ({ stars: eb("stars", "-", 1) }))
            .where("id", "=", skillId)
            .execute();
        return removed;
      });
    },

    recordDownload(skillId, identity, hour) {
      return countOnce(db, skillId, identity, hour, "downloads");
    },
    recordInstall(skillId, identity, hour) {
      // Same event table, another key space: an install never collides with a download.
      return countOnce(db, skillId, `install:${identity}`, hour, "installs");
    },

    async getVectors(embedderId, hashes) {
      const out = new Map<string, Float32Array>();
      for (let i = 0; i < hashes.length; i += 500) {
        const rows = await db
          .selectFrom("embeddings")
          .select(["content_hash", "vector", "dimensions"])
          .where("embedder_id", "=", embedderId)
          .where("content_hash", "in", hashes.slice(i, i + 500))
          .execute();
        for (const r of rows) {
          // Copy into an aligned buffer: driver buffers may be views at odd offsets.
          const bytes = new Uint8Array(r.vector);
          out.set(
            r.content_hash,
            new Float32Array(
              bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + Number(r.dimensions) * 4),
            ),
          );
        }
      }
      return out;
    },
    async putVectors(embedderId, rows, now) {
      for (let i = 0; i < rows.length; i += 100) {
        const values = rows.slice(i, i + 100).map((r) => ({
          content_hash: r.hash,
          embedder_id: embedderId,
          dimensions: r.vector.length,
          vector: Buffer.from(r.vector.buffer, r.vector.byteOffset, r.vector.byteLength),
          created_at: now,
        }));
        if (values.length > 0) {
          await db
            .insertInto("embeddings")
            .values(values)
            .onConflict((oc) => oc.columns(["embedder_id", "content_hash"]).doNothing())
            .execute();
        }
      }
    },

    async blobReferences() {
      const refs = new Set<string>();
      for (const r of await db
        .selectFrom("versions")
        .select("zip_sha256 as sha")
        .distinct()
        .execute())
        refs.add(r.sha);
      for (const r of await db
        .selectFrom("version_files")
        .select("sha256 as sha")
        .distinct()
        .execute())
        refs.add(r.sha);
      for (const r of await db.selectFrom("uploads").select("sha256 as sha").distinct().execute())
        refs.add(r.sha);
      return refs;
    },
    async createUpload(upload) {
      await db
        .insertInto("uploads")
        .values({
          ticket: upload.ticket,
          user_id: upload.userId,
          path: upload.path,
          sha256: upload.sha256,
          size: upload.size,
          content_type: upload.contentType,
          created_at: upload.createdAt,
          completed_at: upload.completedAt,
        })
        .execute();
    },
    async deleteUploadsBefore(before) {
      const r = await db.deleteFrom("uploads").where("created_at", "<", before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
    async upload(ticket) {
      const r = await db
        .selectFrom("uploads")
        .selectAll()
        .where("ticket", "=", ticket)
        .executeTakeFirst();
      if (!r) return undefined;
      return {
        ticket: r.ticket,
        userId: r.user_id,
        path: r.path,
        sha256: r.sha256,
        size: Number(r.size),
        contentType: r.content_type,
        createdAt: Number(r.created_at),
        completedAt: r.completed_at === null ? null : Number(r.completed_at),
      };
    },
    async completeUpload(ticket, now) {
      await db
        .updateTable("uploads")
        .set({ completed_at: now })
        .where("ticket", "=", ticket)
        .execute();
    },
  };
}
