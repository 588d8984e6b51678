import type { Kysely } from "kysely";
import type { Database } from "./schema.ts";

/** A moderator's review of a version the scanner flagged (one row a version). */
export interface ReviewRecord {
  versionId: string;
  /** held: waiting for a moderator; approved: served; rejected: blocked for good. */
  status: "held" | "approved" | "rejected";
  /** What the owner sees: why it is held, or the moderator's reason. */
  reason: string;
  /** The moderator who decided (null while held, or released by a clean rescan). */
  reviewerId: string | null;
  createdAt: number;
  decidedAt: number | null;
  /** The owner's appeal, once made (a decided version goes back to the queue). */
  appeal: string | null;
  appealedAt: number | null;
}

/** One entry of a user's notifications (moderation decisions about their versions). */
export interface NotificationRecord {
  id: string;
  userId: string;
  kind: string;
  /** `@owner/slug@version` it is about. */
  subject: string;
  message: string;
  createdAt: number;
}

/** A version waiting for a moderator, with what the queue shows. */
export interface QueueEntry {
  review: ReviewRecord;
  skillId: string;
  slug: string;
  ownerHandle: string;
  version: string;
}

/** Reviews and notifications; part of the RegistryStore. */
export interface ReviewStore {
  reviewOf(versionId: string): Promise<ReviewRecord | undefined>;
  /** Writes a version's review, replacing the earlier one. */
  putReview(review: ReviewRecord): Promise<void>;
  /** Held versions and decided ones with an appeal newer than the decision, oldest first. */
  queue(limit: number): Promise<QueueEntry[]>;
  notify(n: NotificationRecord): Promise<void>;
  /** A user's latest notifications, newest first. */
  notificationsOf(userId: string, limit: number): Promise<NotificationRecord[]>;
}

const toReview = (r: {
  version_id: string;
  status: string;
  reason: string;
  reviewer_id: string | null;
  created_at: number | string;
  decided_at: number | string | null;
  appeal: string | null;
  appealed_at: number | string | null;
}): ReviewRecord => ({
  versionId: r.version_id,
  status: r.status as ReviewRecord["status"],
  reason: r.reason,
  reviewerId: r.reviewer_id,
  createdAt: Number(r.created_at),
  decidedAt: r.decided_at === null ? null : Number(r.decided_at),
  appeal: r.appeal,
  appealedAt: r.appealed_at === null ? null : Number(r.appealed_at),
});

/** A review as its `reviews` row. */
export const reviewRow = (r: ReviewRecord) => ({
  version_id: r.versionId,
  status: r.status,
  reason: r.reason,
  reviewer_id: r.reviewerId,
  created_at: r.createdAt,
  decided_at: r.decidedAt,
  appeal: r.appeal,
  appealed_at: r.appealedAt,
});

/** The review part of the Kysely store. */
export function createReviewStore(db: Kysely<Database>): ReviewStore {
  return {
    async reviewOf(versionId) {
      const row = await db
        .selectFrom("reviews")
        .selectAll()
        .where("version_id", "=", versionId)
        .executeTakeFirst();
      return row ? toReview(row) : undefined;
    },
    async putReview(review) {
      const row = reviewRow(review);
      await db
        .insertInto("reviews")
        .values(row)
        .onConflict((oc) => oc.column("version_id").doUpdateSet(row))
        .execute();
    },
    async queue(limit) {
      const rows = await db
        .selectFrom("reviews")
        .innerJoin("versions", "versions.id", "reviews.version_id")
        .innerJoin("skills", "skills.id", "versions.skill_id")
        .innerJoin("users", "users.id", "skills.owner_id")
        .selectAll("reviews")
        .select([
          "skills.id as skill_id",
          "skills.slug as slug",
          "users.handle as owner_handle",
          "versions.version as version",
        ])
        .where("skills.deleted_at", "is", null)
        .where("versions.deleted_at", "is", null)
        .where((eb) =>
          eb.or([
            eb("reviews.status", "=", "held"),
            eb.and([
              eb("reviews.appealed_at", "is not", null),
              eb.or([
                eb("reviews.decided_at", "is", null),
                eb("reviews.appealed_at", ">", eb.ref("reviews.decided_at")),
              ]),
            ]),
          ]),
        )
        .orderBy("reviews.created_at")
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        review: toReview(r),
        skillId: r.skill_id,
        slug: r.slug,
        ownerHandle: r.owner_handle,
        version: r.version,
      }));
    },
    async notify(n) {
      await db
        .insertInto("notifications")
        .values({
          id: n.id,
          user_id: n.userId,
          kind: n.kind,
          subject: n.subject,
          message: n.message,
          created_at: n.createdAt,
        })
        .execute();
    },
    async notificationsOf(userId, limit) {
      const rows = await db
        .selectFrom("notifications")
        .selectAll()
        .where("user_id", "=", userId)
        .orderBy("created_at", "desc")
        .orderBy("id", "desc")
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        id: r.id,
        userId: r.user_id,
        kind: r.kind,
        subject: r.subject,
        message: r.message,
        createdAt: Number(r.created_at),
      }));
    },
  };
}
