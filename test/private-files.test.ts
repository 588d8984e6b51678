/**
 * What `clawhub serve` writes for itself is the owner's alone whatever the umask: the data
 * directory, blobs (private skills), the database and the hub's journal (run inputs). An
 * existing world-readable data directory is fixed up on start.
 */
import type { ChildProcess } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { createClient } from "../src/client/index.ts";
import { startProcess } from "./helpers/process.ts";
import { OUR_BIN } from "./helpers/registry.ts";

let dir: string | undefined;
let server: ChildProcess | undefined;
afterAll(async () => {
  server?.kill("SIGKILL");
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Every path below `root` with its permission bits. */
async function modes(root: string): Promise<Array<[string, number, boolean]>> {
  const out: Array<[string, number, boolean]> = [];
  const walk = async (d: string) => {
    const st = await stat(d);
    out.push([d, st.mode & 0o777, true]);
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push([p, (await stat(p)).mode & 0o777, false]);
    }
  };
  await walk(root);
  return out;
}

it("keeps the data directory, blobs, database and journal owner-only under umask 022", async () => {
  dir = await mkdtemp(join(tmpdir(), "clawhub-modes-"));
  const data = join(dir, "data");
  // An older install's data directory: world-readable, as umask 022 made it.
  await mkdir(join(data, "blobs", "ab"), { recursive: true, mode: 0o755 });
  await chmod(data, 0o755);
  await writeFile(join(data, "blobs", "ab", "old-blob"), "x", { mode: 0o644 });
  await chmod(join(data, "blobs", "ab", "old-blob"), 0o644);
  const started = await startProcess(
    [
      "--import",
      "data:text/javascript,process.umask(0o022)",
      OUR_BIN,
      "serve",
      "--port",
      "0",
      "--hub-port",
      "0",
      "--embedder",
      "none",
      "--data",
      data,
      "--json",
      "--tls",
    ],
    /\n/,
    { HOME: dir, CLAWHUB_CONFIG_PATH: join(dir, "config", "config.json") },
  );
  server = started.child;
  const info = JSON.parse(started.match.input.split("\n")[0] as string) as {
    url: string;
    bootstrap: { token: string };
  };
  const client = createClient({ registry: info.url, token: info.bootstrap.token });
  await client.publish({ slug: "private-bits", version: "1.0.0", visibility: "private" }, [
    {
      path: "SKILL.md",
      data: new TextEncoder().encode(
        "---\nname: private-bits\ndescription: A private skill for the modes test.\n---\n\nSecret.\n",
      ),
    },
  ]);
  const all = await modes(data);
  expect(all.some(([p]) => p.endsWith("registry.db"))).toBe(true);
  expect(all.some(([p]) => p.endsWith("control-plane.jsonl"))).toBe(true);
  // The secured hub's CA key, audit key and the operator's identity, in the data directory and
  // (its copy) in the config directory.
  for (const file of ["ca.key.pem", "audit.key.pem", "operator.json"])
    expect(all.some(([p]) => p.endsWith(`identity/${file}`))).toBe(true);
  const config = await modes(join(dir, "config", "hubs"));
  expect(config.length).toBeGreaterThan(1);
  all.push(...config);
  expect(
    all.filter(([p]) => p.includes(`${join(data, "blobs")}/`) && !p.endsWith("old-blob")).length,
  ).toBeGreaterThan(2);
  const wrong = all.filter(([, mode, isDir]) => mode !== (isDir ? 0o700 : 0o600));
  expect(wrong.map(([p, m]) => `${p} ${m.toString(8)}`)).toEqual([]);
}, 60_000);
