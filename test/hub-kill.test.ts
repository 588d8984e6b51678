import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHub, type Hub, outputOf } from "../src/hub/index.ts";
import { until } from "./helpers/hub.ts";

const AGENT = fileURLToPath(new URL("./helpers/slow-agent.ts", import.meta.url));

function startAgent(hub: string, id: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [AGENT, hub, id], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      if (d.toString().includes("ready")) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`agent ${id} exited with ${code}`)));
  });
}

describe("an agent killed mid-task", () => {
  let hub: Hub;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    hub = await createHub({ port: 0, heartbeatIntervalMs: 200 });
  });
  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await hub.close();
  });

  it("loses its task to another agent, which completes it with the same idempotency key", async () => {
    children.push(
      await startAgent(hub.address, "agent-a"),
      await startAgent(hub.address, "agent-b"),
    );
    await until(() => hub.agents().length === 2);
    const pending = hub.call({
      capability: "slow.echo",
      input: { ms: 1500, value: "payload" },
      idempotencyKey: "job-7",
    });
    await until(() => hub.agents().some((a) => a.inFlight === 1));
    const victim = hub.agents().find((a) => a.inFlight === 1)?.agentId as string;
    const index = victim === "agent-a" ? 0 : 1;
    children[index]?.kill("SIGKILL");
    const outcome = await pending;
    const survivor = victim === "agent-a" ? "agent-b" : "agent-a";
    expect(outcome.agentId).toBe(survivor);
    expect(outcome.attempts).toBe(2);
    expect(outputOf(outcome)).toEqual({
      value: "payload",
      agentId: survivor,
      attempt: 2,
      key: "job-7",
    });
    await until(() => hub.agents().length === 1);
  });
});
