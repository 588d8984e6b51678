import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { type ClientTls, createHubAdmin, createHubClient } from "../src/sdk/index.ts";
import { until } from "./helpers/hub.ts";
import { freePort, startProcess } from "./helpers/process.ts";
import { OUR_BIN } from "./helpers/registry.ts";

const AGENT = fileURLToPath(new URL("./helpers/counting-agent.ts", import.meta.url));

describe("durable workflow runs", () => {
  const children: ChildProcess[] = [];
  let dir = "";
  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("resumes after kill -9 of the hub: done steps are not run again, the in-flight one is retried with its key", async () => {
    dir = await mkdtemp(join(tmpdir(), "clawhub-resume-"));
    const log = join(dir, "tasks.log");
    const port = await freePort();
    const hubArgs = [
      OUR_BIN,
      "hub",
      "--port",
      String(port),
      "--data",
      join(dir, "hub"),
      "--embedder",
      "none",
      "--heartbeat",
      "200",
      "--json",
      "--tls",
    ];
    // A secured hub: the operator's identity is stored in this config directory on start.
    const config = { CLAWHUB_CONFIG_PATH: join(dir, "config", "config.json") };
    const start = async (args: string[], ready: RegExp) =>
      (await startProcess(args, ready, config)).child;
    let hub = await start(hubArgs, /"hub":/);
    children.push(hub);
    const operator = JSON.parse(
      await readFile(join(dir, "config", "hubs", `127.0.0.1_${port}.json`), "utf8"),
    ) as ClientTls;
    const admin = createHubAdmin({ hub: `127.0.0.1:${port}`, tls: operator });
    const { token } = await admin.createEnrollment({ name: "counting", kind: "agent" });
    admin.close();
    children.push(await start([AGENT, `127.0.0.1:${port}`, log, token], /ready/));
    // The certificate stays valid across the hub's restart: the CA is in its data directory.
    const client = createHubClient({ hub: `127.0.0.1:${port}`, tls: operator });
    const run = await client.flows.start({
      name: "durable",
      nodes: [
        { id: "a", capability: "step.fast", input: { n: 1 } },
        { id: "b", capability: "step.slow", input: { n: "${{ nodes.a.output.n }}", ms: 1500 } },
        { id: "c", capability: "step.fast", input: { n: "${{ nodes.b.output.n }}" } },
      ],
      outputs: { n: "${{ nodes.c.output.n }}" },
    });
    const lines = async () =>
      (await readFile(log, "utf8").catch(() => "")).trim().split("\n").filter(Boolean);
    await until(async () => (await lines()).some((l) => l.startsWith("step.slow")), 10_000);
    hub.kill("SIGKILL");
    await new Promise((r) => hub.once("exit", r));
    hub = await start(hubArgs, /"hub":/);
    children.push(hub);
    const final = await client.flows.watch(run.runId);
    client.close();
    expect(final.status).toBe("succeeded");
    expect(final.outputs).toEqual({ n: 21 });
    const executed = await lines();
    // Lines are "<capability> <key> <attempt> <n>": a gets n=1, b n=2, c n=20.
    const of = (cap: string, n: number) =>
      executed.filter((l) => l.startsWith(`${cap} `) && l.endsWith(` ${n}`));
    expect(of("step.fast", 1)).toHaveLength(1);
    const slow = of("step.slow", 2);
    expect(slow).toHaveLength(2);
    const keys = new Set(slow.map((l) => l.split(" ")[1]));
    expect(keys.size).toBe(1);
    // Step keys come from the run's secret: the run id (listed to anyone) does not give them.
    expect([...keys][0]).not.toContain(run.runId);
    expect(of("step.fast", 20)).toHaveLength(1);
  }, 60_000);
});
