import { ClawHubError } from "../../errors/index.ts";
import type { InstallOutcome } from "../../install/index.ts";
import type { CommandSpec } from "../command.ts";
import { table } from "../output.ts";
import { clientFor, collect, installerFor, logStateDir, trustOf } from "./shared.ts";

const AGENT_HELP =
  "--agent <name> (repeatable: openclaw, claude, codex, cursor, agents, gemini, copilot, windsurf,\n" +
  "opencode, goose, amp, roo, kiro) installs the canonical copy into .agents/skills and symlinks it\n" +
  "into each agent's skills directory (--copy copies instead; OpenClaw always gets a copy, it\n" +
  "refuses symlinks). Naming a new agent for an installed skill adds it; --force with another set\n" +
  "of agents removes the dropped agents' copies. --global uses the user's directories instead.";

function withScope(cmd: import("commander").Command): void {
  cmd.option("--agent <name>", "install for this agent (repeatable)", collect, []);
  cmd.option("--global", "use the user-level skill directories");
  cmd.option("--copy", "copy into agent directories instead of symlinking");
}

/** `--trust`: what the transparency log check requires (src/install/attest.ts). */
function withTrust(cmd: import("commander").Command): void {
  cmd.option(
    "--trust <level>",
    "registry (default: the registry's signature and log inclusion) or publisher (also the publisher's own signature)",
  );
}

function describe(o: InstallOutcome): string {
  const what = `${o.key}${o.version ? `@${o.version}` : ""}`;
  if (o.status === "up-to-date") return `${what} is up to date${o.reason ? ` (${o.reason})` : ""}`;
  if (o.status === "skipped") return `${o.key} skipped: ${o.reason ?? ""}`;
  if (o.status === "would-update")
    return o.version === o.previousVersion
      ? `${o.key}@${o.version} would be reinstalled (${o.reason ?? "forced"})`
      : `${o.key} would update ${o.previousVersion ?? "?"} -> ${o.version}${o.majorJump ? " (a new major version)" : ""}`;
  const verb =
    o.status === "updated"
      ? `Updated ${o.key} ${o.previousVersion ?? "?"} -> ${o.version}${o.majorJump ? " (a new major version: read its changelog, it may break what used it)" : ""}`
      : o.status === "linked"
        ? `Added agents for ${what}`
        : `Installed ${what}`;
  const extra = [
    o.attested
      ? `log #${o.attested.logIndex}${o.attested.pinned ? ", log key pinned" : ""}`
      : o.attested === null
        ? "integrity only: the registry keeps no transparency log"
        : "",
    o.cached ? "from cache" : "",
    ...o.links.map((l) => `linked ${l}`),
    ...o.copies.map((l) => `copied to ${l}`),
    ...(o.removed ?? []).map((l) => `removed ${l}`),
  ].filter(Boolean);
  return `${verb} -> ${o.path}${extra.length ? ` (${extra.join("; ")})` : ""}`;
}

/** An abort signal for Ctrl-C: the installer stops and removes its staging folder. */
function interrupt(ctx: import("../command.ts").CommandContext): AbortSignal {
  const ac = new AbortController();
  void ctx.waitForShutdown().then(() => ac.abort());
  return ac.signal;
}

/** `clawhub install <skill...>`. */
export const installCommand: CommandSpec = {
  path: ["install"],
  args: "[skill...]",
  summary: "install skills: slug, @owner/slug, with @1.2.3, @^1.2 or @tag; none: the lockfile's",
  help: `Archives are verified (sha512 integrity) before a safe extraction, and cached by hash:\ninstalling the same version again downloads nothing. Without names, installs exactly what\n.clawhub/lock.json records (like npm ci): each archive must match the recorded integrity.\nWhere the registry keeps a transparency log, each archive must also be the one its signed\nstatement names, in the log, under a checkpoint consistent with the last one seen (exit 4\notherwise; docs/security.md#transparency-log).\n${AGENT_HELP}`,
  configure(cmd) {
    cmd.option("-f, --force", "reinstall over an existing install");
    withTrust(cmd);
    withScope(cmd);
  },
  async run(specs, options, ctx) {
    const progress = ctx.progress();
    const outcomes = await (
      await installerFor(ctx, { ...options, signal: interrupt(ctx) })
    ).install(specs, {
      force: options.force === true,
      onProgress: (done, total, label) => progress.update(done, total, label),
    });
    progress.done();
    return { data: { installed: outcomes }, text: outcomes.map(describe).join("\n") };
  },
};

