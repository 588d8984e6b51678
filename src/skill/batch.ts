import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { ValidationMode } from "./rules.ts";
import { type SkillOptions, type SkillReport, validateSkillDir } from "./skill.ts";

/** Counts of a validation run, by outcome and by rule. */
export interface ValidationSummary {
  mode: ValidationMode;
  total: number;
  valid: number;
  warnings: number;
  invalid: number;
  /** Per rule: how many errors and warnings, in how many skills. */
  byRule: Record<string, { errors: number; warnings: number; skills: number }>;
}

const SKIP_DIRS = new Set(["node_modules"]);

/**
 * Expands paths into skill folders: every folder at or below a path that holds SKILL.md (any
 * case) is a skill, including skills nested inside another skill's folder (bundles ship
 * sub-skills that agents load on their own). Dot-folders and node_modules are skipped. A path
 * with no skill anywhere below it is returned as is, so validating it reports `file.missing`.
 */
export async function findSkillDirs(paths: ReadonlyArray<string>): Promise<string[]> {
  const out: string[] = [];
  async function visit(dir: string, top: boolean): Promise<boolean> {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      if (top) out.push(dir);
      return top;
    }
    let found = entries.some((e) => e.isFile() && e.name.toLowerCase() === "skill.md");
    if (found) out.push(dir);
    const subdirs = entries
      .filter((e) => e.isDirectory() && !e.name.startsWith(".") && !SKIP_DIRS.has(e.name))
      .map((e) => e.name)
      .sort();
    for (const name of subdirs) found = (await visit(join(dir, name), false)) || found;
    if (!found && top) out.push(dir);
    return found;
  }
  for (const p of paths) await visit(resolve(p), true);
  return [...new Set(out)];
}

/** Options of {@link validateMany}. */
export interface ValidateManyOptions extends SkillOptions {
  /** Skills validated at once. Default 16: the work is mostly file I/O. */
  concurrency?: number;
  onProgress?(done: number, total: number, dir: string): void;
}

/** Validates many skill folders concurrently; reports keep the input order. */
export async function validateMany(
  dirs: ReadonlyArray<string>,
  options: ValidateManyOptions = {},
): Promise<{ reports: SkillReport[]; summary: ValidationSummary }> {
  const reports: SkillReport[] = new Array(dirs.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < dirs.length) {
      const i = next++;
      const dir = dirs[i] as string;
      reports[i] = await validateSkillDir(dir, options);
      done++;
      options.onProgress?.(done, dirs.length, dir);
    }
  };
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 16, dirs.length));
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { reports, summary: summarize(reports, options.mode ?? "lenient") };
}

/** Counts reports by outcome and issues by rule. */
export function summarize(
  reports: ReadonlyArray<SkillReport>,
  mode: ValidationMode,
): ValidationSummary {
  const summary: ValidationSummary = {
    mode,
    total: reports.length,
    valid: 0,
    warnings: 0,
    invalid: 0,
    byRule: {},
  };
  for (const report of reports) {
    summary[
      report.outcome === "valid" ? "valid" : report.outcome === "warnings" ? "warnings" : "invalid"
    ]++;
    const seen = new Set<string>();
    for (const issue of report.issues) {
      const row = summary.byRule[issue.rule] ?? { errors: 0, warnings: 0, skills: 0 };
      summary.byRule[issue.rule] = row;
      if (issue.severity === "error") row.errors++;
      else row.warnings++;
      if (!seen.has(issue.rule)) row.skills++;
      seen.add(issue.rule);
    }
  }
  return summary;
}
