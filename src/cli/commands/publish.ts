import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import semver from "semver";
import type { RegistryClient } from "../../client/index.ts";
import { ClawHubError } from "../../errors/index.ts";
import { readOrigin } from "../../install/index.ts";
import { VISIBILITIES, type Visibility } from "../../schema/index.ts";
import { findSkillDirs, packSkill, sha512HexOf, templateDescription } from "../../skill/index.ts";
import type { CommandContext, CommandSpec } from "../command.ts";
import { choiceFlag } from "./hub-options.ts";
import { clientFor } from "./shared.ts";

interface PublishOptions {
  version?: string | undefined;
  slug?: string | undefined;
  name?: string | undefined;
  changelog?: string | undefined;
  tags?: string[] | undefined;
  owner?: string | undefined;
  visibility?: Visibility | undefined;
  dryRun?: boolean;
  strict?: boolean;
  /** The caller's handle, when already known (sync asks once). */
  me?: string | undefined;
  /** Sign with this key (id or PEM file); false: do not sign. Default: the default key. */
  key?: string | false | undefined;
}

/** A warning of a publish: the validator's lenient-mode findings, and an unedited template. */
interface PublishWarning {
  rule: string;
  message: string;
  file: string;
  line?: number;
}

/**
 * Publishes one folder: packs it locally (lenient validation, limits, ignore rules), asks the
 * registry whether this exact content is already a version (fingerprint), and publishes the
 * files with multipart otherwise. Without --version: the next patch of the latest, or 1.0.0.
 */
async function publishFolder(ctx: CommandContext, dir: string, opts: PublishOptions) {
  // --strict: the Agent Skills spec's rules, refusing what lenient mode only warns about.
  const packed = await packSkill(dir, opts.strict ? { mode: "strict" } : {});
  const warnings: PublishWarning[] = packed.issues
    .filter((i) => i.severity === "warning")
    .map((i) => ({
      rule: i.rule,
      message: i.message,
      file: i.file,
      ...(i.line !== undefined ? { line: i.line } : {}),
    }));
  if (packed.manifest.description === templateDescription(packed.manifest.name))
    warnings.unshift({
      rule: "description.template",
      message:
        "the description is still the `skill init` template: say what the skill does and when to use it (search and agents rely on it)",
      file: "SKILL.md",
    });
  // `--slug @org/name` names the namespace too (the same as `--owner org --slug name`).
  const scoped = opts.slug ? /^@([^/]+)\/(.+)$/.exec(opts.slug) : null;
  // Slugs are lowercase everywhere: `--slug PDF-Tools` publishes (and later finds) pdf-tools.
  const slug = (scoped ? (scoped[2] as string) : (opts.slug ?? packed.manifest.slug)).toLowerCase();
  const ownerHandle = (scoped?.[1] ?? opts.owner)?.replace(/^@/, "").toLowerCase();
  opts = { ...opts, owner: ownerHandle };
  const client = await clientFor(ctx, { auth: !opts.dryRun });
  // The next version is per owner: without --owner, look at the caller's own skill of this
  // slug, never another owner's skill that happens to share it.
  const me =
    opts.me ?? (opts.dryRun && !ctx.config.token ? undefined : (await client.whoami()).user.handle);
  const namespace = opts.owner ?? me ?? undefined;
  const resolved = await client
    .resolve(slug, packed.fingerprint, namespace)
    .catch((error: unknown) => {
      if (error instanceof ClawHubError && error.code === "NOT_FOUND")
        return { match: null, latestVersion: null };
      throw error;
    });
  if (resolved.match && !opts.version && !opts.visibility) {
    return {
      slug,
      version: resolved.match.version,
      status: "unchanged" as const,
      fingerprint: packed.fingerprint,
      warnings,
    };
  }
  const latest = resolved.latestVersion?.version;
  const version =
    opts.version ?? (latest ? semver.inc(latest, "patch") : (packed.manifest.version ?? "1.0.0"));
  if (!version || !semver.valid(version))
    throw new ClawHubError("INVALID_ARGUMENT", `--version must be valid semver, got "${version}"`);
  if (opts.dryRun)
    return {
      slug,
      version,
      status: "would-publish" as const,
      fingerprint: packed.fingerprint,
      warnings,
    };
  const signed = await signPublish(ctx, client, opts.key, {
    owner: namespace ?? "",
    slug,
    version,
    zip: packed.zip,
    integrity: packed.integrity,
    fingerprint: packed.fingerprint,
  });
  const result = await client.publish(
    {
      ...(signed ? { attestation: signed.envelope } : {}),
      slug,
      version,
      ...(opts.name ? { displayName: opts.name } : {}),
      ...(opts.changelog ? { changelog: opts.changelog } : {}),
      ...(opts.tags ? { tags: opts.tags } : {}),
      ...(opts.owner ? { ownerHandle: opts.owner } : {}),
      ...(opts.visibility ? { visibility: opts.visibility } : {}),
    },
    packed.contents,
  );
  return {
    slug,
    version: result.version,
    status: "published" as const,
    fingerprint: packed.fingerprint,
    signedWith: signed?.keyId ?? null,
    availability: result.moderation?.availability ?? "served",
    ...(result.moderation?.rules ? { flaggedRules: result.moderation.rules } : {}),
    warnings,
  };
}

