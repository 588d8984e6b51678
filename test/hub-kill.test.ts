import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHub, type Hub, outputOf } from "../src/hub/index.ts";
import { until } from "./helpers/hub.ts";
import { startProcess } from "./helpers/process.ts";

const AGENT = fileURLToPath(new URL("./helpers/slow-agent.ts", import.meta.url));

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
    const start = async (id: string) =>
      (await startProcess([AGENT, hub.address, id], /ready/)).child;
    children.push(await start("agent-a"), await start("agent-b"));
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
