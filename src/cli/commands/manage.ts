/**
 * Managing published skills from the CLI, as the official CLI does: delete / undelete (soft),
 * star / unstar, and tags. Hiding is `clawhub visibility <skill> private` here (see --help).
 */
import { ClawHubError } from "../../errors/index.ts";
import type { CommandContext, CommandSpec } from "../command.ts";
import { clientFor, skillRef } from "./shared.ts";

/**
 * Destructive commands ask on a terminal and take --yes; without a terminal they refuse unless
 * --yes is given, so a script never deletes by accident (npm, cargo yank and gh do the same).
 */
async function confirmed(ctx: CommandContext, options: Record<string, unknown>, question: string) {
  if (options.yes === true) return;
  if (!ctx.io.confirm)
    throw new ClawHubError("USAGE", `${question} Refusing without a terminal to ask on.`, {
      hint: "Pass --yes to confirm.",
    });
  if (!(await ctx.io.confirm(`${question} [y/N] `)))
    throw new ClawHubError("CANCELLED", "Nothing changed.");
}

const yesOption = (cmd: import("commander").Command) =>
  cmd.option("-y, --yes", "do not ask for confirmation");

/** `clawhub delete <skill>`. */
export const deleteCommand: CommandSpec = {
  path: ["delete"],
  args: "<skill>",
  summary:
    "soft-delete a published skill (owner or admin): it stops resolving; undelete restores it",
  help:
    "The skill and its versions stay stored: search, resolve, download and install stop finding\n" +
    "it, installed copies stay where they are, and `clawhub undelete` brings it back. Asks on a\n" +
    "terminal; --yes confirms (required without a terminal).",
  configure: yesOption,
  async run([ref = ""], options, ctx) {
    const s = skillRef(ref);
    await confirmed(ctx, options, `Delete ${s.name} from ${ctx.config.registry}?`);
    const r = await (await clientFor(ctx, { auth: true })).remove(s.slug, s.owner);
    return { data: r, text: `OK. Deleted ${s.name} (clawhub undelete ${s.name} restores it)` };
  },
};

/** `clawhub undelete <skill>`. */
export const undeleteCommand: CommandSpec = {
  path: ["undelete"],
  args: "<skill>",
  summary: "restore a soft-deleted skill (owner or admin)",
  async run([ref = ""], _options, ctx) {
    const s = skillRef(ref);
    const r = await (await clientFor(ctx, { auth: true })).undelete(s.slug, s.owner);
    return { data: r, text: `OK. Restored ${s.name}` };
  },
};

/** `clawhub star <skill>` / `clawhub unstar <skill>`. */
export const starCommand: CommandSpec = {
  path: ["star"],
  args: "<skill>",
  summary: "star a skill (your stars count in listings and ranking)",
  async run([ref = ""], _options, ctx) {
    const s = skillRef(ref);
    const r = await (await clientFor(ctx, { auth: true })).star(s.slug, true, s.owner);
    return {
      data: r,
      text: r.alreadyStarred ? `${s.name} was already starred` : `OK. Starred ${s.name}`,
    };
  },
};

export const unstarCommand: CommandSpec = {
  path: ["unstar"],
  args: "<skill>",
  summary: "remove your star from a skill",
  async run([ref = ""], _options, ctx) {
    const s = skillRef(ref);
    const r = await (await clientFor(ctx, { auth: true })).star(s.slug, false, s.owner);
    return {
      data: r,
      text: r.alreadyUnstarred ? `${s.name} was not starred` : `OK. Unstarred ${s.name}`,
    };
  },
};

/** `clawhub tag <skill> <tag> <version>`. */
export const tagCommand: CommandSpec = {
  path: ["tag"],
  args: "<skill> <tag> <version>",
  summary: "point a tag (latest, beta, stable...) at a published version (publishers)",
  help:
    "Installs and updates resolve `<skill>@<tag>`; moving `latest` changes what a bare install\n" +
    "gets. Moving a tag to another version asks on a terminal; --yes confirms.",
  configure: yesOption,
  async run([ref = "", tag = "", version = ""], options, ctx) {
    const s = skillRef(ref);
    if (!tag || !version)
      throw new ClawHubError("USAGE", "usage: clawhub tag <skill> <tag> <version>");
    const client = await clientFor(ctx, { auth: true });
    const detail = await client.skill(s.slug, s.owner);
    const tags = detail.skill?.tags ?? {};
    const current = Object.hasOwn(tags, tag) ? tags[tag] : undefined;
    if (current && current !== version)
      await confirmed(ctx, options, `Move ${s.name}'s tag "${tag}" from ${current} to ${version}?`);
    const r = await client.setTag(s.slug, tag, version, s.owner);
    return {
      data: r,
      text: `OK. ${s.name}@${r.tag} -> ${r.version}${current && current !== r.version ? ` (was ${current})` : ""}`,
    };
  },
};
