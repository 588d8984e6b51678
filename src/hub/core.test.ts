/**
 * The hub's core (sessions, capabilities, dispatcher, broker) driven through in-memory
 * AgentChannels: no sockets, no SDK. Each test plays the agents by hand.
 */
import { afterEach, describe, expect, it } from "vitest";
import { rejection } from "../../test/helpers/hub.ts";
import { type ControlPlane, createMemoryControlPlane } from "../control-plane/index.ts";
import { type ClawHubError, isClawHubError } from "../errors/index.ts";
import {
  decodePayload,
  encodePayload,
  failureToWire,
  type HubMessage,
  type WireCapability,
  type WireTask,
  type WireTelemetry,
} from "../wire/index.ts";
import { createHubCore, type HubCore, type HubCoreOptions } from "./core.ts";
import type { AgentChannel } from "./types.ts";

const cap = (name: string, over: Partial<WireCapability> = {}): WireCapability => ({
  name,
  description: `does ${name}`,
  inputSchema: "",
  outputSchema: "",
  maxConcurrency: 1,
  contextLimit: 0,
  timeoutMs: 0,
  ...over,
});

const telemetry = (over: Partial<WireTelemetry> = {}): WireTelemetry => ({
  inFlight: 0,
  queueDepth: 0,
  kvCacheUtilization: 0,
  vramUsedBytes: 0,
  vramTotalBytes: 0,
  tokensPerSecond: 0,
  ...over,
});

