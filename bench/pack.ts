/**
 * Pack throughput: ClawHub's deterministic packer against Info-ZIP `zip -X -r` (Debian package
 * `zip`) on the same skill folders, in the same run, printed as ratios.
 *
 *   npm run bench:pack -- [corpus-dir] [--limit N] [--cli N]
 *
 * Sets measured:
 * - corpus: every skill folder of the corpus (real, small skills: SKILL.md plus metadata);
 * - large: 20 synthetic skills of ~2 MiB in 40 files each, built from corpus text, to measure
 *   MB/s where per-file overhead does not dominate.
 * Pairings:
 * - library: `packSkill` in-process (what `clawhub skill pack` and publish run) vs one `zip`
 *   process per folder (how zip is used);
 * - cli: one `clawhub skill pack` process per folder (the compiled CLI, as installed users run
 *   it; built first with `npm run build`) vs one `zip` process per folder, on the first N
 *   folders: process start-up included on both sides.
 * Both sides write their archive to disk. zip uses its default level 6, as we do.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { collectFiles, findSkillDirs, packSkill } from "../src/skill/index.ts";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const corpus =
  args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--")) ??
  "../shared/corpus/openclaw-skills";
const limit = flag("--limit", Number.POSITIVE_INFINITY);
const cliCount = flag("--cli", 40);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "dist/cli/bin.js");

try {
  execFileSync("zip", ["-v"], { stdio: "ignore" });
} catch {
  process.stderr.write("bench:pack needs Info-ZIP zip: apt-get install zip\n");
  process.exit(2);
}

execFileSync("npm", ["run", "-s", "build"], { cwd: ROOT, stdio: "inherit" });
const work = await mkdtemp(join(tmpdir(), "clawhub-bench-pack-"));

async function bytesOf(dirs: string[]): Promise<number> {
  let total = 0;
  for (const d of dirs) total += (await collectFiles(d)).totalBytes;
  return total;
}

async function ours(dirs: string[]): Promise<number> {
  const start = performance.now();
  let i = 0;
  for (const dir of dirs) {
    const packed = await packSkill(dir);
    await writeFile(join(work, `ours-${i++}.zip`), packed.zip);
  }
  return performance.now() - start;
}

function zipPeer(dirs: string[]): number {
  const start = performance.now();
  let i = 0;
  for (const dir of dirs) {
    // -X: no extra attributes (closest to our deterministic output); -x excludes dot paths,
    // so both sides archive the same files.
    const out = join(work, `zip-${i++}.zip`);
    const r = spawnSync("zip", ["-X", "-r", "-q", out, ".", "-x", ".*", "-x", "*/.*"], {
      cwd: dir,
    });
    if (r.status !== 0) throw new Error(`zip failed in ${dir}: ${r.stderr}`);
  }
  return performance.now() - start;
}

function oursCli(dirs: string[]): number {
  const start = performance.now();
  let i = 0;
  for (const dir of dirs) {
    const r = spawnSync(process.execPath, [
      BIN,
      "skill",
      "pack",
      dir,
      "-o",
      join(work, `cli-${i++}.zip`),
    ]);
    if (r.status !== 0) throw new Error(`clawhub skill pack failed in ${dir}: ${r.stderr}`);
  }
  return performance.now() - start;
}

async function largeSet(sources: string[]): Promise<string[]> {
  const texts: string[] = [];
  for (const d of sources.slice(0, 400)) {
    try {
      texts.push(await readFile(join(d, "SKILL.md"), "utf8"));
    } catch {
      // lowercase skill.md or unreadable: skip
    }
  }
  const dirs: string[] = [];
  for (let s = 0; s < 20; s++) {
    const dir = join(work, "large", `large-skill-${s}`);
    await mkdir(join(dir, "references"), { recursive: true });
    await writeFile(
      join(dir, "SKILL.md"),
      `---\nname: large-skill-${s}\ndescription: Synthetic large skill ${s}.\n---\n\n# Large\n`,
    );
    for (let f = 0; f < 39; f++) {
      let body = "";
      for (let k = 0; body.length < 52 * 1024; k++)
        body += texts[(s * 39 + f + k * 7) % texts.length] ?? "x";
      await writeFile(join(dir, "references", `doc-${f}.md`), body);
    }
    dirs.push(dir);
  }
  return dirs;
}

function row(label: string, count: number, bytes: number, oursMs: number, peerMs: number): string {
  const rate = (n: number, ms: number) => (n / (ms / 1000)).toFixed(1);
  const mbs = (ms: number) => (bytes / 1048576 / (ms / 1000)).toFixed(2);
  return [
    label.padEnd(20),
    String(count).padStart(6),
    `${rate(count, oursMs).padStart(9)} ${mbs(oursMs).padStart(8)}`,
    `${rate(count, peerMs).padStart(9)} ${mbs(peerMs).padStart(8)}`,
    `${(peerMs / oursMs).toFixed(2)}x`.padStart(8),
  ].join("  ");
}

try {
  const all = await findSkillDirs([corpus]);
  const dirs = all.slice(0, Number.isFinite(limit) ? limit : all.length);
  if (dirs.length === 0) throw new Error(`no skills found under ${corpus}`);
  const large = await largeSet(dirs);
  const cliDirs = dirs.slice(0, cliCount);

  // Warm both sides once (module loading, page cache), then measure.
  await ours(dirs.slice(0, 20));
  zipPeer(dirs.slice(0, 20));

  const results = [
    ["corpus, library", dirs, await bytesOf(dirs), await ours(dirs), zipPeer(dirs)],
    ["large, library", large, await bytesOf(large), await ours(large), zipPeer(large)],
    ["corpus, cli", cliDirs, await bytesOf(cliDirs), oursCli(cliDirs), zipPeer(cliDirs)],
  ] as const;

  process.stdout.write(
    `pack benchmark: ${dirs.length} corpus skills from ${corpus}; node ${process.version}\n\n`,
  );
  process.stdout.write(
    `${"set, pairing".padEnd(20)}  ${"skills".padStart(6)}  ${"clawhub/s".padStart(9)} ${"MB/s".padStart(8)}  ${"zip/s".padStart(9)} ${"MB/s".padStart(8)}  ${"speedup".padStart(8)}\n`,
  );
  for (const [label, set, bytes, o, z] of results)
    process.stdout.write(`${row(label, set.length, bytes, o, z)}\n`);
  process.stdout.write(
    "\nspeedup = zip time / clawhub time on the same folders (>1: clawhub is faster)\n",
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
