/**
 * The package as users get it: `npm pack` (which builds it), installed from the tarball into a
 * folder outside the repository, run from there: the README's "run your own" path. The package
 * is not called `clawhub` (that name on npm is the official CLI), but its command is.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PINNED_NODE = join(ROOT, "node_modules", ".bin", "node");
const NODE = existsSync(PINNED_NODE) ? PINNED_NODE : process.execPath;

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      cmd,
      args,
      { cwd, env: { ...process.env, ...env }, timeout: 300_000, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({
          code: error ? (typeof error.code === "number" ? error.code : 1) : 0,
          stdout,
          stderr,
        }),
    );
  });
}

describe("the packed package, installed outside the repository", () => {
  let dir: string;
  let bin: string;
  let pkg: { name: string; bin: Record<string, string> };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "clawhub-package-"));
    pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8"));
    const packed = await run("npm", ["pack", "--pack-destination", dir, "--loglevel=error"], ROOT);
    expect(packed.code, packed.stderr).toBe(0);
    const tarball = packed.stdout.trim().split("\n").at(-1) as string;
    const app = join(dir, "app");
    await mkdir(app, { recursive: true });
    await writeFile(join(app, "package.json"), JSON.stringify({ name: "app", private: true }));
    const installed = await run(
      "npm",
      ["install", "--no-audit", "--no-fund", "--loglevel=error", join(dir, tarball)],
      app,
    );
    expect(installed.code, installed.stderr).toBe(0);
    bin = join(app, "node_modules", ".bin", "clawhub");
  }, 600_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("is published under its own name with the clawhub command", () => {
    expect(pkg.name).not.toBe("clawhub");
    expect(Object.keys(pkg.bin)).toEqual(["clawhub"]);
    expect(existsSync(bin)).toBe(true);
  });

  it("runs: version, strict validation, and a registry with its hub that publishes and installs", async () => {
    const home = join(dir, "home");
    await mkdir(home, { recursive: true });
    const env = {
      HOME: home,
      XDG_CONFIG_HOME: join(home, ".config"),
      XDG_CACHE_HOME: join(home, ".cache"),
      NO_COLOR: "1",
    };
    const version = await run(NODE, [bin, "--version"], dir, env);
    expect(version.stdout.trim()).toBe(
      JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")).version,
    );
    const skill = join(dir, "skills", "hello-world");
    await mkdir(skill, { recursive: true });
    await writeFile(
      join(skill, "SKILL.md"),
      "---\nname: hello-world\ndescription: Greets the world when asked to say hello.\n---\n\nSay hello.\n",
    );
    const valid = await run(NODE, [bin, "skill", "validate", skill, "--strict"], dir, env);
    expect(valid.code, valid.stderr).toBe(0);

    const server = spawn(
      NODE,
      [
        bin,
        "serve",
        "--port",
        "0",
        "--hub-port",
        "0",
        "--embedder",
        "none",
        "--data",
        join(dir, "data"),
        "--json",
      ],
      { cwd: dir, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      let out = "";
      server.stdout.on("data", (d: Buffer) => {
        out += d.toString();
      });
      const deadline = Date.now() + 60_000;
      while (!out.includes("\n") && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      const started = JSON.parse(out.split("\n")[0] as string) as {
        url: string;
        hub: string;
        bootstrap: { token: string };
      };
      expect(started.hub).toMatch(/:\d+$/);
      const as = { ...env, CLAWHUB_REGISTRY: started.url, CLAWHUB_TOKEN: started.bootstrap.token };
      const published = await run(NODE, [bin, "publish", skill, "--version", "1.0.0"], dir, as);
      expect(published.code, published.stderr).toBe(0);
      const installed = await run(
        NODE,
        [bin, "install", "hello-world", "--workdir", join(dir, "project")],
        dir,
        as,
      );
      expect(installed.code, installed.stderr).toBe(0);
      expect(
        await readFile(join(dir, "project", "skills", "hello-world", "SKILL.md"), "utf8"),
      ).toContain("Say hello.");
      const agents = await run(NODE, [bin, "agents", "--hub", started.hub], dir, env);
      expect(agents.code, agents.stderr).toBe(0);
    } finally {
      server.kill("SIGTERM");
      await new Promise((r) => server.once("exit", r));
    }
  }, 300_000);
});