/** `clawhub update [skill] [--all]`. */
export const updateCommand: CommandSpec = {
  path: ["update"],
  args: "[skill]",
  summary: "update installed skills to their latest version (refuses to overwrite local changes)",
  help: "Local changes are detected by fingerprint; --force overwrites them. Pinned skills are skipped.",
  configure(cmd) {
    cmd.option("--all", "update every installed skill");
    cmd.option("--version <version>", "update one skill to this version, range or tag");
    cmd.option("-f, --force", "overwrite local modifications");
    cmd.option("--dry-run", "say what would change; download and write nothing");
    withTrust(cmd);
    withScope(cmd);
  },
  async run([key], options, ctx) {
    const outcomes = await (await installerFor(ctx, { ...options, signal: interrupt(ctx) })).update(
      {
        ...(key ? { key } : {}),
        all: options.all === true,
        ...(typeof options.version === "string" ? { version: options.version } : {}),
        force: options.force === true,
        dryRun: options.dryRun === true,
      },
    );
    return {
      data: { ...(options.dryRun === true ? { dryRun: true } : {}), updated: outcomes },
      text: outcomes.map(describe).join("\n") || "Nothing installed.",
    };
  },
};

/** `clawhub uninstall <skill>`. */
export const uninstallCommand: CommandSpec = {
  path: ["uninstall"],
  args: "<skill>",
  summary: "remove an installed skill, its agent links and its lock entry",
  configure(cmd) {
    cmd.option(
      "-y, --yes",
      "accepted for compatibility with the official CLI (no prompt is shown)",
    );
    withScope(cmd);
  },
  async run([key = ""], options, ctx) {
    const result = await (await installerFor(ctx, options)).uninstall(key);
    return { data: result, text: `Uninstalled ${result.key}` };
  },
};

/** `clawhub list`. */
export const listCommand: CommandSpec = {
  path: ["list"],
  summary: "list installed skills (from .clawhub/lock.json)",
  configure(cmd) {
    cmd.option("--global", "the user-level lockfile");
  },
  async run(_args, options, ctx) {
    const lock = await (await installerFor(ctx, options)).list();
    const rows = Object.entries(lock.skills).map(([key, e]) => [
      key,
      e.version ?? "-",
      e.agents?.join(",") || "-",
      e.pinned ? `pinned${e.pinReason ? `: ${e.pinReason}` : ""}` : "",
    ]);
    return {
      data: lock,
      text:
        rows.length > 0
          ? table([["SKILL", "VERSION", "AGENTS", "PINNED"], ...rows])
          : "No skills installed.",
    };
  },
};

/** `clawhub outdated`. */
export const outdatedCommand: CommandSpec = {
  path: ["outdated"],
  summary: "list installed skills with their installed and latest versions",
  help:
    "One row per installed skill: the version installed, the registry's latest, and whether an\n" +
    "update would move it (pinned skills are marked; update skips them). Exit 0; with\n" +
    "--exit-code, exit 1 when anything is outdated (for CI).",
  configure(cmd) {
    cmd.option("--global", "the user-level lockfile");
    cmd.option("--exit-code", "exit 1 when a skill is outdated");
  },
  async run(_args, options, ctx) {
    const rows = await (await installerFor(ctx, options)).outdated();
    const stale = rows.filter((r) => r.status === "outdated");
    const shown = rows.map((r) => [
      r.key,
      r.installed ?? "-",
      r.latest ?? "-",
      r.status === "outdated" && r.majorJump ? "outdated (major)" : r.status,
      r.pinned ? "pinned" : "",
    ]);
    return {
      data: { outdated: stale.length, skills: rows },
      text:
        rows.length === 0
          ? "No skills installed."
          : `${table([["SKILL", "INSTALLED", "LATEST", "STATUS", ""], ...shown])}\n${
              stale.length === 0
                ? "Everything is up to date."
                : `${stale.length} outdated: clawhub update --all (--dry-run shows what it would do)`
            }`,
      exitCode: options.exitCode === true && stale.length > 0 ? 1 : 0,
    };
  },
};

