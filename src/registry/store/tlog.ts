import { type Kysely, sql, type Transaction } from "kysely";
import { ClawHubError } from "../../errors/index.ts";
import { completedNodes, type Hash, leafHash, treeRoot } from "../../trust/index.ts";
import type { Engine } from "./dialects.ts";
import type { Database } from "./schema.ts";

/** One statement to append: the version it is about, the statement bytes and their envelope. */
export interface LogEntryInput {
  versionId: string;
  /** The leaf's data: the in-toto statement, as the envelope's payload carries it. */
  statement: Buffer;
  /** The DSSE envelope (JSON) with the registry's signature. */
  envelope: string;
}

/** A leaf of the transparency log. */
export interface LogEntry {
  index: number;
  versionId: string;
  envelope: string;
  leafHash: Hash;
  createdAt: number;
}

/** Signs the checkpoint of a tree of `size` leaves with root `root`: the signed note. */
export type CheckpointSigner = (size: number, root: Hash) => string;

/**
 * The transparency log's tables (part of the RegistryStore): leaves, the hashes of every
 * complete subtree (written as leaves arrive, so a proof is O(log n) reads) and the signed
 * checkpoint of every size. Appends are serialised (one transaction; an advisory lock on
 * PostgreSQL), so replicas sharing a database extend one tree.
 */
export interface LogStore {
  size(): Promise<number>;
  /** The hash of a complete subtree (level 0: a leaf). Throws INTERNAL when missing. */
  node(level: number, index: number): Promise<Hash>;
  /** Leaves `[start, end)`. */
  entries(start: number, end: number): Promise<LogEntry[]>;
  entryOf(versionId: string): Promise<LogEntry | undefined>;
  latestCheckpoint(): Promise<{ size: number; note: string } | undefined>;
  /** Appends entries in one transaction and signs the new checkpoint; returns their indexes. */
  append(entries: LogEntryInput[], sign: CheckpointSigner, now: number): Promise<number[]>;
  /** Versions with no log entry (published before the log), oldest first. */
  unlogged(limit: number): Promise<string[]>;
  /**
   * Records the log's verifier key on first use and returns the one recorded: a replica or a
   * restart with another key sees the difference instead of forking the log.
   */
  claimKey(verifier: string): Promise<string>;
}

// Any constant: the key of the advisory lock that serialises appends across replicas.
const APPEND_LOCK = 7_402_519;

const toEntry = (r: {
  idx: number | string;
  version_id: string;
  envelope: string;
  leaf_hash: string;
  created_at: number | string;
}): LogEntry => ({
  index: Number(r.idx),
  versionId: r.version_id,
  envelope: r.envelope,
  leafHash: Buffer.from(r.leaf_hash, "hex"),
  createdAt: Number(r.created_at),
});

const readNode = (db: Kysely<Database>) => async (level: number, index: number) => {
  const row = await db
    .selectFrom("tlog_nodes")
    .select("hash")
    .where("level", "=", level)
    .where("idx", "=", index)
    .executeTakeFirst();
  if (!row) throw new ClawHubError("INTERNAL", `transparency log node ${level}/${index} missing`);
  return Buffer.from(row.hash, "hex");
};

/**
 * Appends inside a transaction the caller holds (a publish writes its version and its log
 * entry together: a version never exists unlogged, nor a leaf without its version).
 */
export async function appendInTransaction(
  trx: Transaction<Database>,
  engine: Engine,
  entries: readonly LogEntryInput[],
  sign: CheckpointSigner,
  now: number,
): Promise<number[]> {
  if (engine === "postgres") await sql`SELECT pg_advisory_xact_lock(${APPEND_LOCK})`.execute(trx);
  const head = await trx
    .selectFrom("tlog_leaves")
    .select((eb) => eb.fn.max("idx").as("last"))
    .executeTakeFirst();
  let size = head?.last === null || head?.last === undefined ? 0 : Number(head.last) + 1;
  const read = readNode(trx);
  const indexes: number[] = [];
  for (const entry of entries) {
    const leaf = leafHash(entry.statement);
    await trx
      .insertInto("tlog_leaves")
      .values({
        idx: size,
        version_id: entry.versionId,
        envelope: entry.envelope,
        leaf_hash: leaf.toString("hex"),
        created_at: now,
      })
      .execute();
    for (const n of await completedNodes(size, leaf, read))
      await trx
        .insertInto("tlog_nodes")
        .values({ level: n.level, idx: n.index, hash: n.hash.toString("hex") })
        .execute();
    indexes.push(size);
    size++;
  }
  if (entries.length > 0)
    await trx
      .insertInto("tlog_checkpoints")
      .values({ size, note: sign(size, await treeRoot(size, read)), created_at: now })
      .execute();
  return indexes;
}

/** The log part of the Kysely store. */
export function createLogStore(db: Kysely<Database>, engine: Engine): LogStore {
  return {
    async size() {
      const row = await db
        .selectFrom("tlog_leaves")
        .select((eb) => eb.fn.max("idx").as("last"))
        .executeTakeFirst();
      return row?.last === null || row?.last === undefined ? 0 : Number(row.last) + 1;
    },
    node: readNode(db),
    async entries(start, end) {
      const rows = await db
        .selectFrom("tlog_leaves")
        .selectAll()
        .where("idx", ">=", start)
        .where("idx", "<", end)
        .orderBy("idx")
        .execute();
      return rows.map(toEntry);
    },
    async entryOf(versionId) {
      const row = await db
        .selectFrom("tlog_leaves")
        .selectAll()
        .where("version_id", "=", versionId)
        .executeTakeFirst();
      return row ? toEntry(row) : undefined;
    },
    async latestCheckpoint() {
      const row = await db
        .selectFrom("tlog_checkpoints")
        .select(["size", "note"])
        .orderBy("size", "desc")
        .limit(1)
        .executeTakeFirst();
      return row ? { size: Number(row.size), note: row.note } : undefined;
    },
    append(entries, sign, now) {
      return db
        .transaction()
        .execute((trx) => appendInTransaction(trx, engine, entries, sign, now));
    },
    async claimKey(verifier) {
      await db
        .insertInto("meta")
        .values({ key: "tlog_verifier", value: verifier })
        .onConflict((oc) => oc.column("key").doNothing())
        .execute();
      const row = await db
        .selectFrom("meta")
        .select("value")
        .where("key", "=", "tlog_verifier")
        .executeTakeFirstOrThrow();
      return row.value;
    },
    async unlogged(limit) {
      const rows = await db
        .selectFrom("versions")
        .leftJoin("tlog_leaves", "tlog_leaves.version_id", "versions.id")
        .select("versions.id")
        .where("tlog_leaves.idx", "is", null)
        .orderBy("versions.created_at")
        .orderBy("versions.id")
        .limit(limit)
        .execute();
      return rows.map((r) => r.id);
    },
  };
}
