/**
 * Install and server benchmarks against a local `clawhub serve` (a child process), in one run:
 *
 * 1. Install N skills (default 100, published from the corpus), cold cache then warm cache:
 *    our CLI (one `clawhub install a b c ...` invocation, parallel downloads), our CLI one
 *    process per skill, and the official CLI (clawhub@0.23.3, one process per skill, as it takes
 *    one slug). Printed as times and ratios against the official CLI.
 * 2. Server throughput under concurrent load from a load generator in this process: search and
 *    download requests/s with p50/p99, against a bare node:http server returning the same bytes
 *    (the floor), printed as ratios.
 *
 *   npm run bench:install -- [corpus-dir] [--skills 100] [--concurrency 32] [--seconds 5] [--rounds 3] [--load-only]
 *
 * --load-only skips the install comparison (minutes with the official CLI) and measures the
 * server under load alone.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { createClient } from "../src/client/index.ts";
import { findSkillDirs, packSkill, slugFromFolder } from "../src/skill/index.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const corpus =
  args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--")) ??
  "../shared/corpus/openclaw-skills";
const count = opt("--skills", 100);
const concurrency = opt("--concurrency", 32);
const seconds = opt("--seconds", 5);
// Server and floor take turns, round after round, and each reports its median round: one run
// of each swung the floor between 7.7k and 12.9k req/s on the same idle machine.
const rounds = opt("--rounds", 3);
const loadOnly = args.includes("--load-only");
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OURS = join(ROOT, "bin/clawhub.js");
const OFFICIAL = join(ROOT, "node_modules/clawhub-official/bin/clawdhub.js");

const work = await mkdtemp(join(tmpdir(), "clawhub-bench-install-"));
const children: ChildProcess[] = [];

function startChild(argv: string[]): Promise<{ child: ChildProcess; line: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "inherit"] });
    children.push(child);
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve({ child, line: out.slice(0, nl) });
    });
    child.once("exit", (code) => reject(new Error(`child exited (${code}): ${out}`)));
  });
}

function run(bin: string, argv: string[], env: Record<string, string>, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bin, ...argv],
      { cwd, env: { PATH: process.env.PATH ?? "", ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error)
          reject(
            new Error(`${basename(bin)} ${argv.slice(0, 3).join(" ")} failed: ${stderr || stdout}`),
          );
        else resolve();
      },
    );
  });
}

async function time(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

try {
  // ---- a registry with N skills ---------------------------------------------------------------
  // No rate limits: this measures install and serving speed, not the limiter (30 anonymous
  // downloads a minute would otherwise dominate every run).
  // CLAWHUB_BENCH_PROFILE=dir writes the server's CPU profile there (node --cpu-prof) on exit.
  const profile = process.env.CLAWHUB_BENCH_PROFILE;
  const server = await startChild([
    ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : []),
    OURS,
    "serve",
    "--port",
    "0",
    "--data",
    join(work, "data"),
    "--json",
    "--no-rate-limit",
    "--no-hub",
  ]);
  const info = JSON.parse(server.line) as { url: string; bootstrap: { token: string } };
  const token = info.bootstrap.token;
  const client = createClient({ registry: info.url, token });
  const seen = new Set<string>();
  const slugs: string[] = [];
  for (const dir of await findSkillDirs([corpus])) {
    if (slugs.length >= count) break;
    const slug = slugFromFolder(basename(dir));
    if (seen.has(slug) || slug.length < 3) continue;
    seen.add(slug);
    try {
      const packed = await packSkill(dir);
      await client.publish({ slug, version: "1.0.0" }, packed.contents);
      slugs.push(slug);
    } catch {
      // a skill the registry refuses is simply not part of the set
    }
  }
  // Steady state: the published skills' vectors are computed in the background; wait for them
  // so the load below measures serving, not the embedding worker competing for the two cores.
  for (let i = 0; i < 1200; i++) {
    const status = (await (await fetch(`${info.url}/api/v1/search/status`)).json()) as {
      pending: number;
    };
    if (status.pending === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  process.stdout.write(
    `registry ${info.url}: ${slugs.length} skills published from ${corpus}; node ${process.version}\n\n`,
  );

  if (!loadOnly) {
    // ---- installs ----------------------------------------------------------------------------------
    const home = join(work, "home");
    const env = (cache: string) => ({
      HOME: home,
      XDG_CONFIG_HOME: join(home, ".config"),
      XDG_CACHE_HOME: cache,
      CLAWHUB_REGISTRY: info.url,
      CLAWHUB_DISABLE_TELEMETRY: "1",
    });
    await mkdir(home, { recursive: true });
    const fresh = async (name: string) => {
      const dir = join(work, "projects", `${name}-${Math.random().toString(36).slice(2)}`);
      await mkdir(dir, { recursive: true });
      return dir;
    };
    const results: Array<[string, number, number]> = [];

    {
      const cache = join(work, "cache-ours-batch");
      const cold = await time(async () =>
        run(OURS, ["install", ...slugs], env(cache), await fresh("batch")),
      );
      const warm = await time(async () =>
        run(OURS, ["install", ...slugs], env(cache), await fresh("batch")),
      );
      results.push(["clawhub, one command", cold, warm]);
    }
    {
      const cache = join(work, "cache-ours-seq");
      const each = async () => {
        const dir = await fresh("seq");
        for (const s of slugs) await run(OURS, ["install", s], env(cache), dir);
      };
      results.push(["clawhub, one process per skill", await time(each), await time(each)]);
    }
    {
      const cache = join(work, "cache-official");
      const each = async () => {
        const dir = await fresh("official");
        for (const s of slugs) await run(OFFICIAL, ["install", s, "--no-input"], env(cache), dir);
      };
      results.push(["official clawhub 0.23.3", await time(each), await time(each)]);
    }
    const official = results[2] as [string, number, number];
    process.stdout.write(
      `install ${slugs.length} skills              cold s    warm s   vs official cold   vs official warm\n`,
    );
    for (const [label, cold, warm] of results) {
      process.stdout.write(
        `${label.padEnd(32)} ${cold.toFixed(2).padStart(8)}  ${warm.toFixed(2).padStart(8)}   ${(official[1] / cold).toFixed(2).padStart(12)}x   ${(official[2] / warm).toFixed(2).padStart(12)}x\n`,
      );
    }
    process.stdout.write(
      "(ratio = official time / this time; >1: faster than the official CLI)\n\n",
    );
  }

  // ---- server throughput -------------------------------------------------------------------------
  const words = [
    "email",
    "pdf",
    "search web",
    "calendar",
    "github issues",
    "translate",
    "image",
    "database backup",
    "slack",
    "weather",
  ];
  const searchPath = (i: number) =>
    `/api/v1/search?q=${encodeURIComponent(words[i % words.length] ?? "x")}&limit=20`;
  const downloadPath = (i: number) => `/api/v1/download?slug=${slugs[i % slugs.length]}`;
  // The floor answers every path the load asks of the server with the very bytes the server
  // gave for it (each skill's archive, each query's results), read from files it loads once.
  const floorDir = join(work, "floor");
  await mkdir(floorDir);
  const floorPaths = [
    ...words.map((_, i) => searchPath(i)),
    ...slugs.map((_, i) => downloadPath(i)),
  ];
  await Promise.all(
    floorPaths.map(async (path, i) => {
      const body = Buffer.from(await (await fetch(`${info.url}${path}`)).arrayBuffer());
      await writeFile(join(floorDir, String(i)), body);
    }),
  );
  await writeFile(join(floorDir, "paths.json"), JSON.stringify(floorPaths));
  const floorScript = `
    const http = require("node:http");
    const fs = require("node:fs");
    const dir = ${JSON.stringify(floorDir)};
    const bodies = new Map(JSON.parse(fs.readFileSync(dir + "/paths.json", "utf8")).map((p, i) => [p, fs.readFileSync(dir + "/" + i)]));
    const s = http.createServer((req, res) => {
      const body = bodies.get(req.url) ?? Buffer.alloc(0);
      res.writeHead(200, { "content-type": req.url.startsWith("/api/v1/download") ? "application/zip" : "application/json", "content-length": body.length });
      res.end(body);
    });
    s.listen(0, "127.0.0.1", () => console.log("http://127.0.0.1:" + s.address().port));`;
  const floor = await startChild(["-e", floorScript]);
  const floorUrl = floor.line.trim();

  async function load(
    base: string,
    path: (i: number) => string,
    headers: Record<string, string> = {},
  ) {
    const latencies: number[] = [];
    let errors = 0;
    const end = performance.now() + seconds * 1000;
    let i = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          const t = performance.now();
          try {
            const res = await fetch(`${base}${path(i++)}`, { headers });
            await res.arrayBuffer();
            if (!res.ok) errors++;
          } catch {
            errors++;
          }
          latencies.push(performance.now() - t);
        }
      }),
    );
    latencies.sort((a, b) => a - b);
    const q = (p: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
    return { rps: latencies.length / seconds, p50: q(0.5), p99: q(0.99), errors };
  }
  type Load = Awaited<ReturnType<typeof load>>;
  const median = (runs: Load[]) => {
    const sorted = [...runs].sort((a, b) => a.rps - b.rps);
    return sorted[Math.floor(sorted.length / 2)] as Load;
  };
  async function compare(ours: () => Promise<Load>, floor: () => Promise<Load>) {
    const a: Load[] = [];
    const b: Load[] = [];
    for (let r = 0; r < rounds; r++) {
      a.push(await ours());
      b.push(await floor());
    }
    return [median(a), median(b)] as const;
  }
  const rows = [
    [
      "search",
      ...(await compare(
        () => load(info.url, searchPath),
        () => load(floorUrl, searchPath),
      )),
    ],
    [
      "download",
      ...(await compare(
        () => load(info.url, downloadPath),
        () => load(floorUrl, downloadPath),
      )),
    ],
  ] as const;
  process.stdout.write(
    `server under load: ${concurrency} concurrent keep-alive clients, ${rounds} rounds of ${seconds} s each, server and floor taking turns (child processes); the median round of each\n`,
  );
  process.stdout.write(
    "route        clawhub req/s   p50 ms   p99 ms   errors   floor req/s   clawhub/floor\n",
  );
  for (const [route, ours, base] of rows) {
    process.stdout.write(
      `${route.padEnd(12)} ${ours.rps.toFixed(0).padStart(13)} ${ours.p50.toFixed(1).padStart(8)} ${ours.p99.toFixed(1).padStart(8)} ${String(ours.errors).padStart(8)} ${base.rps.toFixed(0).padStart(13)} ${(ours.rps / base.rps).toFixed(2).padStart(14)}x\n`,
    );
  }
  process.stdout.write(
    "(floor = a bare node:http server returning the same bytes: the cost of HTTP alone)\n",
  );
  const [, searchOurs] = rows[0];
  const [, downloadOurs, downloadFloor] = rows[1];
  process.stdout.write(
    `targets (issue 27): download >= 0.5x the floor: ${(downloadOurs.rps / downloadFloor.rps).toFixed(2)}x ${downloadOurs.rps / downloadFloor.rps >= 0.5 ? "met" : "MISSED"}; search p99 < 50 ms: ${searchOurs.p99.toFixed(1)} ms ${searchOurs.p99 < 50 ? "met" : "MISSED"}\n`,
  );
} finally {
  for (const c of children) c.kill("SIGTERM");
  await rm(work, { recursive: true, force: true });
}
