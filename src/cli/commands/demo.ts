import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ClawHubError } from "../../errors/index.ts";
import { createHub } from "../../hub/index.ts";
import { startRegistryServer } from "../../registry/index.ts";
import { type ClientTls, createHubClient } from "../../sdk/index.ts";
import { createLocalEmbedder } from "../../search/index.ts";
import { parseWorkflowText } from "../../workflow/index.ts";
import type { CommandSpec } from "../command.ts";
import { describeRun } from "./flow.ts";
import { keepOperatorIdentity, openControlPlane, openHubSecurity } from "./hub.ts";
import { writePrivateJson } from "./hub-credentials.ts";

/** The package root: the nearest folder above this module holding bin/clawhub.js (sources, dist/ or the bundle). */
const ROOT = (() => {
  let dir = fileURLToPath(new URL(".", import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "bin", "clawhub.js"))) return dir;
    dir = join(dir, "..");
  }
  return fileURLToPath(new URL("../../../", import.meta.url));
})();
const BIN = join(ROOT, "bin", "clawhub.js");
/**
 * The example agents' entry: the TypeScript sources in a checkout (they import ../../src), the
 * bundle scripts/build.ts makes of them in the package (which ships no src/, and Node refuses to
 * strip types inside node_modules).
 */
/** The example agents `run.ts` starts by default (llm when CLAWHUB_LLM_URL is set). */
const EXAMPLE_AGENTS = ["text-stats", "summarizer", "chunker", "reporter", "flaky", "llm"];
const AGENTS = existsSync(join(ROOT, "src"))
  ? join(ROOT, "examples", "agents", "run.ts")
  : join(ROOT, "dist", "bundle", "example-agents.mjs");

/**
 * `clawhub demo`: the whole product on a temporary directory, then everything stopped and
 * removed. Steps run as real `clawhub` processes against a real registry and hub.
 */
