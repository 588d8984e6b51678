/**
 * Hostile input the hub must survive (a red-team pass): one process serves the hub and the
 * registry, so anything that blocks its event loop or grows its memory without bound takes
 * both down. Each case runs through the SDK over real gRPC and asserts outcomes: refused with
 * the right code, memory released, and a bystander agent (heartbeats every 100 ms) still
 * connected, which a loop held for a few hundred ms would have dropped. Timings are measured
 * by bench/hostile.ts, not here.
 */
import * as http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { isClawHubError } from "../src/errors/index.ts";
import { createWorkPool, type WorkPool } from "../src/sandbox/index.ts";
import {
  createHubSandbox,
  type HubSandbox,
  rejection,
  stalledAgentStream,
  until,
} from "./helpers/hub.ts";

let sb: HubSandbox | undefined;
afterEach(async () => {
  await sb?.close();
  sb = undefined;
});

/** A bystander agent whose heartbeats (every 100 ms, dropped after 300 ms) prove the loop ran. */
async function bystander(s: HubSandbox) {
  const a = s.agent({ name: "bystander", id: "bystander" });
  a.capability({ name: "ping", description: "answers pong" }, () => "pong");
  await a.start();
  return a;
}

describe("hostile input", () => {
  it("matches a catastrophic JSON Schema pattern in linear time", async () => {
    sb = await createHubSandbox({ heartbeatIntervalMs: 100 });
    await bystander(sb);
    const evil = sb.agent({ name: "evil" });
    evil.capability(
      {
        name: "redos",
        description: "a pattern that backtracks exponentially in a backtracking engine",
        input: { type: "string", pattern: "^(a+)+$" },
      },
      () => "matched",
    );
    await evil.start();
    const s = sb;
    for (let i = 0; i < 5; i++) {
      const error = await rejection(s.client.call("redos", `${"a".repeat(30 + i)}!`));
      expect(error.code).toBe("SCHEMA_INVALID");
    }
    expect((await s.client.agents()).map((a) => a.agentId)).toContain("bystander");
    expect((await s.client.call("redos", "aaaa")).output).toBe("matched");
  });

  it("refuses a schema with a pattern RE2 cannot run in linear time, at registration", async () => {
    sb = await createHubSandbox();
    const a = sb.agent({ name: "backref" });
    a.capability(
      {
        name: "backref",
        description: "a backreference",
        input: { type: "string", pattern: "^(a)\\1$" },
      },
      () => null,
    );
    const error = await rejection(a.start());
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.message).toContain("invalid JSON Schema");
  });

  it("scopes a schema's $id to the agent that declared it: no squatting", async () => {
    sb = await createHubSandbox();
    const squatter = sb.agent({ name: "squatter" });
    squatter.capability(
      {
        name: "squat",
        description: "claims an $id",
        input: { $id: "https://example.com/order.json", type: "number" },
      },
      () => "squatted",
    );
    await squatter.start();
    const shop = sb.agent({ name: "shop" });
    shop.capability(
      {
        name: "order",
        description: "takes orders",
        input: {
          $id: "https://example.com/order.json",
          type: "object",
          properties: { item: { type: "string" } },
          required: ["item"],
        },
      },
      (input: { item: string }) => `ordered ${input.item}`,
    );
    await shop.start();
    expect((await sb.client.call("order", { item: "tea" })).output).toBe("ordered tea");
    expect((await sb.client.call("squat", 7)).output).toBe("squatted");
  });

  it("scans workflow templates in linear time and validates deep graphs without recursion", async () => {
    sb = await createHubSandbox({ heartbeatIntervalMs: 100 });
    await bystander(sb);
    const s = sb;
    const unclosed = await rejection(
      s.client.flows.validate({
        name: "unclosed",
        nodes: [{ id: "a", capability: "ping", input: { text: "${{".repeat(160_000) } }],
      }),
    );
    expect(unclosed.code).toBe("INVALID_WORKFLOW");
    expect(unclosed.message).toContain("unclosed");
    // A 10,000-node chain listed in reverse order: a recursive search overflows the stack.
    const chain = Array.from({ length: 10_000 }, (_, i) => ({
      id: `n${i}`,
      capability: "ping",
      ...(i > 0 ? { needs: [`n${i - 1}`] } : {}),
    })).reverse();
    expect((await s.client.flows.validate({ name: "chain", nodes: chain })).nodes).toBe(10_000);
    const cyclic = [...chain, { id: "loop", capability: "ping", needs: ["n9999"] }];
    (cyclic[cyclic.length - 1] as { needs: string[] }).needs = ["n9999"];
    (cyclic.find((n) => n.id === "n0") as { needs?: string[] }).needs = ["loop"];
    const cycle = await rejection(s.client.flows.validate({ name: "cycle", nodes: cyclic }));
    expect(cycle.message).toContain("cycle: ");
    expect((await s.client.agents()).map((a) => a.agentId)).toContain("bystander");
  });

  it("bounds the input it holds in bytes: large calls to a silent agent are refused, not buffered", async () => {
    sb = await createHubSandbox({
      maxAgentQueuedBytes: 8 * 1024 * 1024,
      maxQueuedBytes: 16 * 1024 * 1024,
      // Caller, hub and agent share this process: encoding 60 MiB of calls blocks its event loop
      // longer than the sandbox's 200 ms heartbeats allow, and a missed heartbeat loses the agent.
      heartbeatIntervalMs: 5000,
    });
    const silent = sb.agent({ name: "silent", drainTimeoutMs: 100 });
    silent.capability(
      { name: "sink", description: "never answers", maxConcurrency: 64 },
      () => new Promise(() => {}),
    );
    await silent.start();
    const blob = "x".repeat(5 * 1024 * 1024);
    const settled = await Promise.allSettled(
      Array.from({ length: 12 }, () => sb?.client.call("sink", blob, { timeoutMs: 3000 })),
    );
    const refused = settled.filter(
      (r) =>
        r.status === "rejected" &&
        isClawHubError(r.reason) &&
        r.reason.code === "RESOURCE_EXHAUSTED",
    );
    // One 5 MiB call fits the agent's 8 MiB share; every other one is refused at once.
    expect(
      refused,
      JSON.stringify(
        settled.map((r) =>
          r.status === "fulfilled"
            ? "ok"
            : `${(r.reason as { code?: string }).code} ${(r.reason as Error).message}`,
        ),
      ),
    ).toHaveLength(11);
    expect(sb.hub.core.dispatcher.heldBytes).toBe(0);
  }, 30_000);

  it("checks uniqueItems over 20,000 objects in linear time on the work pool (a bystander stays)", async () => {
    const pool = createWorkPool({ size: 1 });
    const jobs: string[] = [];
    const counted: WorkPool = {
      run: (kind, request, budget) => {
        jobs.push(kind);
        return pool.run(kind, request, budget);
      },
      get pending() {
        return pool.pending;
      },
      get workers() {
        return pool.workers;
      },
      close: () => pool.close(),
    };
    sb = await createHubSandbox({ heartbeatIntervalMs: 100, pool: counted });
    await bystander(sb);
    const strict = sb.agent({ name: "unique" });
    strict.capability(
      {
        name: "unique.set",
        description: "takes a set of objects",
        input: { type: "array", uniqueItems: true },
      },
      (items: unknown[]) => items.length,
    );
    await strict.start();
    const items = Array.from({ length: 20_000 }, (_, i) => ({ id: i, name: `n${i % 10}` }));
    expect((await sb.client.call("unique.set", items)).output).toBe(20_000);
    const error = await rejection(sb.client.call("unique.set", [...items, { name: "n3", id: 3 }]));
    expect(error.code).toBe("SCHEMA_INVALID");
    expect(error.message).toContain("items ## 20000 and 3 are identical");
    // Both large inputs were parsed and checked on a worker; a small one is checked in place.
    expect(jobs.filter((j) => j === "validateJson")).toHaveLength(2);
    const small = await rejection(sb.client.call("unique.set", [{ a: 1 }, { a: 1 }]));
    expect(small.code).toBe("SCHEMA_INVALID");
    expect(jobs.filter((j) => j === "validateJson")).toHaveLength(2);
    expect((await sb.client.agents()).map((a) => a.agentId)).toContain("bystander");
    await sb.close();
    sb = undefined;
    await pool.close();
  }, 30_000);

  it("compiles large schemas off the event loop and bounds what compiled schemas hold", async () => {
    sb = await createHubSandbox({ heartbeatIntervalMs: 100, maxSchemaBytes: 4 * 1024 * 1024 });
    await bystander(sb);
    // 6 capabilities x 2 distinct schemas of 300 nested properties (~37 KiB of JSON, ~550 KiB of
    // validator each): the shape; compiled on the event loop it stalled every agent.
    const schema = (tag: string) => {
      const properties: Record<string, unknown> = {};
      for (let i = 0; i < 300; i++)
        properties[`${tag}${i}`] = {
          type: "object",
          properties: { a: { type: "string", maxLength: 10 }, b: { type: "array" } },
        };
      return { type: "object", properties };
    };
    const heavy = sb.agent({ name: "heavy" });
    for (let c = 0; c < 6; c++)
      heavy.capability(
        {
          name: `heavy.c${c}`,
          description: `heavy capability ${c}`,
          input: schema(`in${c}_`),
          output: schema(`out${c}_`),
        },
        () => ({}),
      );
    // 12 validators of ~550 KiB do not fit in 4 MiB: refused, and nothing is kept.
    const refused = await rejection(heavy.start());
    expect(refused.code).toBe("LIMIT_EXCEEDED");
    expect(refused.message).toContain("KiB of compiled schemas");
    await heavy.stop();
    expect(sb.hub.core.ctx.schemas.size).toBe(0);
    expect(sb.hub.core.ctx.schemas.bytes).toBe(0);
    // Two of them fit, serve, and are freed when their agent goes.
    const light = sb.agent({ name: "light" });
    light.capability(
      { name: "light.c", description: "one heavy schema", input: schema("x"), output: schema("y") },
      () => ({}),
    );
    await light.start();
    expect((await sb.client.call("light.c", { x1: { a: "ok" } })).output).toEqual({});
    expect((await rejection(sb.client.call("light.c", { x1: { a: 5 } }))).code).toBe(
      "SCHEMA_INVALID",
    );
    expect(sb.hub.core.ctx.schemas.size).toBe(2);
    await light.stop();
    const end = Date.now() + 5_000;
    while (sb.hub.core.ctx.schemas.size > 0 && Date.now() < end)
      await new Promise((r) => setTimeout(r, 20));
    expect(sb.hub.core.ctx.schemas.bytes).toBe(0);
    expect((await sb.client.agents()).map((a) => a.agentId)).toEqual(["bystander"]);
  }, 60_000);

  it("refuses a schema whose validator would be too large to load quickly", async () => {
    sb = await createHubSandbox();
    const properties: Record<string, unknown> = {};
    for (let i = 0; i < 1000; i++)
      properties[`p${i}`] = {
        type: "object",
        properties: { a: { type: "string", maxLength: 10 }, b: { type: "array" } },
      };
    const a = sb.agent({ name: "huge" });
    a.capability(
      { name: "huge", description: "huge", input: { type: "object", properties } },
      () => 1,
    );
    const error = await rejection(a.start());
    expect(error.code).toBe("LIMIT_EXCEEDED");
    expect(error.message).toContain("compiles to a validator of");
  }, 30_000);

  it("drops a subscriber that stops reading once 4 MiB are unsent; readers get every event", async () => {
    const log: string[] = [];
    sb = await createHubSandbox({
      maxPeerBufferBytes: 4 * 1024 * 1024,
      maxEventBytes: 2 * 1024 * 1024,
      heartbeatIntervalMs: 5000,
      logger: (line) => log.push(line),
    });
    const s = sb;
    const reader = sb.agent({ name: "reader", id: "reader" });
    reader.capability({ name: "noop", description: "does nothing" }, () => null);
    let received = 0;
    reader.subscribe("big.>", () => {
      received++;
    });
    await reader.start();
    // A raw agent that subscribes and then stops reading its stream (HTTP/2 flow control).
    const stalled = stalledAgentStream(s.hub.address);
    stalled.write({
      kind: "register",
      register: {
        agentId: "stalled",
        name: "stalled",
        labels: {},
        capabilities: [{ name: "stalled.cap", description: "never reads", maxConcurrency: 1 }],
      },
    });
    stalled.write({ kind: "subscribe", subscribe: { topic: "big.>", unsubscribe: false } });
    await until(async () => (await s.client.agents()).length === 2);
    stalled.stall();
    const publisher = sb.agent({ name: "publisher" });
    publisher.capability({ name: "pub", description: "publishes" }, () => null);
    await publisher.start();
    const mib = "x".repeat(1024 * 1024);
    // Paced by the reader: one that keeps reading never has 4 MiB unsent, however loaded the
    // machine is (a fixed 10 ms pace let a starved reader fall behind and be dropped too).
    for (let i = 0; i < 30; i++) {
      publisher.publish("big.data", { i, mib });
      await until(() => received === i + 1, 10_000);
    }
    await until(
      async () => !(await s.client.agents()).some((a) => a.agentId === "stalled"),
      10_000,
    );
    await until(() => received === 30, 10_000);
    // An event over the size limit reaches nobody and is logged.
    publisher.publish("big.data", { huge: "x".repeat(3 * 1024 * 1024) });
    await until(() => log.some((l) => l.includes("dropped: 3073 KiB, over the 2048 KiB limit")));
    expect(received).toBe(30);
    expect(
      log.some((l) =>
        /agent stalled \(stalled\) gone: stopped reading: \d+ MiB unsent \(limit 4 MiB\)/.test(l),
      ),
    ).toBe(true);
    expect(await stalled.ended).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    stalled.close();
  }, 60_000);

  it("bounds running workflow runs per caller and in all, by count and by bytes held", async () => {
    sb = await createHubSandbox({
      workflows: {
        limits: { maxRunning: 5, maxRunningPerCaller: 3, maxRunningBytesPerCaller: 3 * 1048576 },
      },
    });
    const silent = sb.agent({ name: "silent", drainTimeoutMs: 100 });
    silent.capability(
      { name: "wait", description: "never answers", maxConcurrency: 100 },
      () => new Promise(() => {}),
    );
    await silent.start();
    const flow = {
      name: "waits",
      nodes: [{ id: "w", capability: "wait", input: "${{ inputs }}" }],
    };
    const big = { blob: "x".repeat(1024 * 1024) };
    const s = sb;
    // Bytes: two runs holding 1 MiB of inputs each fit in 3 MiB; a third does not.
    const first = await s.client.flows.start(flow, big);
    await s.client.flows.start(flow, big);
    const bytes = await rejection(s.client.flows.start(flow, big));
    expect(bytes.code).toBe("RESOURCE_EXHAUSTED");
    expect(bytes.message).toMatch(
      /yours hold 2\.0 MiB and this one 1\.0 MiB \(limit 3\.0 MiB per caller\)/,
    );
    // Count: a small third run fits, a fourth does not.
    await s.client.flows.start(flow, {});
    const count = await rejection(s.client.flows.start(flow, {}));
    expect(count.message).toContain("3 are yours (limit 3 per caller)");
    // A finished (cancelled) run frees its share.
    await s.client.flows.cancel(first.runId);
    await until(async () => (await s.client.flows.get(first.runId)).status !== "running");
    const again = await s.client.flows.start(flow, {});
    expect(again.status).toBe("running");
  }, 30_000);
});
