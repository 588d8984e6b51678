import { stat } from "node:fs/promises";
import { relative, resolve } from "node:path";
import { ClawHubError } from "../../errors/index.ts";
import type { CommandSpec } from "../command.ts";

/** `clawhub scan <dir|archive>...`: the scanner's findings and verdict for each skill. */
export const scanCommand: CommandSpec = {
  path: ["scan"],
  args: "<paths...>",
  summary:
    "scan skills for malware and abuse: findings with rule, file, line and why; a verdict each",
  help:
    "A path is a skill folder (what a publish would send) or a skill archive (.zip); a folder\n" +
    "without SKILL.md is searched for skills. Verdicts: clean, suspicious (held for review on a\n" +
    "registry), malicious (blocked); docs/security.md lists the rules and weights.\n" +
    "Exit code: 0, or 4 when a skill's verdict reaches --fail-on (default malicious).",
  configure(cmd) {
    cmd.option(
      "--fail-on <verdict>",
      "exit 4 at this verdict or worse: suspicious|malicious",
      "malicious",
    );
  },
  async run(paths, options, ctx) {
    const failOn = String(options.failOn ?? "malicious");
    if (failOn !== "suspicious" && failOn !== "malicious")
      throw new ClawHubError("USAGE", `--fail-on is suspicious or malicious, got "${failOn}"`);
    const { scanArchive, scanDirectory } = await import("../../trust/index.ts");
    const { findSkillDirs } = await import("../../skill/index.ts");
    const targets: Array<{ path: string; archive: boolean }> = [];
    for (const p of paths) {
      const abs = resolve(ctx.cwd, p);
      const st = await stat(abs).catch(() => undefined);
      if (!st) throw new ClawHubError("NOT_FOUND", `${p} does not exist`);
      if (st.isFile()) targets.push({ path: abs, archive: true });
      else
        for (const dir of await findSkillDirs([abs])) targets.push({ path: dir, archive: false });
    }
    if (targets.length === 0) throw new ClawHubError("NOT_FOUND", "no skill found to scan");
    const skills = [];
    for (const t of targets) {
      const report = t.archive ? await scanArchive(t.path) : await scanDirectory(t.path);
      skills.push({ path: relative(ctx.cwd, t.path) || ".", ...report });
    }
    const rank = { clean: 0, suspicious: 1, malicious: 2 } as const;
    const fails = skills.some((s) => rank[s.verdict] >= rank[failOn]);
    const text = skills
      .map((s) =>
        [
          `${s.verdict.padEnd(10)} ${s.path} (score ${s.score}, ${s.files} files)`,
          ...s.findings.map(
            (f) =>
              `  ${f.severity.padEnd(8)} ${f.rule}  ${f.file}${f.line ? `:${f.line}` : ""}\n           ${f.evidence}\n           ${f.explanation}`,
          ),
        ].join("\n"),
      )
      .join("\n");
    return { data: { skills }, text, exitCode: fails ? 4 : 0 };
  },
};
