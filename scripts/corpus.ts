/**
 * Corpus check: validates every skill of a corpus folder in lenient and strict mode through the
 * real CLI, and prints the counts by outcome and by rule plus the time taken.
 *
 *   npm run corpus -- ../shared/corpus/openclaw-skills [--json]
 *
 * Exit code 0 when the run completed without a crash, whatever the skills' outcomes: real data is
 * expected to hold invalid skills. A crash (an exception escaping the validator) exits 70.
 */
import { performance } from "node:perf_hooks";
import { main } from "../src/cli/index.ts";

const args = process.argv.slice(2);
const json = args.includes("--json");
const dir = args.find((a) => !a.startsWith("--"));
if (!dir) {
  process.stderr.write("usage: npm run corpus -- <corpus-dir> [--json]\n");
  process.exit(2);
}

const results: Record<string, unknown> = {};
for (const mode of ["lenient", "strict"] as const) {
  let out = "";
  let err = "";
  const io = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    isTTY: false,
  };
  const started = performance.now();
  const argv = [
    "skill",
    "validate",
    dir,
    "--quiet",
    "--json",
    ...(mode === "strict" ? ["--strict"] : []),
  ];
  const code = await main(argv, { io, env: {}, cwd: process.cwd() });
  const seconds = (performance.now() - started) / 1000;
  if (code > 1) {
    process.stderr.write(`corpus: ${mode} validation crashed (exit ${code})\n${out}${err}`);
    process.exit(70);
  }
  const { summary } = JSON.parse(out) as {
    summary: {
      total: number;
      valid: number;
      warnings: number;
      invalid: number;
      byRule: Record<string, { errors: number; warnings: number; skills: number }>;
    };
  };
  results[mode] = { ...summary, seconds: Number(seconds.toFixed(2)) };
  if (!json) {
    process.stdout.write(
      `\n== ${mode}: ${summary.total} skills in ${seconds.toFixed(2)} s (${Math.round(summary.total / seconds)} skills/s)\n` +
        `   valid ${summary.valid}, with warnings ${summary.warnings}, invalid ${summary.invalid}\n`,
    );
    const rows = Object.entries(summary.byRule).sort((a, b) => b[1].skills - a[1].skills);
    for (const [rule, c] of rows) {
      const parts = [
        c.errors ? `${c.errors} errors` : "",
        c.warnings ? `${c.warnings} warnings` : "",
      ].filter(Boolean);
      process.stdout.write(
        `   ${rule.padEnd(26)} ${String(c.skills).padStart(5)} skills  ${parts.join(", ")}\n`,
      );
    }
  }
}
if (json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
