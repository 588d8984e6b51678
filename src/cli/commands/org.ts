import {
  ORG_ROLES,
  type OrgRole,
  type OrgView,
  VISIBILITIES,
  type Visibility,
} from "../../schema/index.ts";
import type { CommandSpec } from "../command.ts";
import { choiceFlag } from "./hub-options.ts";
import { clientFor, skillRef } from "./shared.ts";

const bare = (handle: string) => handle.replace(/^@/, "").toLowerCase();

function membersText(org: OrgView): string {
  const lines = [
    `@${org.handle}${org.displayName ? ` (${org.displayName})` : ""}: new skills are ${org.defaultVisibility} by default`,
  ];
  if (org.members && org.members.length > 0) {
    lines.push("MEMBER                 ROLE");
    for (const m of org.members) lines.push(`@${m.handle.padEnd(21)} ${m.role}`);
  }
  return lines.join("\n");
}

/** `clawhub org create <org>`. */
export const orgCreate: CommandSpec = {
  path: ["org", "create"],
  args: "<org>",
  summary: "create an org (a namespace @org/slug); you become its owner",
  help: "New skills published to the org are visible to its members only, unless\n--default-visibility says otherwise (or the publish gives --visibility).",
  configure(cmd) {
    cmd.option("--name <name>", "display name");
    cmd.option(
      "--default-visibility <v>",
      "visibility of skills first published here without one: public, org or private",
      "org",
    );
  },
  async run([handle = ""], options, ctx) {
    const defaultVisibility = choiceFlag<Visibility>(
      options.defaultVisibility,
      VISIBILITIES,
      "--default-visibility",
    );
    const { org } = await (await clientFor(ctx, { auth: true })).orgs.create(bare(handle), {
      defaultVisibility,
      ...(typeof options.name === "string" ? { displayName: options.name } : {}),
    });
    return {
      data: org,
      text: `OK. Created @${org.handle} (new skills: ${org.defaultVisibility}). Add members: clawhub org add ${org.handle} <user> --role publisher`,
    };
  },
};

/** `clawhub org add <org> <user>`. */
export const orgAdd: CommandSpec = {
  path: ["org", "add"],
  args: "<org> <user>",
  summary: "add a member to an org, or change their role (org owners)",
  help: "Roles: owner (manages members), publisher (publishes to @org and reads its private\nskills), reader (reads the org's org-only skills).",
  configure(cmd) {
    cmd.option("--role <role>", "owner, publisher or reader", "publisher");
  },
  async run([org = "", user = ""], options, ctx) {
    const role = choiceFlag<OrgRole>(options.role, ORG_ROLES, "--role");
    const result = await (await clientFor(ctx, { auth: true })).orgs.setMember(
      bare(org),
      bare(user),
      role,
    );
    return { data: result.org, text: `OK. @${bare(user)} is ${role} of @${result.org.handle}` };
  },
};

/** `clawhub org remove <org> <user>`. */
export const orgRemove: CommandSpec = {
  path: ["org", "remove"],
  args: "<org> <user>",
  summary: "remove a member from an org (org owners; anyone may leave)",
  async run([org = "", user = ""], _options, ctx) {
    const result = await (await clientFor(ctx, { auth: true })).orgs.removeMember(
      bare(org),
      bare(user),
    );
    return {
      data: result.org,
      text: `OK. @${bare(user)} is no longer a member of @${result.org.handle}`,
    };
  },
};

/** `clawhub org list [org]`. */
export const orgList: CommandSpec = {
  path: ["org", "list"],
  args: "[org]",
  summary: "your orgs, or one org's members",
  configure(cmd) {
    cmd.option("--all", "every org of the registry (admins)");
  },
  async run([org], options, ctx) {
    const client = await clientFor(ctx, { auth: true });
    if (org) {
      const result = await client.orgs.show(bare(org));
      return { data: result.org, text: membersText(result.org) };
    }
    const { items } = await client.orgs.list(options.all === true);
    const lines = items.map(
      (o) => `@${o.handle.padEnd(21)} ${(o.role ?? "-").padEnd(10)} ${o.defaultVisibility}`,
    );
    return {
      data: { items },
      text:
        items.length === 0
          ? "No orgs. Create one: clawhub org create <org>"
          : ["ORG                    ROLE       DEFAULT VISIBILITY", ...lines].join("\n"),
    };
  },
};

/** `clawhub visibility <skill> <public|org|private>`. */
export const visibilityCommand: CommandSpec = {
  path: ["visibility"],
  args: "<skill> <visibility>",
  summary: "change who may see a published skill: public, org (members) or private",
  help: "The skill is @owner/slug or a bare slug. private: only those who may publish to the\nnamespace (and admins); org: every member of the owning org.",
  async run([ref = "", value], _options, ctx) {
    const visibility = choiceFlag<Visibility>(value, VISIBILITIES, "visibility");
    const { slug, owner } = skillRef(ref);
    const r = await (await clientFor(ctx, { auth: true })).setVisibility(slug, visibility, owner);
    return { data: r, text: `OK. @${r.ownerHandle}/${r.slug} is ${r.visibility}` };
  },
};
