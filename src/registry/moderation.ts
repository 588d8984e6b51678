/**
 * Moderation of flagged versions (docs/security.md#moderation). A version the scanner calls
 * suspicious is held: served to no one but who manages it until a moderator approves it. A
 * malicious one is blocked unless a moderator approves it (a false alarm). Owners are told (a
 * notification, and the skill's moderation record), may ask for a rescan (a newer scanner may
 * clear it) and may appeal with a message, which puts a decided version back in the queue.
 * Moderators see the queue and approve or reject with a reason the owner reads.
 */
import { randomUUID } from "node:crypto";
import { ClawHubError } from "../errors/index.ts";
import { hasHiddenCharacters } from "../schema/index.ts";
import { rulesOf, type ScanPool, scanOnPool, type Verdict } from "../trust/index.ts";
import { canManage, type Principal } from "./access.ts";
import type {
  BlobStore,
  RegistryStore,
  ReviewRecord,
  SkillRecord,
  VersionRecord,
} from "./store/index.ts";

/** Whether a version is served to readers who do not manage it. */
export type Availability = "served" | "held" | "blocked";

/** Longest reason or appeal message kept. */
export const MAX_MODERATION_TEXT = 2000;

/** What a verdict and a review mean for readers who do not manage the skill. */
export function availabilityOf(
  verdict: Verdict | undefined,
  review: Pick<ReviewRecord, "status"> | undefined,
): Availability {
  if (review?.status === "approved") return "served";
  if (review?.status === "rejected" || verdict === "malicious") return "blocked";
  if (review?.status === "held") return "held";
  return "served";
}

/** A new held review of a suspicious version, with the rules that flagged it. */
export function heldReview(rules: readonly string[], now: number): Omit<ReviewRecord, "versionId"> {
  return {
    status: "held",
    reason: `held for review: the scanner flagged it (${rules.join(", ") || "suspicious"})`,
    reviewerId: null,
    createdAt: now,
    decidedAt: null,
    appeal: null,
    appealedAt: null,
  };
}

const isModerator = (p: Principal | undefined) =>
  p?.user.role === "moderator" || p?.user.role === "admin";

const text = (value: unknown, what: string, required: boolean) => {
  const s = typeof value === "string" ? value.trim() : "";
  if (required && s.length === 0) throw new ClawHubError("INVALID_ARGUMENT", `${what} is required`);
  // Hidden and controlling characters would reach the owner's terminal (src/schema).
  if (s.length > MAX_MODERATION_TEXT || hasHiddenCharacters(s))
    throw new ClawHubError(
      "INVALID_ARGUMENT",
      `${what} is at most ${MAX_MODERATION_TEXT} characters of text`,
    );
  return s;
};

/** Options of {@link createModeration}: the store and the service's own lookups. */
export interface ModerationOptions {
  store: RegistryStore;
  blobs: BlobStore;
  scanPool: ScanPool;
  now: () => number;
  requireSkill(
    reader: Principal | undefined,
    slug: string,
    ownerHandle?: string,
  ): Promise<SkillRecord>;
  pickVersion(skill: SkillRecord, sel: { version?: string | undefined }): Promise<VersionRecord>;
  /** Re-reads a skill into the search listing (its availability may have changed). */
  reindex(skill: SkillRecord): Promise<void>;
}