/** `clawhub verify [skill...]`. */
export const verifyCommand: CommandSpec = {
  path: ["verify"],
  args: "[skill...]",
  summary:
    "check every installed copy, for every agent, against what was installed (exit 4 if not)",
  help:
    "Re-hashes each installed skill (all of them without names) and every copy and link the\n" +
    "installer made for its agents, file by file, against the digests recorded at install time\n" +
    "(origin.json's file list when the lockfile's fileTreeSha256 vouches for it, else the archive\n" +
    "the lockfile's integrity names). Exit 0 when all are intact; exit 4 naming each changed,\n" +
    "added or missing file and the copy it is in.\n" +
    "--scan also runs the scanner (as `clawhub scan`) over every installed folder and copy (links\n" +
    "lead to the canonical folder) and prints each verdict; a malicious one exits 4 as well.\n" +
    "Each skill installed from a registry that keeps a transparency log is also checked against\n" +
    "it (the lockfile's digests: signature, statement, inclusion, consistency with the last\n" +
    "checkpoint seen); a failure exits 4. --no-log skips that check (it needs the registry).\n" +
    "--published checks published versions instead (slug, @owner/slug, with @version): each is\n" +
    "downloaded and checked as an install would check it, without installing it.",
  configure(cmd) {
    cmd.option("--global", "the user-level lockfile");
    cmd.option(
      "--scan",
      "also scan every installed folder and copy for malware (exit 4 if malicious)",
    );
    cmd.option("--no-log", "skip the transparency log check (works offline)");
    cmd.option(
      "--published",
      "verify published versions instead (skill[@version]): download, digests, signatures, log",
    );
    withTrust(cmd);
  },
  async run(keys, options, ctx) {
    if (options.published === true) return verifyPublished(ctx, keys, options);
    const { describeCopies } = await import("../../install/index.ts");
    const installer = await installerFor(ctx, options);
    const checks = await installer.verify(keys);
    const logChecks = options.log === false ? [] : await installer.attest(keys);
    const logLines = (key: string) =>
      logChecks
        .filter((l) => l.key === key)
        .map((l) =>
          l.status === "ok"
            ? `  log: #${l.attested?.logIndex} signed by the ${l.attested?.signedBy.join(" and ")}, in the checkpoint of ${l.attested?.checkpointSize}`
            : l.status === "failed"
              ? `  log: FAILED ${l.reason}`
              : `  log: not checked (${l.reason})`,
        );
    // Every real folder of every skill: the canonical one and agents' copies (links lead back
    // to the canonical folder; a missing copy has nothing to read).
    const scans: Array<{ key: string; path: string; verdict: string; rules: string[] }> = [];
    if (options.scan) {
      const { rulesOf, scanDirectory } = await import("../../trust/index.ts");
      for (const c of checks)
        for (const copy of c.copies) {
          if (copy.kind === "link" || copy.problem) continue;
          const report = await scanDirectory(copy.path);
          const rules = rulesOf(report.findings);
          scans.push({ key: c.key, path: copy.path, verdict: report.verdict, rules });
        }
    }
    const scanLines = (key: string) =>
      scans
        .filter((s) => s.key === key)
        .map(
          (s) =>
            `  scan: ${s.verdict} ${s.path}${s.rules.length ? ` (${s.rules.join(", ")})` : ""}`,
        );
    const lines = checks.flatMap((c) =>
      c.ok
        ? [
            `ok       ${c.key}@${c.version ?? "?"} (${c.copies.length} ${c.copies.length === 1 ? "copy" : "copies"})`,
            ...logLines(c.key),
            ...scanLines(c.key),
          ]
        : [
            `MODIFIED ${c.key}@${c.version ?? "?"}`,
            ...describeCopies(c.copies).map((l) => `  ${l}`),
            ...logLines(c.key),
            ...scanLines(c.key),
          ],
    );
    const malicious = scans.filter((s) => s.verdict === "malicious").length;
    const unlogged = logChecks.filter((l) => l.status === "failed").length;
    const bad = checks.filter((c) => !c.ok).length;
    return {
      data: {
        ok: bad === 0 && malicious === 0 && unlogged === 0,
        skills: checks,
        ...(options.log === false ? {} : { log: logChecks }),
        ...(options.scan ? { scans } : {}),
      },
      text:
        checks.length === 0
          ? "No skills installed."
          : `${lines.join("\n")}\n${bad === 0 ? `${checks.length} verified, all intact.` : `${bad} of ${checks.length} modified.`}${unlogged > 0 ? ` ${unlogged} failed the transparency log check.` : ""}${options.scan ? ` ${scans.length} folders scanned, ${malicious} malicious.` : ""}`,
      exitCode: bad === 0 && malicious === 0 && unlogged === 0 ? 0 : 4,
    };
  },
};

