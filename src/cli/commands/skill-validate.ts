import { relative, resolve } from "node:path";
import {
  findSkillDirs,
  type SkillReport,
  type ValidationSummary,
  validateMany,
} from "../../skill/index.ts";
import type { CommandSpec } from "../command.ts";
import { table } from "../output.ts";

/** `clawhub skill validate <dir...>`: every problem of every skill, then a summary. */
export const skillValidate: CommandSpec = {
  path: ["skill", "validate"],
  args: "<dir...>",
  summary: "validate skills: every problem of every skill, then counts by outcome and rule",
  help:
    "A folder without SKILL.md is searched recursively for skills, so `validate skills/` checks them all.\n" +
    "Lenient mode (default) is what a registry accepts; --strict is the Agent Skills spec exactly.\n" +
    "Exit code: 0 when no skill is invalid (warnings allowed), 1 otherwise.",
  configure(cmd) {
    cmd.option(
      "--strict",
      "apply the Agent Skills spec exactly (unknown keys and legacy forms are errors)",
    );
    cmd.option("-q, --quiet", "print only the summary");
  },
  async run(paths, options, ctx) {
    const mode = options.strict ? "strict" : "lenient";
    const dirs = await findSkillDirs(paths.map((p) => resolve(ctx.cwd, p)));
    const progress = ctx.progress();
    const { reports, summary } = await validateMany(dirs, {
      mode,
      onProgress: (done, total) => progress.update(done, total, "validating"),
    });
    progress.done();
    const text = [
      ...(options.quiet ? [] : reports.map((r) => formatReport(r, ctx.cwd)).filter(Boolean)),
      formatSummary(summary),
    ].join("\n");
    return {
      data: {
        summary,
        skills: reports.map(({ dir, outcome, issues }) => ({ dir, outcome, issues })),
      },
      text,
      exitCode: summary.invalid > 0 ? 1 : 0,
    };
  },
};

function formatReport(report: SkillReport, cwd: string): string {
  const where = relative(cwd, report.dir) || ".";
  if (report.outcome === "valid") return `ok       ${where}`;
  const head = `${report.outcome === "invalid" ? "invalid " : "warnings"} ${where}`;
  const rows = report.issues.map((i) => [
    `  ${i.file}${i.line ? `:${i.line}` : ""}`,
    i.severity,
    i.rule,
    i.message,
  ]);
  return `${head}\n${table(rows)}`;
}

/** The closing summary: counts by outcome, then by rule (most frequent first). */
export function formatSummary(summary: ValidationSummary): string {
  const lines = [
    `${summary.total} skill(s) checked (${summary.mode}): ${summary.valid} valid, ${summary.warnings} with warnings, ${summary.invalid} invalid`,
  ];
  const rules = Object.entries(summary.byRule).sort(
    (a, b) => b[1].skills - a[1].skills || a[0].localeCompare(b[0]),
  );
  if (rules.length > 0) {
    lines.push("by rule:");
    lines.push(
      table(
        rules.map(([rule, c]) => [
          `  ${rule}`,
          `${c.skills} skill(s)`,
          c.errors > 0 ? `${c.errors} error(s)` : "",
          c.warnings > 0 ? `${c.warnings} warning(s)` : "",
        ]),
      ),
    );
  }
  return lines.join("\n");
}
