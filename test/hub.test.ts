import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import {
  createHubClient,
  type TaskContext,
  taskError,
  tensor,
  toFloat32,
} from "../src/sdk/index.ts";
import { CHANNEL_OPTIONS, hubProtocol } from "../src/wire/index.ts";
import { createHubSandbox, gate, type HubSandbox, rejection, until } from "./helpers/hub.ts";

let sb: HubSandbox | undefined;
afterEach(async () => {
  await sb?.close();
  sb = undefined;
});

const textSchema = {
  type: "object",
  properties: { text: { type: "string", minLength: 1 } },
  required: ["text"],
  additionalProperties: false,
};

describe("hub and SDK", () => {
  it("serves many concurrent calls across many agents", async () => {
    sb = await createHubSandbox();
    const served = new Map<string, number>();
    for (let i = 0; i < 8; i++) {
      const agent = sb.agent({ name: `upper-${i}` });
      agent.capability(
        {
          name: "text.upper",
          description: "upper-cases text",
          input: textSchema,
          maxConcurrency: 2,
        },
        async (input: { text: string }, ctx) => {
          served.set(ctx.agentId, (served.get(ctx.agentId) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 5));
          return { text: input.text.toUpperCase() };
        },
      );
      await agent.start();
    }
    const client = sb.client;
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => client.call("text.upper", { text: `call ${i}` })),
    );
    expect(results.map((r) => (r.output as { text: string }).text)).toEqual(
      Array.from({ length: 200 }, (_, i) => `CALL ${i}`),
    );
    // Every agent took a share: 200 calls over 16 slots and 8 queues.
    expect(served.size).toBe(8);
    for (const n of served.values()) expect(n).toBeGreaterThan(5);
    const agents = await sb.client.agents();
    expect(agents).toHaveLength(8);
    expect(agents.every((a) => a.inFlight === 0 && a.queued === 0)).toBe(true);
  });

  it("routes to the least loaded capable agent, by its own count and by reported telemetry", async () => {
    sb = await createHubSandbox();
    const hold = gate();
    const busy = sb.agent({ name: "busy", id: "busy" });
    busy.capability({ name: "work", description: "does work", maxConcurrency: 4 }, async () => {
      await hold.opened;
      return "busy";
    });
    await busy.start();
    const held = [1, 2, 3].map(() => sb?.client.call("work", {}));
    await until(async () => (await sb?.client.agents())?.[0]?.inFlight === 3);
    const idle = sb.agent({ name: "idle", id: "idle" });
    idle.capability({ name: "work", description: "does work", maxConcurrency: 4 }, () => "idle");
    await idle.start();
    const next = await sb.client.call("work", {});
    expect(next.agentId).toBe("idle");
    hold.open();
    await Promise.all(held);

    // Equal hub-side load: the agent reporting a fuller KV cache loses.
    const hot = sb.agent({
      name: "hot",
      id: "hot",
      telemetry: () => ({ kvCacheUtilization: 0.95 }),
    });
    hot.capability({ name: "gen", description: "generates", maxConcurrency: 2 }, () => "hot");
    const cool = sb.agent({
      name: "cool",
      id: "cool",
      telemetry: () => ({ kvCacheUtilization: 0.1 }),
    });
    cool.capability({ name: "gen", description: "generates", maxConcurrency: 2 }, () => "cool");
    await Promise.all([hot.start(), cool.start()]);
    await until(async () => {
      const list = await sb?.client.agents();
      return (list?.find((a) => a.agentId === "hot")?.telemetry?.kvCacheUtilization ?? 0) > 0.9;
    });
    for (let i = 0; i < 5; i++) expect((await sb.client.call("gen", {})).agentId).toBe("cool");
  });

  it("refuses schema-invalid input with every error, and the agent never sees it", async () => {
    sb = await createHubSandbox();
    let calls = 0;
    const agent = sb.agent({ name: "strict" });
    agent.capability({ name: "echo", description: "echo", input: textSchema }, (input) => {
      calls++;
      return input;
    });
    await agent.start();
    const error = await rejection(sb.client.call("echo", { text: "", extra: 1 }));
    expect(error.code).toBe("SCHEMA_INVALID");
    expect(error.message).toContain("must NOT have fewer than 1 characters");
    expect(error.message).toContain('unknown property "extra"');
    expect(error.details?.errors).toHaveLength(2);
    expect(calls).toBe(0);
    expect((await sb.client.call("echo", { text: "ok" })).output).toEqual({ text: "ok" });
    expect(calls).toBe(1);
  });

  it("refuses output that breaks the declared output schema", async () => {
    sb = await createHubSandbox();
    const agent = sb.agent({ name: "liar" });
    agent.capability(
      { name: "count", description: "counts", output: { type: "object", required: ["n"] } },
      () => ({ m: 1 }),
    );
    await agent.start();
    const error = await rejection(sb.client.call("count", {}));
    expect(error.code).toBe("TASK_FAILED");
    expect(error.failure?.type).toBe("OUTPUT_INVALID");
  });

  it("cancels: the caller's abort reaches the handler's signal", async () => {
    sb = await createHubSandbox();
    const aborted = gate();
    let reason = "";
    const agent = sb.agent({ name: "slow" });
    agent.capability({ name: "slow", description: "slow" }, (_input, ctx: TaskContext) => {
      return new Promise((_resolve, reject) => {
        ctx.signal.addEventListener("abort", () => {
          reason = (ctx.signal.reason as Error).message;
          aborted.open();
          reject(ctx.signal.reason);
        });
      });
    });
    await agent.start();
    const controller = new AbortController();
    const pending = sb.client.call("slow", {}, { signal: controller.signal });
    await until(() => agent.inFlight === 1);
    controller.abort();
    expect((await rejection(pending)).code).toBe("CANCELLED");
    await aborted.opened;
    expect(reason).toMatch(/cancel/i);
    await until(() => agent.inFlight === 0);
  });

  it("propagates the deadline to the agent and fails the call when it passes", async () => {
    sb = await createHubSandbox();
    let seen: number | undefined;
    const agent = sb.agent({ name: "slow" });
    agent.capability({ name: "slow", description: "slow" }, (_input, ctx: TaskContext) => {
      seen = ctx.deadline;
      return new Promise((_r, reject) =>
        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)),
      );
    });
    await agent.start();
    const start = Date.now();
    const error = await rejection(sb.client.call("slow", {}, { timeoutMs: 300 }));
    expect(["DEADLINE_EXCEEDED"]).toContain(error.code);
    expect(seen).toBeGreaterThanOrEqual(start + 250);
    expect(seen).toBeLessThanOrEqual(start + 1000);
    await until(() => agent.inFlight === 0);
  });

  it("never answers a call with output made after its deadline, over hundreds of calls", async () => {
    sb = await createHubSandbox();
    const reasons = new Map<string, number>();
    const agent = sb.agent({ name: "late" });
    agent.capability(
      { name: "late", description: "returns output once its signal aborts", maxConcurrency: 64 },
      (_input, ctx: TaskContext) =>
        new Promise((resolve) =>
          ctx.signal.addEventListener("abort", () => {
            const code = (ctx.signal.reason as { code?: string }).code ?? "none";
            reasons.set(code, (reasons.get(code) ?? 0) + 1);
            resolve({ late: true });
          }),
        ),
    );
    await agent.start();
    const outcomes = new Map<string, number>();
    for (let round = 0; round < 10; round++) {
      const settled = await Promise.allSettled(
        Array.from({ length: 40 }, () => sb?.client.call("late", {}, { timeoutMs: 150 })),
      );
      for (const r of settled) {
        const key =
          r.status === "fulfilled" ? "succeeded" : String((r.reason as { code?: string }).code);
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
    }
    expect(Object.fromEntries(outcomes)).toEqual({ DEADLINE_EXCEEDED: 400 });
    await until(() => agent.inFlight === 0);
    // Whether the agent's own timer or the hub's cancel came first, the reason names the deadline.
    expect(Object.fromEntries(reasons)).toEqual({ DEADLINE_EXCEEDED: 400 });
  }, 60_000);

  it("applies backpressure: bounded queues, then RESOURCE_EXHAUSTED with a retry-after", async () => {
    sb = await createHubSandbox();
    const hold = gate();
    const agent = sb.agent({ name: "narrow", queueLimit: 2 });
    agent.capability(
      { name: "narrow", description: "one at a time", maxConcurrency: 1 },
      async () => {
        await hold.opened;
        return "done";
      },
    );
    await agent.start();
    const accepted = [1, 2, 3].map(() => sb?.client.call("narrow", {}));
    await until(async () => (await sb?.client.agents())?.[0]?.queued === 2);
    const error = await rejection(sb.client.call("narrow", {}));
    expect(error.code).toBe("RESOURCE_EXHAUSTED");
    expect(error.details?.retryAfterMs).toBeGreaterThanOrEqual(100);
    expect(error.hint).toMatch(/Retry after \d+ ms/);
    hold.open();
    expect((await Promise.all(accepted)).map((r) => r?.output)).toEqual(["done", "done", "done"]);
  });

  it("retries a retryable failure on another agent with the same idempotency key", async () => {
    sb = await createHubSandbox();
    const seen: Array<{ agent: string; attempt: number; key: string }> = [];
    for (const name of ["a", "b"]) {
      const agent = sb.agent({ name, id: name });
      agent.capability({ name: "flaky", description: "fails once" }, (_input, ctx) => {
        seen.push({ agent: ctx.agentId, attempt: ctx.attempt, key: ctx.idempotencyKey });
        if (seen.length === 1) throw taskError("BUSY", "upstream busy", { retryable: true });
        return ctx.attempt;
      });
      await agent.start();
    }
    const result = await sb.client.call("flaky", {}, { idempotencyKey: "order-42" });
    expect(result.output).toBe(2);
    expect(result.attempts).toBe(2);
    expect(seen).toHaveLength(2);
    expect(seen[0]?.agent).not.toBe(seen[1]?.agent);
    // The same key on both attempts, scoped to this caller: another caller giving the same key
    // gets another one, so it cannot pre-claim this call's side effect.
    expect(seen[0]?.key).toBe(seen[1]?.key);
    expect(seen[0]?.key).not.toBe("order-42");
    const other = createHubClient({ hub: sb.hub.address });
    await other.call("flaky", {}, { idempotencyKey: "order-42" });
    other.close();
    expect(seen[2]?.key).not.toBe(seen[0]?.key);

    // A non-retryable failure is final.
    const bad = sb.agent({ name: "bad" });
    bad.capability({ name: "refuse", description: "refuses" }, () => {
      throw taskError("POLICY", "not allowed");
    });
    await bad.start();
    const error = await rejection(sb.client.call("refuse", {}));
    expect(error.code).toBe("TASK_FAILED");
    expect(error.failure).toMatchObject({ type: "POLICY", nonRetryable: true });
  });

  it("filters by labels", async () => {
    sb = await createHubSandbox();
    for (const region of ["us", "eu"]) {
      const agent = sb.agent({ name: `where-${region}`, labels: { region } });
      agent.capability({ name: "where", description: "says where" }, () => region);
      await agent.start();
    }
    for (let i = 0; i < 4; i++) {
      expect((await sb.client.call("where", {}, { labels: { region: "eu" } })).output).toBe("eu");
    }
    const error = await rejection(sb.client.call("where", {}, { labels: { region: "ap" } }));
    expect(error.code).toBe("UNAVAILABLE");
  });

  it("carries tensors packed, both ways", async () => {
    sb = await createHubSandbox();
    const agent = sb.agent({ name: "vec" });
    agent.capability(
      { name: "vec.scale", description: "scales a vector" },
      (input: { v: Float32Array; k: number }) => {
        expect(input.v).toBeInstanceOf(Float32Array);
        const out = input.v.map((x) => x * input.k);
        return { exact: out, half: tensor.float16(out), small: tensor.int8(out) };
      },
    );
    await agent.start();
    const v = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i));
    const { output } = await sb.client.call<{ exact: Float32Array; half: never; small: never }>(
      "vec.scale",
      { v, k: 2 },
    );
    expect(output.exact).toBeInstanceOf(Float32Array);
    expect([...output.exact]).toEqual([...v.map((x) => x * 2)]);
    const half = toFloat32(output.half);
    const small = toFloat32(output.small);
    for (let i = 0; i < 512; i++) {
      expect(Math.abs((half[i] as number) - (output.exact[i] as number))).toBeLessThan(2e-3);
      expect(Math.abs((small[i] as number) - (output.exact[i] as number))).toBeLessThan(2 / 127);
    }
  });

  it("drains: a stopping agent finishes its task and gets no new ones", async () => {
    sb = await createHubSandbox();
    const hold = gate();
    const leaving = sb.agent({ name: "leaving", id: "leaving" });
    leaving.capability({ name: "job", description: "job", maxConcurrency: 2 }, async () => {
      await hold.opened;
      return "leaving";
    });
    await leaving.start();
    const running = sb.client.call("job", {});
    await until(() => leaving.inFlight === 1);
    const stopped = leaving.stop();
    const staying = sb.agent({ name: "staying", id: "staying" });
    staying.capability({ name: "job", description: "job" }, () => "staying");
    await staying.start();
    await until(
      async () =>
        (await sb?.client.agents())?.find((a) => a.agentId === "leaving")?.draining === true,
    );
    expect((await sb.client.call("job", {})).output).toBe("staying");
    hold.open();
    expect((await running).output).toBe("leaving");
    await stopped;
    await until(async () => (await sb?.client.agents())?.length === 1);
  });

  it("drops an agent that stops sending heartbeats, and its capability with it", async () => {
    sb = await createHubSandbox({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 });
    // A raw client that registers and then stays silent.
    const { AgentService } = hubProtocol();
    const raw = new AgentService(
      sb.hub.address,
      grpc.credentials.createInsecure(),
      CHANNEL_OPTIONS,
    );
    const stream = (
      raw as unknown as { Connect(): grpc.ClientDuplexStream<unknown, unknown> }
    ).Connect();
    stream.on("error", () => {});
    stream.write({
      kind: "register",
      register: {
        agentId: "silent",
        name: "silent",
        labels: {},
        capabilities: [{ name: "quiet", description: "never answers", maxConcurrency: 1 }],
      },
    });
    await until(async () => (await sb?.client.agents())?.length === 1);
    expect((await sb.client.discover("quiet")).map((m) => m.capability.name)).toEqual(["quiet"]);
    await until(async () => (await sb?.client.agents())?.length === 0, 3000);
    expect(await sb.client.discover("quiet")).toEqual([]);
    expect((await rejection(sb.client.call("quiet", {}))).code).toBe("UNAVAILABLE");
    raw.close();
  });

  it("survives a hub restart: agents reconnect and register again", async () => {
    sb = await createHubSandbox();
    const agent = sb.agent({ name: "steady", id: "steady" });
    agent.capability({ name: "ping", description: "answers pong" }, () => "pong");
    await agent.start();
    expect((await sb.client.call("ping", {})).output).toBe("pong");
    await sb.hub.close();
    await until(() => !agent.connected);
    await sb.restart();
    await until(() => agent.connected, 5000);
    const again = await sb.client.call("ping", {});
    expect(again).toMatchObject({ output: "pong", agentId: "steady" });
  });

  it("locks exclude each other and hand out growing fencing tokens", async () => {
    sb = await createHubSandbox();
    let holders = 0;
    let maxHolders = 0;
    const tokens: number[] = [];
    for (let i = 0; i < 3; i++) {
      const agent = sb.agent({ name: `writer-${i}` });
      agent.capability(
        { name: "write", description: "writes a shared file", maxConcurrency: 2 },
        async (_input, ctx) => {
          const lease = await ctx.lock("files/report", { ttl: 5000, wait: 5000 });
          holders++;
          maxHolders = Math.max(maxHolders, holders);
          tokens.push(lease.token);
          await new Promise((r) => setTimeout(r, 10));
          holders--;
          await lease.release();
          return lease.token;
        },
      );
      await agent.start();
    }
    await Promise.all(Array.from({ length: 12 }, () => sb?.client.call("write", {})));
    expect(maxHolders).toBe(1);
    expect(tokens).toHaveLength(12);
    for (let i = 1; i < tokens.length; i++)
      expect(tokens[i]).toBeGreaterThan(tokens[i - 1] as number);
  });

  it("releases a task's lock when the task ends without releasing it", async () => {
    sb = await createHubSandbox();
    const agent = sb.agent({ name: "forgetful" });
    agent.capability(
      { name: "grab", description: "takes a lock and forgets it", maxConcurrency: 2 },
      async (_input, ctx) => {
        const lease = await ctx.lock("db/row-7", { ttl: 60_000 });
        return lease.token;
      },
    );
    await agent.start();
    const first = (await sb.client.call("grab", {})).output as number;
    // Waits 0 ms: it only succeeds if the first task's lock was released at its end.
    const second = (await sb.client.call("grab", {})).output as number;
    expect(second).toBeGreaterThan(first);
  });

  it("delivers invalidation events to every subscribed agent", async () => {
    sb = await createHubSandbox();
    const received = new Map<string, unknown[]>();
    const agents = [];
    for (let i = 0; i < 4; i++) {
      const agent = sb.agent({ name: `cache-${i}` });
      agent.capability(
        { name: "cache.put", description: "updates the cache" },
        (input: { key: string }, ctx) => {
          ctx.publish("cache.invalidate.users", { key: input.key });
          return "ok";
        },
      );
      agent.subscribe("cache.invalidate.>", (data, topic) => {
        received.set(`cache-${i}`, [...(received.get(`cache-${i}`) ?? []), { topic, data }]);
      });
      agents.push(agent);
      await agent.start();
    }
    await sb.client.call("cache.put", { key: "u1" });
    await until(() => received.size === 4);
    for (const events of received.values())
      expect(events).toEqual([{ topic: "cache.invalidate.users", data: { key: "u1" } }]);
    // A payload's JSON and its tensors travel as bytes beside the event: each part comes back
    // whole and in its place.
    const publisher = sb.agent({ name: "embedder" });
    publisher.capability({ name: "embed.publish", description: "publishes vectors" }, (_, ctx) => {
      ctx.publish("cache.invalidate.vectors", {
        note: "é".repeat(100_000),
        a: new Float32Array([1.5, -2, 3]),
        b: tensor.int8(new Float32Array([0.5, -0.25])),
      });
      return "ok";
    });
    await publisher.start();
    await sb.client.call("embed.publish", {});
    await until(() => [...received.values()].every((events) => events.length === 2));
    for (const events of received.values()) {
      const got = (events[1] as { data: { note: string; a: Float32Array; b: unknown } }).data;
      expect(got.note).toBe("é".repeat(100_000));
      expect([...got.a]).toEqual([1.5, -2, 3]);
      const b = toFloat32(got.b as never);
      expect(Math.abs((b[0] as number) - 0.5)).toBeLessThan(0.01);
      expect(Math.abs((b[1] as number) + 0.25)).toBeLessThan(0.01);
    }
  });

  it("streams hub events to callers", async () => {
    sb = await createHubSandbox();
    const kinds: string[] = [];
    const events = sb.client.events((e) => kinds.push(e.kind));
    await new Promise((r) => setTimeout(r, 100));
    const agent = sb.agent({ name: "evented" });
    agent.capability({ name: "noop", description: "does nothing" }, () => null);
    await agent.start();
    await sb.client.call("noop", {});
    await until(() => kinds.includes("task.completed"));
    expect(kinds).toEqual(
      expect.arrayContaining(["agent.connected", "task.dispatched", "task.completed"]),
    );
    events.stop();
  });

  it("finds capabilities by words without an embedder, and calls by query", async () => {
    sb = await createHubSandbox();
    const agent = sb.agent({ name: "tools" });
    agent.capability({ name: "text.keywords", description: "extracts keywords from text" }, () => [
      "k",
    ]);
    agent.capability({ name: "doc.chunk", description: "splits a document into chunks" }, () => [
      "c",
    ]);
    await agent.start();
    const found = await sb.client.discover("split document chunks");
    expect(found[0]?.capability.name).toBe("doc.chunk");
    const result = await sb.client.call({ query: "extract keywords" }, { text: "x" });
    expect(result.capability).toBe("text.keywords");
    expect((await rejection(sb.client.call({ query: "translate klingon poetry" }, {}))).code).toBe(
      "NOT_FOUND",
    );
  });
});
