/**
 * Moderation from the CLI (docs/security.md#moderation): owners see why a version is held or
 * blocked, ask for a rescan, appeal, and read their notifications; moderators work the queue
 * with `clawhub admin moderation queue|approve|reject`.
 */
import { ClawHubError } from "../../errors/index.ts";
import { visibleText } from "../../schema/index.ts";
import type { CommandContext, CommandSpec } from "../command.ts";
import { clientFor } from "./shared.ts";

async function target(ctx: CommandContext, spec: string) {
  const { parseSkillRef } = await import("../../install/index.ts");
  const ref = parseSkillRef(spec);
  if (!ref.slug)
    throw new ClawHubError("USAGE", "name a skill: slug or @owner/slug, @version optional");
  const sel = {
    ...(ref.selector ? { version: ref.selector } : {}),
    ...(ref.ownerHandle ? { ownerHandle: ref.ownerHandle } : {}),
  };
  return { slug: ref.slug, sel, client: await clientFor(ctx, { auth: true }) };
}

const when = (ms: number | null) => (ms === null ? "" : new Date(ms).toISOString());

/** `clawhub moderation status <skill[@version]>`. */
export const moderationStatus: CommandSpec = {
  path: ["moderation", "status"],
  args: "<skill>",
  summary: "why a version of your skill is held or blocked: every finding, the review, the appeal",
  async run([spec = ""], _options, ctx) {
    const { slug, sel, client } = await target(ctx, spec);
    const { moderation: m } = await client.moderation.status(slug, sel);
    const lines = [
      `${slug}${sel.version ? `@${sel.version}` : ""}: ${m.availability} (scanner: ${m.verdict})`,
      `  ${visibleText(m.summary)}`,
      ...(m.review
        ? [
            `  review: ${m.review.status}: ${visibleText(m.review.reason)}${m.review.decidedAt ? ` (${when(m.review.decidedAt)})` : ""}`,
            ...(m.review.appeal
              ? [`  appeal: ${visibleText(m.review.appeal)} (${when(m.review.appealedAt)})`]
              : []),
          ]
        : []),
      ...m.evidence.map(
        (f) =>
          `  ${f.severity.padEnd(8)} ${f.rule}  ${visibleText(f.file)}${f.line ? `:${f.line}` : ""}\n           ${visibleText(f.evidence)}\n           ${visibleText(f.explanation)}`,
      ),
    ];
    return { data: m, text: lines.join("\n") };
  },
};

/** `clawhub moderation rescan <skill[@version]>`. */
export const moderationRescan: CommandSpec = {
  path: ["moderation", "rescan"],
  args: "<skill>",
  summary: "scan a version of your skill again: a clean verdict releases a held version",
  async run([spec = ""], _options, ctx) {
    const { slug, sel, client } = await target(ctx, spec);
    const r = await client.moderation.rescan(slug, sel);
    return {
      data: r,
      text: `${r.slug}@${r.version}: ${r.verdict}${r.rules.length ? ` (${r.rules.join(", ")})` : ""}; now ${r.status}`,
    };
  },
};

/** `clawhub moderation appeal <skill[@version]> --message <text>`. */
export const moderationAppeal: CommandSpec = {
  path: ["moderation", "appeal"],
  args: "<skill>",
  summary: "appeal a held or blocked version: your message goes to the moderators' queue",
  configure(cmd) {
    cmd.requiredOption("--message <text>", "why the version is safe (moderators read it)");
  },
  async run([spec = ""], options, ctx) {
    const { slug, sel, client } = await target(ctx, spec);
    const r = await client.moderation.appeal(slug, sel, String(options.message));
    return { data: r, text: `Appealed ${r.slug}@${r.version}; a moderator will decide.` };
  },
};

/** `clawhub moderation notifications`. */
export const moderationNotifications: CommandSpec = {
  path: ["moderation", "notifications"],
  summary: "what moderators and rescans decided about your versions, newest first",
  async run(_args, _options, ctx) {
    const client = await clientFor(ctx, { auth: true });
    const { items } = await client.moderation.notifications();
    return {
      data: { items },
      text:
        items
          .map(
            (n) =>
              `${when(n.createdAt)}  ${visibleText(n.subject)}  ${n.kind}\n  ${visibleText(n.message)}`,
          )
          .join("\n") || "No notifications.",
    };
  },
};

/** `clawhub admin moderation queue`. */
export const adminModerationQueue: CommandSpec = {
  path: ["admin", "moderation", "queue"],
  summary: "held versions and appeals, oldest first (moderators and admins)",
  configure(cmd) {
    cmd.option("--limit <n>", "entries", "100");
  },
  async run(_args, options, ctx) {
    const client = await clientFor(ctx, { auth: true });
    const { items } = await client.moderation.queue(Number(options.limit) || 100);
    return {
      data: { items },
      text:
        items
          .map(
            (i) =>
              `@${i.ownerHandle}/${i.slug}@${i.version}  ${i.status}  scanner: ${i.verdict ?? "not scanned"} (${i.score ?? "-"})\n  ${visibleText(i.reason)}${i.appeal ? `\n  appeal: ${visibleText(i.appeal)}` : ""}`,
          )
          .join("\n") || "The queue is empty.",
    };
  },
};

const decision = (kind: "approve" | "reject"): CommandSpec => ({
  path: ["admin", "moderation", kind],
  args: "<skill>",
  summary:
    kind === "approve"
      ? "serve a held or blocked version (a false alarm), with a reason the owner sees"
      : "block a version for good, with a reason the owner sees",
  configure(cmd) {
    cmd.requiredOption("--reason <text>", "why (shown to the owner)");
  },
  async run([spec = ""], options, ctx) {
    const { slug, sel, client } = await target(ctx, spec);
    const r = await client.moderation.decide(slug, sel, kind, String(options.reason));
    return { data: r, text: `${r.slug}@${r.version}: ${r.status}.` };
  },
});

/** `clawhub admin moderation approve <skill[@version]> --reason <text>`. */
export const adminModerationApprove = decision("approve");
/** `clawhub admin moderation reject <skill[@version]> --reason <text>`. */
export const adminModerationReject = decision("reject");
