import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { ClawHubError, isClawHubError } from "../../errors/index.ts";
import type { CommandContext, CommandSpec } from "../command.ts";
import { clientFor, skillRef } from "./shared.ts";

/** `clawhub scan <dir|archive|skill>...`: the scanner's findings and verdict for each skill. */
export const scanCommand: CommandSpec = {
  path: ["scan"],
  args: "<targets...>",
  summary:
    "scan skills for malware and abuse: findings with rule, file, line and why; a verdict each",
  help:
    "A target is a skill folder (what a publish would send), a skill archive (.zip), or a\n" +
    "published skill (`slug` or `@owner/slug`, downloaded from the registry; --version picks one).\n" +
    "A folder without SKILL.md is searched for skills. Verdicts: clean, suspicious, malicious;\n" +
    "docs/security.md lists the rules and weights.\n" +
    "--judge http adds a second opinion from a language model behind an OpenAI-compatible endpoint\n" +
    "(--judge-url, --judge-model; key from CLAWHUB_JUDGE_KEY). It can raise a clean verdict to\n" +
    "suspicious, never lower one (the skill may try to talk the model round); off by default.\n" +
    "Exit code: 0, or 4 when a skill's verdict reaches --fail-on (default malicious).",
  configure(cmd) {
    cmd.option(
      "--fail-on <verdict>",
      "exit 4 at this verdict or worse: suspicious|malicious",
      "malicious",
    );
    cmd.option("--version <version>", "for a published skill: this version (default: latest)");
    cmd.option(
      "--judge <kind>",
      "a second opinion from a language model: http (an OpenAI-compatible endpoint; off by default)",
    );
    cmd.option("--judge-url <url>", "the judge's API base URL (e.g. http://127.0.0.1:11434/v1)");
    cmd.option("--judge-model <name>", "the judge's model");
  },
  async run(paths, options, ctx) {
    const failOn = String(options.failOn ?? "malicious");
    if (failOn !== "suspicious" && failOn !== "malicious")
      throw new ClawHubError("USAGE", `--fail-on is suspicious or malicious, got "${failOn}"`);
    const { createHttpJudge, scanArchive, scanDirectory, visible } = await import(
      "../../trust/index.ts"
    );
    let judge: import("../../trust/index.ts").Judge | undefined;
    if (options.judge !== undefined) {
      if (options.judge !== "http")
        throw new ClawHubError("USAGE", `--judge takes http, got "${String(options.judge)}"`);
      if (typeof options.judgeUrl !== "string" || typeof options.judgeModel !== "string")
        throw new ClawHubError("USAGE", "--judge http needs --judge-url and --judge-model", {
          hint: "The API key, if any, comes from CLAWHUB_JUDGE_KEY.",
        });
      judge = createHttpJudge({
        url: options.judgeUrl,
        model: options.judgeModel,
        apiKey: ctx.config.judgeKey,
      });
    }
    const { findSkillDirs } = await import("../../skill/index.ts");
    const targets: Array<{ path: string; kind: "dir" | "archive" | "published" }> = [];
    for (const p of paths) {
      const abs = resolve(ctx.cwd, p);
      const st = await stat(abs).catch(() => undefined);
      if (!st) targets.push({ path: p, kind: "published" });
      else if (st.isFile()) targets.push({ path: abs, kind: "archive" });
      else for (const dir of await findSkillDirs([abs])) targets.push({ path: dir, kind: "dir" });
    }
    if (targets.length === 0) throw new ClawHubError("NOT_FOUND", "no skill found to scan");
    const version = typeof options.version === "string" ? options.version : undefined;
    const skills = [];
    for (const t of targets) {
      const report =
        t.kind === "archive"
          ? await scanArchive(t.path, {}, judge)
          : t.kind === "dir"
            ? await scanDirectory(t.path, {}, judge)
            : await scanPublished(ctx, t.path, version, (file) => scanArchive(file, {}, judge));
      skills.push({
        path: t.kind === "published" ? t.path : relative(ctx.cwd, t.path) || ".",
        ...report,
      });
    }
    const rank = { clean: 0, suspicious: 1, malicious: 2 } as const;
    const fails = skills.some((s) => rank[s.verdict] >= rank[failOn]);
    const text = skills
      .map((s) =>
        [
          `${s.verdict.padEnd(10)} ${s.path} (score ${s.score}, ${s.files} files)`,
          ...(s.judge
            ? [
                "error" in s.judge
                  ? `  judge    unavailable: ${s.judge.error} (the static verdict stands)`
                  : `  judge    ${s.judge.verdict} (${visible(s.judge.model)}): ${s.judge.reason}`,
              ]
            : []),
          ...s.findings.map(
            (f) =>
              `  ${f.severity.padEnd(8)} ${f.rule}  ${visible(f.file)}${f.line ? `:${f.line}` : ""}\n           ${f.evidence}\n           ${f.explanation}`,
          ),
        ].join("\n"),
      )
      .join("\n");
    return { data: { skills }, text, exitCode: fails ? 4 : 0 };
  },
};

/**
 * A published skill: its archive downloaded from the registry (the bytes an install would get)
 * into a temporary file, scanned, and removed.
 */
async function scanPublished(
  ctx: CommandContext,
  ref: string,
  version: string | undefined,
  scanArchive: (file: string) => ReturnType<typeof import("../../trust/index.ts").scanArchive>,
) {
  const { slug, owner, name } = skillRef(ref);
  const client = await clientFor(ctx);
  const archive = await client
    .download(slug, { ...(version ? { version } : {}), ...(owner ? { ownerHandle: owner } : {}) })
    .catch((error: unknown) => {
      // A registry that cannot be reached says so; one that knows no such skill means the
      // name was meant as a path, or mistyped.
      if (!isClawHubError(error) || error.code !== "NOT_FOUND") throw error;
      throw new ClawHubError("NOT_FOUND", `${name} is neither a path here nor a published skill`, {
        cause: error,
        hint: "Name a skill folder, a .zip, or a published skill (`slug`, `@owner/slug`).",
      });
    });
  const dir = await mkdtemp(join(tmpdir(), "clawhub-scan-"));
  try {
    const file = join(dir, "skill.zip");
    await writeFile(file, archive.bytes);
    return await scanArchive(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