/** The moderation operations. */
export function createModeration(o: ModerationOptions) {
  const { store, now } = o;
  const subject = (skill: SkillRecord, v: VersionRecord) =>
    `@${skill.ownerHandle}/${skill.slug}@${v.version}`;

  /** Tells the owner (a user, or an org's owners) and the version's publisher. */
  async function notify(skill: SkillRecord, v: VersionRecord, kind: string, message: string) {
    const users = new Set<string>([v.publisherId]);
    const org = await store.orgs.orgById(skill.ownerId);
    if (org) {
      for (const m of await store.orgs.members(org.id)) if (m.role === "owner") users.add(m.userId);
    } else {
      users.add(skill.ownerId);
    }
    for (const userId of users)
      await store.reviews.notify({
        id: randomUUID(),
        userId,
        kind,
        subject: subject(skill, v),
        message,
        createdAt: now(),
      });
  }

  async function managed(p: Principal | undefined, sel: Selector) {
    const skill = await o.requireSkill(p, sel.slug, sel.ownerHandle);
    if (!canManage(p, skill))
      throw new ClawHubError("FORBIDDEN", `Forbidden: you do not manage ${skill.slug}`);
    return { skill, version: await o.pickVersion(skill, sel) };
  }

  return {
    notify,

    /** The version's review and what it means for readers (for the skill's moderation view). */
    async stateOf(v: VersionRecord) {
      const [scan, review] = await Promise.all([store.scanOf(v.id), store.reviews.reviewOf(v.id)]);
      return { review, availability: availabilityOf(scan?.verdict, review) };
    },

    /** Held versions and appeals, oldest first (moderators and admins). */
    async queue(p: Principal | undefined, limit = 100) {
      if (!isModerator(p)) throw new ClawHubError("FORBIDDEN", "Forbidden: moderators only");
      const entries = await store.reviews.queue(Math.max(1, Math.min(limit, 500)));
      const out = [];
      for (const e of entries) {
        const scan = await store.scanOf(e.review.versionId);
        out.push({
          slug: e.slug,
          ownerHandle: e.ownerHandle,
          version: e.version,
          status: e.review.status,
          reason: e.review.reason,
          heldAt: e.review.createdAt,
          appeal: e.review.appeal,
          appealedAt: e.review.appealedAt,
          verdict: scan?.verdict ?? null,
          score: scan?.score ?? null,
        });
      }
      return out;
    },

    /** A moderator's decision, with a reason the owner is shown. */
    async decide(
      p: Principal | undefined,
      sel: Selector,
      decision: "approve" | "reject",
      reasonInput: unknown,
    ) {
      if (!isModerator(p) || !p) throw new ClawHubError("FORBIDDEN", "Forbidden: moderators only");
      const reason = text(reasonInput, "a reason", true);
      const skill = await o.requireSkill(p, sel.slug, sel.ownerHandle);
      const v = await o.pickVersion(skill, sel);
      const prior = await store.reviews.reviewOf(v.id);
      const review: ReviewRecord = {
        versionId: v.id,
        status: decision === "approve" ? "approved" : "rejected",
        reason,
        reviewerId: p.user.id,
        createdAt: prior?.createdAt ?? now(),
        decidedAt: now(),
        appeal: prior?.appeal ?? null,
        appealedAt: prior?.appealedAt ?? null,
      };
      await store.reviews.putReview(review);
      await notify(
        skill,
        v,
        `moderation.${review.status}`,
        `${decision === "approve" ? "Approved" : "Rejected"} by a moderator: ${reason}`,
      );
      await o.reindex(skill);
      return { slug: skill.slug, version: v.version, status: review.status, reason };
    },

    /**
     * Scans a version again with this registry's scanner (owners and moderators): a clean
     * verdict releases a held version; anything else keeps (or puts) it on hold.
     */
    async rescan(p: Principal | undefined, sel: Selector) {
      const skill = await o.requireSkill(p, sel.slug, sel.ownerHandle);
      if (!canManage(p, skill) && !isModerator(p))
        throw new ClawHubError("FORBIDDEN", `Forbidden: you do not manage ${skill.slug}`);
      const v = await o.pickVersion(skill, sel);
      const files = [];
      for (const f of await store.filesOf(v.id))
        files.push({ path: f.path, bytes: await o.blobs.get(f.sha256) });
      const report = await scanOnPool(o.scanPool, files);
      await store.putScan({
        versionId: v.id,
        verdict: report.verdict,
        score: report.score,
        engine: report.scanner,
        findings: JSON.stringify(report.findings),
        scannedAt: now(),
      });
      const prior = await store.reviews.reviewOf(v.id);
      const rules = rulesOf(report.findings);
      // A moderator's rejection stands whatever a rescan says; otherwise the new verdict decides.
      if (prior?.status !== "rejected") {
        if (report.verdict === "clean") {
          if (prior)
            await store.reviews.putReview({
              ...prior,
              status: "approved",
              reason: "a rescan found nothing",
              reviewerId: null,
              decidedAt: now(),
            });
        } else if (!(prior?.status === "approved" && prior.reviewerId !== null)) {
          await store.reviews.putReview({
            ...heldReview(rules, now()),
            ...(prior
              ? { createdAt: prior.createdAt, appeal: prior.appeal, appealedAt: prior.appealedAt }
              : {}),
            versionId: v.id,
          });
        }
      }
      const after = await store.reviews.reviewOf(v.id);
      await notify(
        skill,
        v,
        "moderation.rescanned",
        `Rescanned: ${report.verdict}${rules.length ? ` (${rules.join(", ")})` : ""}`,
      );
      await o.reindex(skill);
      return {
        slug: skill.slug,
        version: v.version,
        verdict: report.verdict,
        rules,
        status: availabilityOf(report.verdict, after),
      };
    },

    /** The owner's appeal: the version goes (back) to the moderators' queue with the message. */
    async appeal(p: Principal | undefined, sel: Selector, messageInput: unknown) {
      const { skill, version: v } = await managed(p, sel);
      const message = text(messageInput, "an appeal message", true);
      const [scan, prior] = await Promise.all([store.scanOf(v.id), store.reviews.reviewOf(v.id)]);
      if (availabilityOf(scan?.verdict, prior) === "served")
        throw new ClawHubError("CONFLICT", `${subject(skill, v)} is not held or blocked`);
      await store.reviews.putReview({
        versionId: v.id,
        status: prior?.status ?? "held",
        reason: prior?.reason ?? `blocked: the scanner called it ${scan?.verdict ?? "unscanned"}`,
        reviewerId: prior?.reviewerId ?? null,
        createdAt: prior?.createdAt ?? now(),
        decidedAt: prior?.decidedAt ?? null,
        appeal: message,
        appealedAt: now(),
      });
      return { slug: skill.slug, version: v.version, appealed: true as const };
    },

    /** The caller's notifications, newest first. */
    async notifications(p: Principal, limit = 50) {
      return (
        await store.reviews.notificationsOf(p.user.id, Math.max(1, Math.min(limit, 200)))
      ).map((n) => ({
        kind: n.kind,
        subject: n.subject,
        message: n.message,
        createdAt: n.createdAt,
      }));
    },
  };
}

/** A skill and a version (default: its latest). */
export interface Selector {
  slug: string;
  ownerHandle?: string | undefined;
  version?: string | undefined;
}
