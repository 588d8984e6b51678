/**
 * CLI start-up time: `clawhub --version` and `clawhub agents` (against a running hub) as a user
 * runs them from an installed package (the bundle in dist/bundle, through bin/clawhub.js), from
 * the repository's sources, and the official `clawhub` CLI's `--version` as the peer. Wall time
 * of whole processes, median and p90 of 20 runs after 3 warm-ups (the first start fills V8's
 * compile cache).
 *
 *   npm run build && npm run bench:startup
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const RUNS = 20;
if (!existsSync(join(root, "dist/bundle/clawhub.mjs"))) {
  console.error("dist/bundle is missing: run `npm run build` first");
  process.exit(2);
}

// An installed package: what `npm pack` ships (bin, dist, proto, package.json), no src/.
const installed = mkdtempSync(join(tmpdir(), "clawhub-startup-"));
for (const part of ["bin", "dist", "proto", "package.json"])
  cpSync(join(root, part), join(installed, part), { recursive: true });
symlinkSync(join(root, "node_modules"), join(installed, "node_modules"));
const ours = join(installed, "bin/clawhub.js");
const sources = join(root, "bin/clawhub.js");
const official = join(root, "node_modules/clawhub-official/bin/clawdhub.js");

function time(argv: string[]): { p50: number; p90: number } {
  const samples: number[] = [];
  for (let i = 0; i < RUNS + 3; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, argv, { stdio: "ignore" });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`${argv.join(" ")} exited with ${r.status}`);
    if (i >= 3) samples.push(ms);
  }
  samples.sort((a, b) => a - b);
  return {
    p50: samples[Math.floor(RUNS / 2)] as number,
    p90: samples[Math.floor(RUNS * 0.9)] as number,
  };
}

const dataDir = join(installed, "hub-data");
mkdirSync(dataDir);
const hub = spawn(
  process.execPath,
  // Plaintext: this measures start-up, not the CA (made on a secured hub's first start).
  [ours, "hub", "--insecure", "--port", "0", "--embedder", "none", "--data", dataDir, "--json"],
  { stdio: ["ignore", "pipe", "inherit"] },
);
const address = await new Promise<string>((resolve, reject) => {
  let out = "";
  hub.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    const m = /"hub":"([^"]+)"/.exec(out);
    if (m) resolve(m[1] as string);
  });
  hub.once("exit", (code) => reject(new Error(`hub exited with ${code}`)));
});
try {
  const bare = time(["-e", "0"]);
  const rows: Array<[string, { p50: number; p90: number }]> = [
    ["node -e 0 (the floor)", bare],
    ["clawhub --version (installed)", time([ours, "--version"])],
    ["clawhub agents (installed)", time([ours, "agents", "--hub", address])],
    ["clawhub --version (sources)", time([sources, "--version"])],
    ["clawhub agents (sources)", time([sources, "agents", "--hub", address])],
  ];
  // The official CLI names its version flag --cli-version.
  const peer = existsSync(official) ? time([official, "--cli-version"]) : undefined;
  if (peer) rows.push(["official clawhub --version (peer)", peer]);
  console.log(
    `wall time of whole processes, ${RUNS} runs after 3 warm-ups; node ${process.version}`,
  );
  console.log("command | p50 ms | p90 ms | vs official CLI (p50)");
  console.log("---|---|---|---");
  for (const [name, t] of rows)
    console.log(
      `${name} | ${t.p50.toFixed(0)} | ${t.p90.toFixed(0)} | ${peer ? `${(t.p50 / peer.p50).toFixed(2)}x` : "-"}`,
    );
} finally {
  hub.kill("SIGTERM");
  await new Promise((r) => hub.once("exit", r));
  rmSync(installed, { recursive: true, force: true });
}