/** An agent played by the test over an in-memory channel, once the hub answered its registration. */
async function memoryAgent(
  core: HubCore,
  id: string,
  capabilities: WireCapability[],
  options: {
    queueLimit?: number;
    telemetry?: Partial<WireTelemetry>;
    labels?: Record<string, string>;
  } = {},
) {
  const sent: HubMessage[] = [];
  let ended: ClawHubError | true | undefined;
  const flat = (m: HubMessage): HubMessage[] => (m.kind === "batch" ? m.batch.messages : [m]);
  const channel: AgentChannel = {
    peer: `memory:${id}`,
    send: (m) => sent.push(...flat(m)),
    end: (e) => {
      ended = e ?? true;
    },
  };
  const endpoint = core.connect(channel);
  endpoint.receive({
    kind: "register",
    register: {
      agentId: id,
      name: id,
      labels: options.labels ?? {},
      capabilities,
      sdkVersion: "test",
      queueLimit: options.queueLimit ?? 0,
      telemetry: telemetry(options.telemetry),
    },
  });
  const tasks = () =>
    sent.filter((m) => m.kind === "task").map((m) => (m as { task: WireTask }).task);
  // Registration compiles schemas on the work pool: it is answered asynchronously.
  await until(() => ended !== undefined || sent.some((m) => m.kind === "registered"));
  return {
    sent,
    endpoint,
    get ended() {
      return ended;
    },
    tasks,
    cancels: () =>
      sent
        .filter((m) => m.kind === "cancel")
        .map((m) => (m as { cancel: { taskId: string } }).cancel.taskId),
    answer(task: WireTask, output: unknown, usage = 0) {
      endpoint.receive({
        kind: "result",
        result: {
          taskId: task.taskId,
          output: encodePayload(output),
          failure: null,
          usage: { promptTokens: 0, completionTokens: 0, totalTokens: usage },
        },
      });
    },
    fail(task: WireTask, type: string, nonRetryable = false) {
      endpoint.receive({
        kind: "result",
        result: {
          taskId: task.taskId,
          output: null,
          failure: failureToWire({ type, message: `${type}!`, nonRetryable }),
          usage: null,
        },
      });
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));
async function until(check: () => boolean, ms = 2000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

let cp: ControlPlane | undefined;
let core: HubCore | undefined;
const open = (options: Partial<HubCoreOptions> = {}) => {
  cp = createMemoryControlPlane();
  core = createHubCore({ controlPlane: cp, ...options });
  return core;
};
afterEach(async () => {
  core?.close();
  await cp?.close();
  core = undefined;
  cp = undefined;
});

describe("sessions", () => {
  it("refuses a bad registration and ends the channel with the reason", async () => {
    const hub = open();
    const bad = await memoryAgent(hub, "no/slashes", [cap("x")]);
    expect(isClawHubError(bad.ended) && bad.ended.code).toBe("INVALID_ARGUMENT");
    expect(String((bad.ended as Error).message)).toContain("invalid agent id");
    const twice = await memoryAgent(hub, "a", [cap("x"), cap("x")]);
    expect((twice.ended as Error).message).toContain('capability "x" registered twice');
    const none = await memoryAgent(hub, "b", []);
    expect((none.ended as Error).message).toContain("1-256 capabilities");
    expect(hub.agents()).toEqual([]);
  });

  it("registers, answers registered, records telemetry from the registration", async () => {
    const hub = open();
    const a = await memoryAgent(hub, "a", [cap("x")], { telemetry: { kvCacheUtilization: 0.95 } });
    expect(a.sent[0]).toMatchObject({ kind: "registered", registered: { agentId: "a" } });
    expect(hub.agents()[0]?.telemetry?.kvCacheUtilization).toBeCloseTo(0.95);
  });

  it("drops an agent whose heartbeats stop, by the injected clock", async () => {
    let t = 1_000_000;
    const hub = open({ now: () => t, heartbeatIntervalMs: 100 });
    const a = await memoryAgent(hub, "a", [cap("x")]);
    await memoryAgent(hub, "b", [cap("x")]);
    t += 250;
    a.endpoint.receive({ kind: "heartbeat", heartbeat: { telemetry: null } });
    t += 100;
    hub.sessions.sweep();
    expect(hub.agents().map((x) => x.agentId)).toEqual(["a"]);
    expect(hub.capabilities.has("x")).toBe(true);
  });

  it("removes agent records an earlier process of this node left behind", async () => {
    const hub = open();
    await cp?.kv.put("hub.agents.ghost", { hubId: "old", node: "local", name: "ghost" });
    await cp?.kv.put("hub.agents.elsewhere", { hubId: "other", node: "b", name: "x" });
    await memoryAgent(hub, "live", [cap("x")]);
    await tick();
    expect(await hub.sessions.forgetStale()).toBe(1);
    expect(await cp?.kv.keys("hub.agents")).toEqual(["hub.agents.elsewhere", "hub.agents.live"]);
  });
});

describe("dispatcher", () => {
  it("queues beyond the slots, pumps as results come, refuses when every queue is full", async () => {
    const hub = open({ queueLimit: 1 });
    const a = await memoryAgent(hub, "a", [cap("x")]);
    const first = hub.call({ capability: "x", input: 1 });
    const second = hub.call({ capability: "x", input: 2 });
    await tick();
    expect(a.tasks()).toHaveLength(1);
    const full = await rejection(hub.call({ capability: "x", input: 3 }));
    expect(full.code).toBe("RESOURCE_EXHAUSTED");
    expect(full.details?.retryAfterMs).toBeGreaterThanOrEqual(100);
    a.answer(a.tasks()[0] as WireTask, "one");
    await tick();
    expect(a.tasks()).toHaveLength(2);
    a.answer(a.tasks()[1] as WireTask, "two");
    expect(decodePayload((await first).output)).toBe("one");
    expect(decodePayload((await second).output)).toBe("two");
  });

  it("retries a retryable failure on another agent with the same key, the next attempt number", async () => {
    const hub = open();
    const a = await memoryAgent(hub, "a", [cap("x")]);
    const b = await memoryAgent(hub, "b", [cap("x")]);
    const call = hub.call({ capability: "x", input: {} });
    await tick();
    const [first, firstAgent, other] = a.tasks().length
      ? [a.tasks()[0], a, b]
      : [b.tasks()[0], b, a];
    firstAgent.fail(first as WireTask, "BUSY");
    await until(() => other.tasks().length === 1);
    const second = other.tasks()[0] as WireTask;
    expect(second.idempotencyKey).toBe(first?.idempotencyKey);
    expect(second.attempt).toBe(2);
    other.answer(second, "ok");
    expect((await call).attempts).toBe(2);
  });

  it("a non-retryable failure is final and keeps its type", async () => {
    const hub = open();
    const a = await memoryAgent(hub, "a", [cap("x")]);
    const b = await memoryAgent(hub, "b", [cap("x")]);
    const call = hub.call({ capability: "x", input: {} });
    await tick();
    // Equal candidates: the smaller id wins the tie.
    a.fail(a.tasks()[0] as WireTask, "POLICY", true);
    const error = await rejection(call);
    expect(error.code).toBe("TASK_FAILED");
    expect(error.failure).toMatchObject({ type: "POLICY", nonRetryable: true });
    expect(b.tasks()).toHaveLength(0);
  });

  it("times out a silent attempt, cancels it on the agent and retries elsewhere", async () => {
    const hub = open();
    const silent = await memoryAgent(hub, "a-silent", [cap("x")]);
    const call = hub.call({
      capability: "x",
      input: {},
      attemptTimeoutMs: 50,
      deadline: Date.now() + 5000,
    });
    await tick();
    expect(silent.tasks()).toHaveLength(1);
    const good = await memoryAgent(hub, "b-good", [cap("x")]);
    await until(() => good.tasks().length === 1);
    expect(silent.cancels()).toEqual([silent.tasks()[0]?.taskId]);
    good.answer(good.tasks()[0] as WireTask, "done");
    const outcome = await call;
    expect(outcome.agentId).toBe("b-good");
    // The silent agent's failure rate now steers the next call away from it.
    const next = hub.call({ capability: "x", input: {} });
    await tick();
    expect(good.tasks()).toHaveLength(2);
    good.answer(good.tasks()[1] as WireTask, "again");
    expect((await next).agentId).toBe("b-good");
  });

  it("progress resets the attempt timeout", async () => {
    const hub = open();
    const a = await memoryAgent(hub, "a", [cap("x")]);
    const call = hub.call({
      capability: "x",
      input: {},
      attemptTimeoutMs: 80,
      deadline: Date.now() + 5000,
    });
    await tick();
    const task = a.tasks()[0] as WireTask;
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 50));
      a.endpoint.receive({
        kind: "progress",
        progress: { taskId: task.taskId, fraction: i / 4, message: "" },
      });
    }
    a.answer(task, "slow but alive");
    expect((await call).attempts).toBe(1);
    expect(a.cancels()).toEqual([]);
  });

  /** One call to `x` on a stuck agent that reports progress every `everyMs` and never answers; a
   * good agent arrives once the task is taken, so only a retry reaches it. */
  async function stuckWithProgress(
    attemptTimeoutMs: number,
    everyMs: number,
    report: (n: number) => { fraction: number; message: string },
    deadlineMs = 10_000,
  ) {
    const hub = open();
    const stuck = await memoryAgent(hub, "a-stuck", [cap("x")]);
    const call = hub.call({
      capability: "x",
      input: {},
      attemptTimeoutMs,
      deadline: Date.now() + deadlineMs,
    });
    await tick();
    const task = stuck.tasks()[0] as WireTask;
    let reports = 0;
    const beat = setInterval(
      () =>
        stuck.endpoint.receive({
          kind: "progress",
          progress: { taskId: task.taskId, ...report(reports++) },
        }),
      everyMs,
    );
    try {
      const good = await memoryAgent(hub, "b-good", [cap("x")]);
      await until(() => good.tasks().length === 1);
      good.answer(good.tasks()[0] as WireTask, "done");
      return { outcome: await call, reports, cancels: stuck.cancels(), taskId: task.taskId };
    } finally {
      clearInterval(beat);
    }
  }

  it("retries elsewhere when an agent repeats the same progress and never answers", async () => {
    // The deadline comes before ATTEMPT_SPAN would: only the repeat rule gets the retry in time.
    const r = await stuckWithProgress(80, 20, () => ({ fraction: 0.5, message: "working" }), 600);
    expect(r.outcome.agentId).toBe("b-good");
    expect(r.outcome.attempts).toBe(2);
    expect(r.cancels).toContain(r.taskId);
  });

  it("bounds an attempt at ATTEMPT_SPAN timeouts even while its progress moves on", async () => {
    const r = await stuckWithProgress(40, 10, (n) => ({ fraction: 0, message: `step ${n}` }));
    // Moving progress kept it alive past one timeout, but not forever.
    expect(r.reports).toBeGreaterThan(10);
    expect(r.outcome.agentId).toBe("b-good");
    expect(r.cancels).toContain(r.taskId);
  });

  it("moves a lost agent's running task elsewhere and its queued ones without a new attempt", async () => {
    const hub = open();
    const a = await memoryAgent(hub, "a", [cap("x")]);
    const running = hub.call({ capability: "x", input: 1 });
    const queued = hub.call({ capability: "x", input: 2 });
    await tick();
    expect(a.tasks()).toHaveLength(1);
    const b = await memoryAgent(hub, "b", [cap("x", { maxConcurrency: 2 })]);
    a.endpoint.closed("test cut the wire");
    await until(() => b.tasks().length === 2);
    const [t1, t2] = b.tasks() as [WireTask, WireTask];
    b.answer(t1, "r1");
    b.answer(t2, "r2");
    const outcomes = await Promise.all([running, queued]);
    expect(outcomes.map((o) => o.attempts).sort()).toEqual([1, 2]);
  });

  it("refuses input larger than every agent's context limit with LIMIT_EXCEEDED and a hint", async () => {
    const hub = open();
    await memoryAgent(hub, "a", [cap("x", { contextLimit: 50 })]);
    const error = await rejection(
      hub.call({ capability: "x", input: { text: "word ".repeat(500) } }),
    );
    expect(error.code).toBe("LIMIT_EXCEEDED");
    expect(error.hint).toContain("map");
    // Input that fits goes through.
    const ok = hub.call({ capability: "x", input: { text: "short" } });
    await tick();
    expect(hub.ctx.sessions.get("a")?.running.size).toBe(1);
    ok.catch(() => {});
  });

  it("bounds held input in bytes, in all and per agent", async () => {
    const hub = open({ maxQueuedBytes: 10_000, maxAgentQueuedBytes: 4_000 });
    const a = await memoryAgent(hub, "a", [cap("x")], { queueLimit: 32 });
    const blob = "x".repeat(3_000);
    const first = hub.call({ capability: "x", input: blob });
    await tick();
    const perAgent = await rejection(hub.call({ capability: "x", input: blob }));
    expect(perAgent.code).toBe("RESOURCE_EXHAUSTED");
    expect(hub.dispatcher.heldBytes).toBe(3_002);
    await memoryAgent(hub, "b", [cap("x")]);
    await memoryAgent(hub, "c", [cap("x")]);
    const second = hub.call({ capability: "x", input: blob });
    const third = hub.call({ capability: "x", input: blob });
    const global = await rejection(hub.call({ capability: "x", input: blob }));
    expect(global.code).toBe("RESOURCE_EXHAUSTED");
    expect(global.message).toContain("holds");
    a.answer(a.tasks()[0] as WireTask, "ok");
    await first;
    expect(hub.dispatcher.heldBytes).toBe(6_004);
    for (const p of [second, third]) p.catch(() => {});
  });

  it("routes a call by meaning only within the margin of the best match", async () => {
    const hub = open({ routeMargin: 0.1 });
    const translator = await memoryAgent(hub, "translator", [
      cap("text.translate", { description: "translate text between languages" }),
    ]);
    await memoryAgent(hub, "captioner", [
      cap("vision.caption", { description: "caption images in a few words" }),
    ]);
    const first = hub.call({ query: "translate this text", input: {} });
    await tick();
    expect(translator.tasks()).toHaveLength(1);
    // The translator is busy (one slot, queue of 32): the next call waits for it rather than
    // going to the unrelated captioner.
    const second = hub.call({ query: "translate this text", input: {} });
    await tick();
    expect(hub.ctx.sessions.get("captioner")?.running.size).toBe(0);
    expect(hub.ctx.sessions.get("translator")?.queue).toHaveLength(1);
    translator.answer(translator.tasks()[0] as WireTask, "hola");
    await until(() => translator.tasks().length === 2);
    translator.answer(translator.tasks()[1] as WireTask, "hola");
    expect((await first).capability).toBe("text.translate");
    expect((await second).capability).toBe("text.translate");
  });

  it("scopes a caller's idempotency key; a generated one is unguessable", async () => {
    const hub = open();
    const a = await memoryAgent(hub, "a", [cap("x", { maxConcurrency: 4 })]);
    const calls = [
      hub.call({ capability: "x", input: 1, idempotencyKey: "k", scope: "caller-1" }),
      hub.call({ capability: "x", input: 2, idempotencyKey: "k", scope: "caller-2" }),
      hub.call({ capability: "x", input: 3 }),
      hub.call({ capability: "x", input: 4 }),
    ];
    await tick();
    const keys = a.tasks().map((t) => t.idempotencyKey);
    expect(new Set(keys).size).toBe(4);
    expect(keys[0]).not.toBe("k");
    // 122 random bits (a v4 UUID from the CSPRNG), not a counter or a run id.
    expect(keys[2]).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    for (const t of a.tasks()) a.answer(t, null);
    await Promise.all(calls);
  });
});

