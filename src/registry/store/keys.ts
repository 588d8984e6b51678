import type { Kysely } from "kysely";
import { ClawHubError } from "../../errors/index.ts";
import type { Database } from "./schema.ts";

/** A publisher's Ed25519 public key, registered to their account. */
export interface PublisherKey {
  /** Hex SHA-256 of the raw public key (the DSSE key id of their signatures). */
  id: string;
  userId: string;
  /** The owner's handle (joined from users). */
  handle: string;
  name: string;
  /** Base64 of the 32 raw public key bytes. */
  publicKey: string;
  createdAt: number;
  revokedAt: number | null;
}

/** Publisher keys; part of the RegistryStore. */
export interface KeyStore {
  /** Registers a key; ALREADY_EXISTS when that key is registered (to anyone). */
  addKey(key: Omit<PublisherKey, "handle" | "revokedAt">): Promise<void>;
  keyById(id: string): Promise<PublisherKey | undefined>;
  /** A user's keys, revoked ones included, oldest first. */
  keysOf(userId: string): Promise<PublisherKey[]>;
  /** Marks a key revoked; false when it was not the user's or already revoked. */
  revokeKey(userId: string, id: string, now: number): Promise<boolean>;
}

const toKey = (r: {
  id: string;
  user_id: string;
  handle: string;
  name: string;
  public_key: string;
  created_at: number | string;
  revoked_at: number | string | null;
}): PublisherKey => ({
  id: r.id,
  userId: r.user_id,
  handle: r.handle,
  name: r.name,
  publicKey: r.public_key,
  createdAt: Number(r.created_at),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
});

/** The key part of the Kysely store. */
export function createKeyStore(db: Kysely<Database>): KeyStore {
  const query = () =>
    db
      .selectFrom("publisher_keys")
      .innerJoin("users", "users.id", "publisher_keys.user_id")
      .select([
        "publisher_keys.id",
        "publisher_keys.user_id",
        "users.handle",
        "publisher_keys.name",
        "publisher_keys.public_key",
        "publisher_keys.created_at",
        "publisher_keys.revoked_at",
      ]);
  return {
    async addKey(key) {
      const existing = await db
        .selectFrom("publisher_keys")
        .select("id")
        .where("id", "=", key.id)
        .executeTakeFirst();
      if (existing) throw new ClawHubError("ALREADY_EXISTS", "this key is already registered");
      await db
        .insertInto("publisher_keys")
        .values({
          id: key.id,
          user_id: key.userId,
          name: key.name,
          public_key: key.publicKey,
          created_at: key.createdAt,
          revoked_at: null,
        })
        .execute();
    },
    async keyById(id) {
      const row = await query().where("publisher_keys.id", "=", id).executeTakeFirst();
      return row ? toKey(row) : undefined;
    },
    async keysOf(userId) {
      const rows = await query()
        .where("publisher_keys.user_id", "=", userId)
        .orderBy("publisher_keys.created_at")
        .execute();
      return rows.map(toKey);
    },
    async revokeKey(userId, id, now) {
      const r = await db
        .updateTable("publisher_keys")
        .set({ revoked_at: now })
        .where("id", "=", id)
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
  };
}
