/**
 * `clawhub run` stopped with Ctrl-C: the CLI stops watching and says so, the run (the hub's,
 * journaled) goes on and finishes, and the message names how to follow or cancel it.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { createHubSandbox, gate, type HubSandbox, until } from "./helpers/hub.ts";
import { OUR_BIN } from "./helpers/registry.ts";

let sb: HubSandbox | undefined;
let dir: string | undefined;
afterEach(async () => {
  await sb?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("on Ctrl-C says the run continues and how to cancel it, and the run finishes", async () => {
  sb = await createHubSandbox();
  const release = gate();
  const agent = sb.agent({ name: "slow-1" });
  agent.capability(
    { name: "slow.echo", description: "echoes after a while", input: { type: "object" } },
    async (input: unknown) => {
      await release.opened;
      return { echoed: input };
    },
  );
  await agent.start();
  dir = await mkdtemp(join(tmpdir(), "clawhub-run-int-"));
  const flow = join(dir, "slow.yaml");
  await writeFile(
    flow,
    "name: slow\nnodes:\n  - id: echo\n    capability: slow.echo\n    input: { a: 1 }\n",
  );
  const child = spawn(process.execPath, [OUR_BIN, "run", flow, "--hub", sb.hub.address], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  await until(() => /run (\S+) started/.test(err), 20_000);
  const runId = /run (\S+) started/.exec(err)?.[1] as string;
  child.kill("SIGINT");
  expect(await exited).toBe(130);
  expect(out).toContain(`Run ${runId} continues on the hub.`);
  expect(out).toContain(`cancel: clawhub runs cancel ${runId}`);
  // The run was not cancelled by the Ctrl-C: released, it succeeds.
  release.open();
  await until(async () => (await sb?.client.flows.get(runId))?.status === "succeeded", 20_000);
}, 60_000);