/**
 * The publisher's signature over the version's in-toto statement, with the signing key chosen
 * (`--key`, else the default key of `clawhub keys`); none without a key, or when the registry
 * keeps no transparency log (its statements name the log). The registry checks it names this
 * very archive, which it rebuilds byte for byte from the same files.
 */
async function signPublish(
  ctx: CommandContext,
  client: RegistryClient,
  chosen: string | false | undefined,
  v: {
    owner: string;
    slug: string;
    version: string;
    zip: Buffer;
    integrity: string;
    fingerprint: string;
  },
) {
  if (chosen === false) return undefined;
  const { signingKey } = await import("./keys.ts");
  const signer = await signingKey(ctx, chosen);
  if (!signer) return undefined;
  const info = await client.log.info().catch((error: unknown) => {
    if (error instanceof ClawHubError && error.code === "NOT_FOUND") return undefined;
    throw error;
  });
  if (!info) return undefined;
  const { createEnvelope, publishStatement } = await import("../../trust/index.ts");
  const statement = publishStatement({
    registry: info.origin,
    owner: v.owner,
    slug: v.slug,
    version: v.version,
    sha256: createHash("sha256").update(v.zip).digest("hex"),
    sha512: sha512HexOf(v.integrity) ?? "",
    fingerprint: v.fingerprint,
    publisherKeyId: signer.id,
    publishedAt: new Date(ctx.now()).toISOString(),
  });
  return { keyId: signer.id, envelope: createEnvelope(statement, [signer.key]) };
}

/** Warning lines for humans, one per finding. */
function warningLines(warnings: readonly PublishWarning[]): string[] {
  return warnings.map(
    (w) =>
      `warning: ${w.file}${w.line !== undefined ? `:${w.line}` : ""}: ${w.message} [${w.rule}]`,
  );
}

const csv = (v: unknown) =>
  typeof v === "string"
    ? v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