export const demoCommand: CommandSpec = {
  path: ["demo"],
  summary: "run the end-to-end demo: registry, skills, hub, example agents, the triage workflow",
  help:
    "Starts a registry and a hub on free loopback ports with a temporary data directory, publishes\n" +
    "the example skills, searches and installs one, starts the example agents, runs the triage\n" +
    "workflow (examples/flows/triage.yaml) on this README, prints each step, then stops and cleans up.\n" +
    "--keep leaves everything running until interrupted, to look around.",
  configure(cmd) {
    cmd.option("--keep", "keep the registry, hub and agents running until interrupted");
    cmd.option("--tls", "a secured hub (the default; kept for scripts that pass it)");
    cmd.option(
      "--insecure",
      "a plaintext hub instead of mutual TLS with each example agent enrolled with a token of its own",
    );
    cmd.option(
      "--embedder <kind>",
      "search embedder for registry and hub: local (the bundled model: search and discovery by meaning) or none (words only, faster)",
      "local",
    );
  },
  async run(_args, options, ctx) {
    const examples = join(ROOT, "examples");
    if (!existsSync(join(examples, "flows")) || !existsSync(AGENTS))
      throw new ClawHubError("NOT_FOUND", `the examples are missing (${examples}, ${AGENTS})`, {
        hint: "Reinstall the package (npm install -g clawhub-hub), or in a checkout: npm ci && npm run demo",
      });
    const out = (text: string) => ctx.io.stdout.write(`${text}\n`);
    const work = await mkdtemp(join(tmpdir(), "clawhub-demo-"));
    const home = join(work, "home");
    await mkdir(join(work, "project"), { recursive: true });
    if (options.embedder !== "local" && options.embedder !== "none")
      throw new ClawHubError(
        "USAGE",
        `--embedder must be local or none, got ${JSON.stringify(options.embedder)}`,
      );
    // Meaning-based search and discovery are the point of showing it: the bundled model, shared
    // by the registry and the hub (one instance, as `clawhub serve` does).
    const model = options.embedder === "local" ? createLocalEmbedder() : undefined;
    const registry = await startRegistryServer({
      port: 0,
      dataDir: join(work, "registry"),
      embedder: model ?? "none",
    });
    const controlPlane = await openControlPlane(join(work, "hub"));
    const security =
      options.insecure === true
        ? undefined
        : await openHubSecurity(join(work, "hub"), controlPlane);
    const hub = await createHub({
      ...(security ? { security } : {}),
      port: 0,
      controlPlane,
      heartbeatIntervalMs: 500,
      ...(model ? { embedder: model } : {}),
      // Short enough to watch the flaky flow's circuit open and close again.
      workflows: { breaker: { failures: 5, halfOpenAfterMs: 1000 } },
    });
    const children: ChildProcess[] = [];
    const env = {
      ...process.env,
      HOME: home,
      XDG_CONFIG_HOME: join(home, ".config"),
      XDG_CACHE_HOME: join(home, ".cache"),
      XDG_DATA_HOME: join(home, ".local/share"),
      CLAWHUB_REGISTRY: registry.url,
      CLAWHUB_HUB: hub.address,
      NO_COLOR: "1",
    };
    // A secured hub: the steps run as the operator (its identity stored in the demo's config
    // directory, as `clawhub hub` does), the in-process clients as a caller of their own,
    // and each example agent enrolls with a one-time token of its own name.
    let tls: ClientTls | undefined;
    let agentArgs: string[] = [];
    if (security) {
      await keepOperatorIdentity(
        {
          ...ctx,
          config: { ...ctx.config, configPath: join(home, ".config", "clawhub", "config.json") },
        },
        security,
        hub.address,
        join(work, "hub"),
      ).then((operator) => operator.stop());
      tls = await security.issueLocal({ name: "demo", kind: "caller", ttlMs: 3_600_000 });
      const tokens: Record<string, string> = {};
      for (const name of EXAMPLE_AGENTS)
        tokens[name] = (await security.createEnrollment({ name, kind: "agent" })).token;
      const file = join(work, "agent-tokens.json");
      await writePrivateJson(file, tokens);
      agentArgs = ["--tokens", file];
    }
    const hubClient = () => createHubClient({ hub: hub.address, ...(tls ? { tls } : {}) });
    let failed = 0;
    const step = (title: string, argv: string[], expect = 0) =>
      new Promise<void>((resolve) => {
        // Printed as it can be pasted into a shell: arguments quoted where a shell would split
        // or expand them.
        out(`\n$ clawhub ${argv.map(shellQuote).join(" ")}    # ${title}`);
        const child = spawn(process.execPath, [BIN, ...argv], {
          cwd: join(work, "project"),
          env,
          stdio: ["ignore", "pipe", "pipe"],
        });
        child.stdout.on("data", (d: Buffer) => ctx.io.stdout.write(d.toString()));
        child.stderr.on("data", (d: Buffer) => ctx.io.stdout.write(d.toString()));
        child.on("exit", (code) => {
          if (code !== expect) {
            failed++;
            out(`(exit ${code}, expected ${expect})`);
          }
          resolve();
        });
      });
    try {
      out(`ClawHub registry: ${registry.url}`);
      out(`ClawHub hub:      ${hub.address}`);
      out(`Data (removed at the end): ${work}`);
      await step("log in with the first admin's token", [
        "login",
        "--token",
        registry.bootstrap?.token ?? "",
      ]);
      await step("validate the example skills against the Agent Skills spec", [
        "skill",
        "validate",
        join(examples, "skills"),
        "--strict",
        "-q",
      ]);
      await step("publish", [
        "skill",
        "publish",
        join(examples, "skills", "text-stats"),
        "--version",
        "1.0.0",
      ]);
      await step("publish", ["skill", "publish", join(examples, "skills", "release-notes")]);
      await step("search the registry", ["search", "how long is this document"]);
      await step("install for Claude Code", ["install", "text-stats", "--agent", "claude"]);
      await step("list what is installed", ["list"]);

      out("\n# starting the example agents (examples/agents)");
      const agents = spawn(process.execPath, [AGENTS, "--hub", hub.address, ...agentArgs], {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      children.push(agents);
      await new Promise<void>((resolve, reject) => {
        let text = "";
        // The last few KiB of what the agents wrote to stderr: the reason when they die.
        let errors = "";
        agents.stderr?.on("data", (d: Buffer) => {
          errors = (errors + d.toString()).slice(-4096);
        });
        agents.stdout?.on("data", (d: Buffer) => {
          text += d.toString();
          if (text.includes("ready")) resolve();
        });
        agents.once("exit", (code, signal) =>
          reject(
            new ClawHubError(
              "INTERNAL",
              `the example agents (${AGENTS}) exited with ${code ?? signal}${errors.trim() ? `:\n${errors.trim()}` : ""}`,
            ),
          ),
        );
      });
      await step("agents connected to the hub", ["agents"]);
      await step("find a capability by need", ["discover", "summarise a long text"]);
      await step("call one capability", [
        "call",
        "text.stats",
        "--input",
        JSON.stringify({ text: "ClawHub routes tasks to agents. It runs workflows." }),
      ]);
      await step("validate the triage workflow against the live agents", [
        "flow",
        "validate",
        join(examples, "flows", "triage.yaml"),
        "--live",
      ]);
      await step("its graph", ["flow", "graph", join(examples, "flows", "triage.yaml")]);

      out(
        "\n# the triage workflow on this README: triage -> summary, stats, sections in parallel -> report",
      );
      const client = hubClient();
      try {
        const spec = parseWorkflowText(
          await readFile(join(examples, "flows", "triage.yaml"), "utf8"),
        );
        const text = await readFile(join(ROOT, "README.md"), "utf8");
        const run = await client.flows.start(spec, { text });
        const announced = new Set<string>();
        const final = await client.flows.watch(run.runId, (view) => {
          for (const n of view.nodes) {
            if (n.status !== "running" || announced.has(n.id)) continue;
            announced.add(n.id);
            out(`  … ${n.id} running`);
          }
        });
        for (const n of final.nodes) {
          const shown = JSON.stringify(n.output);
          out(
            `  ✓ ${n.id.padEnd(9)} ${shown && shown.length > 160 ? `${shown.slice(0, 157)}...` : shown}`,
          );
        }
        out(describeRun(final, ctx.now()));
        if (final.status !== "succeeded") failed++;
      } finally {
        client.close();
      }
      const events = hubClient();
      const watcher = events.events(
        (e) => out(`  [hub event] ${e.kind} ${String(e.data.key ?? "")}`),
        {
          filter: "breaker.>",
        },
      );
      await step("a flaky dependency: retries, the breaker opens, the fallback answers", [
        "run",
        join(examples, "flows", "flaky.yaml"),
        "--input",
        'cities=["Oslo","Lima","Pune","Kyiv"]',
      ]);
      watcher.stop();
      events.close();
      await step("runs are journaled by the hub", ["runs", "list"]);
      out(
        `\nLook around: registry ${registry.url}/api/v1/search?q=text  ·  ${registry.url}/.well-known/clawhub.json  ·  hub ${hub.address} (clawhub agents --hub ${hub.address})`,
      );
      out(
        failed === 0
          ? "demo: every step behaved as expected."
          : `demo: ${failed} step(s) misbehaved.`,
      );
      if (options.keep === true) {
        out("--keep: running until interrupted (Ctrl-C).");
        await ctx.waitForShutdown();
      }
    } finally {
      for (const child of children) {
        child.kill("SIGTERM");
        if (child.exitCode === null) await new Promise((r) => child.once("exit", r));
      }
      await hub.close();
      await security?.close();
      await controlPlane.close();
      await registry.close();
      await rm(work, { recursive: true, force: true });
    }
    return { data: { failed }, text: "", exitCode: failed === 0 ? 0 : 1 };
  },
};

/** A word as a POSIX shell reads it back: bare when safe, else single-quoted. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+,^-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, "'\\''")}'`;
}
