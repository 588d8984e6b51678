/**
 * Errors and output that say what happened, through the CLI against a real hub: the agent's
 * failure type under --json, a mistyped capability, discover's ordering, one JSON shape for
 * schemas, resuming a finished run, and the hub going away while a run is followed.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { taskError } from "../src/sdk/index.ts";
import { createHubSandbox, gate, type HubSandbox, until } from "./helpers/hub.ts";
import { OUR_BIN, type Run } from "./helpers/registry.ts";

describe("errors and output through the CLI", () => {
  let sb: HubSandbox;
  let dir: string;
  const release = gate();
  const cli = (args: string[]) =>
    new Promise<Run>((resolve) => {
      execFile(
        process.execPath,
        [OUR_BIN, ...args, "--hub", sb.hub.address],
        { env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 },
        (error, stdout, stderr) =>
          resolve({
            code: error ? (typeof error.code === "number" ? error.code : 1) : 0,
            stdout,
            stderr,
          }),
      );
    });

  beforeAll(async () => {
    sb = await createHubSandbox();
    dir = await mkdtemp(join(tmpdir(), "clawhub-cli-errors-"));
    const agent = sb.agent({ name: "checker" });
    agent.capability(
      {
        name: "text.check",
        description: "Checks that a text is long enough to be summarised.",
        input: { type: "object", properties: { text: { type: "string" } } },
      },
      () => {
        throw taskError("BAD_TEXT", "the text is too short", { retryable: false });
      },
    );
    agent.capability(
      {
        name: "slow.echo",
        description: "Echoes its input after a while.",
        input: { type: "object" },
      },
      async (input: unknown) => {
        await release.opened;
        return { echoed: input };
      },
    );
    await agent.start();
  });
  afterAll(async () => {
    release.open();
    await sb?.close().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("keeps the agent's failure type under --json, and names it in text", async () => {
    const r = await cli(["call", "text.check", "--input", '{"text":"x"}', "--json"]);
    expect(r.code).toBe(1);
    const error = JSON.parse(r.stdout).error as {
      code: string;
      details: { failure: { type: string; nonRetryable: boolean } };
    };
    expect(error.code).toBe("TASK_FAILED");
    expect(error.details.failure).toMatchObject({ type: "BAD_TEXT", nonRetryable: true });
    const text = await cli(["call", "text.check", "--input", '{"text":"x"}']);
    expect(text.stderr).toContain("failure: BAD_TEXT (not retryable)");
  });

  it("says a mistyped capability is not found, with the nearest names", async () => {
    const r = await cli(["call", "text.chek", "--input", "{}"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no connected agent has a capability named "text.chek"');
    expect(r.stderr).toContain('Did you mean "text.check"?');
    const json = await cli(["call", "text.chek", "--input", "{}", "--json"]);
    expect(JSON.parse(json.stdout).error).toMatchObject({
      code: "NOT_FOUND",
      details: { suggestions: ["text.check"] },
    });
  });

  it("shows the score discover sorts by, and schemas as objects in agents and discover", async () => {
    const r = await cli(["discover", "is this text long enough"]);
    expect(r.code, r.stderr).toBe(0);
    const [header, ...rows] = r.stdout.trim().split("\n");
    expect(header).toMatch(/^CAPABILITY\s+SCORE\s+SIMILARITY/);
    const scores = rows.map((row) => Number(row.split(/\s+/)[1]));
    expect(scores).toEqual([...scores].sort((a, b) => b - a));

    const agents = JSON.parse((await cli(["agents", "--json"])).stdout) as Array<{
      capabilities: Array<{ name: string; input: unknown }>;
    }>;
    const discovered = JSON.parse(
      (await cli(["discover", "check a text", "--json"])).stdout,
    ) as Array<{
      name: string;
      input: unknown;
    }>;
    const inAgents = agents[0]?.capabilities.find((c) => c.name === "text.check")?.input;
    expect(inAgents).toEqual({ type: "object", properties: { text: { type: "string" } } });
    expect(discovered.find((d) => d.name === "text.check")?.input).toEqual(inAgents);
  });

  it("refuses to resume a cancelled run, with an exit code that says so", async () => {
    const run = await sb.client.flows.start(
      { name: "held", nodes: [{ id: "echo", capability: "slow.echo", input: { a: 1 } }] },
      {},
    );
    await sb.client.flows.cancel(run.runId);
    const r = await cli(["runs", "resume", run.runId]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`run ${run.runId} is cancelled: it cannot be resumed`);
  });

  it("says the run is journaled and resumes when the hub goes away while it is followed", async () => {
    const flow = join(dir, "slow.yaml");
    await writeFile(
      flow,
      "name: slow\nnodes:\n  - id: echo\n    capability: slow.echo\n    input: { a: 1 }\n",
    );
    const child = spawn(process.execPath, [OUR_BIN, "run", flow, "--hub", sb.hub.address], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    await until(() => /run (\S+) started/.test(err), 20_000);
    const runId = /run (\S+) started/.exec(err)?.[1] as string;
    await sb.hub.close();
    expect(await exited).toBe(3);
    expect(err).toContain(`while following run ${runId}: the run is journaled and resumes`);
    expect(err).toContain(`clawhub runs show ${runId}`);
  }, 60_000);
});