/** `clawhub skill publish <dir>` (alias `clawhub publish`). */
export const publishCommand: CommandSpec = {
  path: ["skill", "publish"],
  args: "<dir>",
  summary: "publish a skill folder as a new version",
  help: "Without --version: the next patch of the latest published version (or 1.0.0); content that is\nalready published (same fingerprint) is reported as unchanged.",
  configure(cmd) {
    cmd.option("--version <semver>", "version to publish");
    cmd.option("--slug <slug>", "slug (default: from the folder)");
    cmd.option("--name <name>", "display name");
    cmd.option("--changelog <text>", "what changed");
    cmd.option("--tags <list>", "comma-separated tags", "latest");
    cmd.option(
      "--owner <handle>",
      "namespace to publish to: an org you publish for (admins: any user)",
    );
    cmd.option(
      "--visibility <v>",
      "public, org (members of the owning org) or private (those who may publish there); default: kept, or the namespace's default for a new skill",
    );
    cmd.option("--dry-run", "show what would be published");
    cmd.option(
      "--key <keyId|file>",
      "sign with this key (default: the one `clawhub keys generate` made, if any)",
    );
    cmd.option("--no-sign", "publish without a publisher signature (the registry still signs)");
    cmd.option(
      "--strict",
      "validate with the Agent Skills spec's strict rules (warnings become errors)",
    );
  },
  async run([dir = "."], options, ctx) {
    const r = await publishFolder(ctx, resolve(ctx.cwd, dir), {
      version: options.version as string | undefined,
      slug: options.slug as string | undefined,
      name: options.name as string | undefined,
      changelog: options.changelog as string | undefined,
      tags: csv(options.tags),
      owner: options.owner as string | undefined,
      visibility:
        options.visibility === undefined
          ? undefined
          : choiceFlag<Visibility>(options.visibility, VISIBILITIES, "--visibility"),
      dryRun: options.dryRun === true,
      strict: options.strict === true,
      key: options.sign === false ? false : (options.key as string | undefined),
    });
    const text =
      r.status === "unchanged"
        ? `OK. ${r.slug}@${r.version} is already published`
        : r.status === "would-publish"
          ? `Would publish ${r.slug}@${r.version}`
          : `OK. Published ${r.slug}@${r.version}${"signedWith" in r && r.signedWith ? ` (signed with key ${r.signedWith.slice(0, 16)})` : ""}${"availability" in r && r.availability !== "served" ? `\n${r.availability === "held" ? "Held for review: the scanner flagged it" : "Blocked: the scanner found malware in it"}${"flaggedRules" in r && r.flaggedRules ? ` (${r.flaggedRules.join(", ") || "suspicious"})` : ""}. Others are not served it unless a moderator approves it; \`clawhub moderation status ${r.slug}@${r.version}\` shows why.` : ""}`;
    return { data: r, text: [text, ...warningLines(r.warnings)].join("\n") };
  },
};

/** `clawhub publish <dir>`: the official CLI's legacy alias of `skill publish`. */
export const publishAlias: CommandSpec = {
  ...publishCommand,
  path: ["publish"],
  summary: "alias of `skill publish`",
};

/** `clawhub sync`: publishes every new or changed skill under the roots. */
export const syncCommand: CommandSpec = {
  path: ["sync"],
  summary: "publish new or changed local skills (unchanged ones are recognised by fingerprint)",
  configure(cmd) {
    cmd.option("--root <dir...>", "folders to scan (default: <workdir>/<dir>)");
    cmd.option("--dry-run", "only report what would be published");
    cmd.option("--all", "accepted for compatibility with the official CLI");
    cmd.option("--bump <level>", "patch|minor|major for changed skills", "patch");
  },
  async run(_args, options, ctx) {
    const roots = Array.isArray(options.root)
      ? options.root.map((r) => resolve(ctx.cwd, String(r)))
      : [join(ctx.config.workdir, ctx.config.dir)];
    for (const r of roots)
      await readdir(r).catch(() => {
        throw new ClawHubError("NOT_FOUND", `no such folder: ${r}`);
      });
    const dirs = await findSkillDirs(roots);
    const client = await clientFor(ctx, { auth: options.dryRun !== true });
    const me =
      options.dryRun === true && !ctx.config.token
        ? undefined
        : (await client.whoami()).user.handle;
    const results = [];
    for (const dir of dirs) {
      // A skill installed from another owner's namespace is theirs: never republished as ours.
      const origin = await readOrigin(dir);
      if (origin?.ownerHandle && origin.ownerHandle !== me) {
        results.push({
          dir,
          slug: origin.slug,
          version: origin.installedVersion,
          status: "skipped" as const,
          reason: `installed from @${origin.ownerHandle}`,
        });
        continue;
      }
      try {
        results.push({
          dir,
          ...(await publishFolder(ctx, dir, {
            dryRun: options.dryRun === true,
            me: me ?? undefined,
          })),
        });
      } catch (error) {
        if (!(error instanceof ClawHubError)) throw error;
        results.push({ dir, status: "failed" as const, error: error.message });
      }
    }
    const lines = results.map((r) =>
      "error" in r
        ? `failed     ${r.dir}: ${r.error}`
        : `${r.status.padEnd(10)} ${r.slug}@${r.version}${"reason" in r ? ` (${r.reason})` : ""}`,
    );
    const failed = results.filter((r) => r.status === "failed").length;
    return {
      data: { results },
      text: lines.join("\n") || "No skills found.",
      exitCode: failed > 0 ? 1 : 0,
    };
  },
};