describe("capabilities", () => {
  it("wakes a waiter when an agent serving the capability registers", async () => {
    const hub = open();
    // Bounded at 60 s: only being woken by the registration finishes within the test's timeout.
    const waiting = hub.capabilities.waitFor("late.cap", Date.now() + 60_000);
    setTimeout(() => void memoryAgent(hub, "late", [cap("late.cap")]), 30);
    expect(await waiting).toBe(true);
    expect(await hub.capabilities.waitFor("never", Date.now() + 20)).toBe(false);
  });

  it("frees compiled schemas when the last agent using them goes", async () => {
    const hub = open();
    const schema = (n: number) =>
      JSON.stringify({ type: "object", properties: { [`f${n}`]: { type: "string" } } });
    const agents = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        memoryAgent(hub, `a${i}`, [cap("x", { inputSchema: schema(i % 10) })]),
      ),
    );
    expect(agents.every((a) => a.ended === undefined)).toBe(true);
    expect(hub.ctx.schemas.size).toBe(10);
    expect(hub.ctx.schemas.bytes).toBeGreaterThan(0);
    for (const a of agents) a.endpoint.closed("bye");
    expect(hub.ctx.schemas.size).toBe(0);
    expect(hub.ctx.schemas.bytes).toBe(0);
  });
});