/**
 * `clawhub verify --published <skill[@version]>...`: a published version checked as an install
 * would check it (archive digests, registry and publisher signatures, inclusion, consistency
 * with the last checkpoint seen), without installing it. Exit 4 when one fails.
 */
async function verifyPublished(
  ctx: import("../command.ts").CommandContext,
  specs: readonly string[],
  options: Record<string, unknown>,
) {
  const { createFileWitness, parseSkillRef, verifyAttested } = await import(
    "../../install/index.ts"
  );
  const { integrityOf } = await import("../../skill/index.ts");
  const { createHash } = await import("node:crypto");
  if (specs.length === 0) throw new ClawHubError("USAGE", "name the published skills to verify");
  const trust = await trustOf(options);
  const client = await clientFor(ctx);
  const witness = createFileWitness(logStateDir(ctx));
  const results = [];
  for (const spec of specs) {
    const ref = parseSkillRef(spec);
    const owner = ref.ownerHandle ?? "";
    const { version } = await client.resolveSelector(
      ref.slug,
      ref.selector ?? "latest",
      owner || undefined,
    );
    const got = await client.download(ref.slug, {
      version,
      ...(owner ? { ownerHandle: owner } : {}),
    });
    try {
      const attested = await verifyAttested({
        client,
        witness,
        slug: ref.slug,
        owner,
        version,
        archive: {
          sha256: createHash("sha256").update(got.bytes).digest("hex"),
          integrity: integrityOf(got.bytes),
        },
        trust,
      });
      results.push({ skill: `${ref.slug}@${version}`, ok: true, attested: attested ?? null });
    } catch (error) {
      if (!(error instanceof ClawHubError && error.code === "VERIFICATION_FAILED")) throw error;
      results.push({ skill: `${ref.slug}@${version}`, ok: false, reason: error.message });
    }
  }
  const failed = results.filter((r) => !r.ok).length;
  return {
    data: { ok: failed === 0, published: results },
    text: results
      .map((r) =>
        r.ok
          ? `ok       ${r.skill}${r.attested ? ` (log #${r.attested.logIndex}, signed by the ${r.attested.signedBy.join(" and ")})` : " (integrity only: the registry keeps no transparency log)"}`
          : `FAILED   ${r.skill}: ${r.reason}`,
      )
      .join("\n"),
    exitCode: failed === 0 ? 0 : 4,
  };
}

/** `clawhub pin <skill>` and `clawhub unpin <skill>`. */
export const pinCommand: CommandSpec = {
  path: ["pin"],
  args: "<skill>",
  summary: "keep a skill at its installed version (update skips it)",
  configure(cmd) {
    cmd.option("--reason <text>", "why it is pinned");
    cmd.option("--global", "the user-level lockfile");
  },
  async run([key = ""], options, ctx) {
    const entry = await (await installerFor(ctx, options)).setPinned(
      key,
      true,
      typeof options.reason === "string" ? options.reason : undefined,
    );
    return { data: entry, text: `Pinned ${key} at ${entry.version}` };
  },
};

export const unpinCommand: CommandSpec = {
  path: ["unpin"],
  args: "<skill>",
  summary: "let update move a pinned skill again",
  configure(cmd) {
    cmd.option("--global", "the user-level lockfile");
  },
  async run([key = ""], options, ctx) {
    const entry = await (await installerFor(ctx, options)).setPinned(key, false);
    return { data: entry, text: `Unpinned ${key}` };
  },
};
