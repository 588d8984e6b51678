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
  let exampleAgents: string;
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
    exampleAgents = join(app, "node_modules", pkg.name, "dist", "bundle", "example-agents.mjs");
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
      [bin, "serve", "--port", "0", "--hub-port", "0", "--data", join(dir, "data"), "--json"],
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
      // Semantic search works from the package: the bundled model's worker embeds the skill.
      let status = { embedded: 0, pending: 1 };
      for (let i = 0; i < 600 && status.embedded < 1; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = (await (await fetch(`${started.url}/api/v1/search/status`)).json()) as {
          embedded: number;
          pending: number;
        };
      }
      expect(status).toMatchObject({ embedded: 1, pending: 0 });

      // The example agents as the package ships them, each enrolled on the secured hub with a
      // token the operator (this user: `serve` stored its identity) mints, and a call routed by
      // meaning alone.
      const tokens: Record<string, string> = {};
      for (const name of ["text-stats", "summarizer", "chunker", "reporter", "flaky"]) {
        const r = await run(
          NODE,
          [bin, "hub", "enroll", name, "--kind", "agent", "--hub", started.hub, "--json"],
          dir,
          env,
        );
        expect(r.code, r.stderr).toBe(0);
        tokens[name] = (JSON.parse(r.stdout) as { token: string }).token;
      }
      const tokensFile = join(dir, "agent-tokens.json");
      await writeFile(tokensFile, JSON.stringify(tokens), { mode: 0o600 });
      const agentsProcess = spawn(
        NODE,
        [exampleAgents, "--hub", started.hub, "--tokens", tokensFile],
        {
          cwd: dir,
          env: { ...process.env, ...env },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      try {
        let ready = "";
        let errors = "";
        agentsProcess.stdout.on("data", (d: Buffer) => {
          ready += d.toString();
        });
        agentsProcess.stderr.on("data", (d: Buffer) => {
          errors += d.toString();
        });
        for (let i = 0; i < 600 && !ready.includes("ready") && agentsProcess.exitCode === null; i++)
          await new Promise((r) => setTimeout(r, 50));
        expect(ready, errors).toContain("ready");
        const agents = await run(NODE, [bin, "agents", "--hub", started.hub, "--json"], dir, env);
        expect(agents.code, agents.stderr).toBe(0);
        const discovered = await run(
          NODE,
          [bin, "discover", "how many words are in my text", "--hub", started.hub, "--json"],
          dir,
          env,
        );
        expect(discovered.code, discovered.stderr).toBe(0);
        const matches = JSON.parse(discovered.stdout) as Array<{ name: string; score: number }>;
        expect(matches[0]?.name).toBe("text.stats");
        const called = await run(
          NODE,
          [
            bin,
            "call",
            "--query",
            "how many words are in my text",
            "--input",
            JSON.stringify({ text: "one two three" }),
            "--hub",
            started.hub,
            "--json",
          ],
          dir,
          env,
        );
        expect(called.code, called.stderr).toBe(0);
        expect(JSON.parse(called.stdout)).toMatchObject({ output: { words: 3 } });
      } finally {
        agentsProcess.kill("SIGTERM");
        if (agentsProcess.exitCode === null)
          await new Promise((r) => agentsProcess.once("exit", r));
      }
    } finally {
      server.kill("SIGTERM");
      await new Promise((r) => server.once("exit", r));
    }
  }, 300_000);

  it("runs the demo from the package", async () => {
    const home = join(dir, "demo-home");
    await mkdir(home, { recursive: true });
    const demo = await run(NODE, [bin, "demo"], dir, { HOME: home, NO_COLOR: "1" });
    expect(demo.code, `${demo.stdout}\n${demo.stderr}`).toBe(0);
    expect(demo.stdout).toContain("demo: every step behaved as expected.");
  }, 300_000);

  it("exports the documented library surfaces, with types", async () => {
    const app = join(dir, "app");
    await writeFile(
      join(app, "use.mjs"),
      `import { createHub, createAgent, createHubClient, startRegistryServer, createMemoryControlPlane, openCertificateAuthority, ClawHubError } from "clawhub-hub";
import * as hub from "clawhub-hub/hub";
import * as registry from "clawhub-hub/registry";
import * as controlPlane from "clawhub-hub/control-plane";
import * as identity from "clawhub-hub/identity";
import * as audit from "clawhub-hub/audit";
import * as sdk from "clawhub-hub/sdk";
import * as skill from "clawhub-hub/skill";
for (const f of [createHub, createAgent, createHubClient, startRegistryServer, createMemoryControlPlane, openCertificateAuthority, hub.createHub, registry.startRegistryServer, controlPlane.createMemoryControlPlane, identity.openCertificateAuthority, audit.verifyAuditLog, sdk.createAgent, skill.parseSkillMd])
  if (typeof f !== "function") throw new Error("missing export");
const h = await createHub({ port: 0, host: "127.0.0.1" });
const agent = createAgent({ hub: h.address, name: "upper" });
agent.capability({ name: "text.upper", description: "Upper-cases a text.", input: { type: "object" } }, (i) => ({ text: String(i.text).toUpperCase() }));
await agent.start();
const client = createHubClient({ hub: h.address });
const result = await client.call({ capability: "text.upper" }, { text: "hi" });
console.log(JSON.stringify(result.output));
client.close();
await agent.stop();
await h.close();
if (!(new ClawHubError("USAGE", "x") instanceof Error)) throw new Error("ClawHubError");
`,
    );
    const used = await run(NODE, ["use.mjs"], app);
    expect(used.code, used.stderr).toBe(0);
    expect(used.stdout.trim()).toBe('{"text":"HI"}');
    // The types resolve through the package's exports map, as a TypeScript user's would.
    await writeFile(
      join(app, "types.ts"),
      `import { createHub, type HubOptions } from "clawhub-hub/hub";
import { startRegistryServer } from "clawhub-hub/registry";
import type { ControlPlane } from "clawhub-hub/control-plane";
import type { CertificateAuthority } from "clawhub-hub/identity";
import { createAgent } from "clawhub-hub";
const options: HubOptions = { port: 0 };
export const started: Promise<unknown>[] = [createHub(options), startRegistryServer({ port: 0, dataDir: "data" })];
export type Both = [ControlPlane, CertificateAuthority];
export const agent: ReturnType<typeof createAgent> | undefined = undefined;
`,
    );
    await writeFile(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          noEmit: true,
          strict: true,
          skipLibCheck: true,
          module: "nodenext",
          moduleResolution: "nodenext",
          types: [],
        },
        files: ["types.ts"],
      }),
    );
    const tsc = await run(
      NODE,
      [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"],
      app,
    );
    expect(tsc.code, tsc.stdout + tsc.stderr).toBe(0);
  }, 120_000);

  it("says which Node it needs, which one runs, and how to get it, on an old Node", async () => {
    // The machine's own Node (20 here, still common) if it is older than 22.12; else nothing to show.
    const system = ["/usr/bin/node", "/usr/local/bin/node"].find((p) => existsSync(p));
    if (!system) return;
    const version = await run(system, ["--version"], dir);
    const [major = 0, minor = 0] = version.stdout.trim().slice(1).split(".").map(Number);
    if (major > 22 || (major === 22 && minor >= 12)) return;
    const out = await run(system, [bin, "--version"], dir);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("needs Node.js 22.12 or newer");
    expect(out.stderr).toContain(version.stdout.trim());
    expect(out.stderr).toContain("nvm install 24");
    expect(out.stderr).not.toContain("in this repository");
  });
});
