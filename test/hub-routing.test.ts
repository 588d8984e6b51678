/**
 * Routing defects found when the hub was tried as a new user would, each through the SDK over
 * real gRPC: telemetry known from the first call, no misrouting under load, latency and
 * throughput counted, context limits enforced, silent agents worked around.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLocalEmbedder, type Embedder } from "../src/search/index.ts";
import { createHubSandbox, gate, type HubSandbox, rejection, until } from "./helpers/hub.ts";

let sb: HubSandbox | undefined;
afterEach(async () => {
  await sb?.close();
  sb = undefined;
});

function tally(ids: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of ids) out[id] = (out[id] ?? 0) + 1;
  return out;
}

describe("routing is informed from the first call", () => {
  it("counts telemetry sent with the registration: the fuller KV cache loses the first calls", async () => {
    sb = await createHubSandbox({ heartbeatIntervalMs: 60_000 });
    for (const [id, kv] of [
      ["hot", 0.95],
      ["cool", 0.05],
    ] as const) {
      const a = sb.agent({ name: id, id, telemetry: () => ({ kvCacheUtilization: kv }) });
      a.capability({ name: "gen", description: "generates", maxConcurrency: 4 }, () => id);
      await a.start();
    }
    // No heartbeat has been sent (60 s interval): only the registration told the hub.
    const served: string[] = [];
    for (let i = 0; i < 6; i++) served.push((await sb.client.call("gen", {})).agentId);
    expect(served).toEqual(Array(6).fill("cool"));
  });

  it("routes on observed latency: the faster replica takes most calls", async () => {
    // No heartbeats during the test: reported in-flight counts must not be what decides.
    sb = await createHubSandbox({ heartbeatIntervalMs: 60_000 });
    for (const [id, ms] of [
      ["fast", 1],
      ["slow", 40],
    ] as const) {
      const a = sb.agent({ name: id, id });
      a.capability({ name: "work", description: "works", maxConcurrency: 4 }, async () => {
        await new Promise((r) => setTimeout(r, ms));
        return id;
      });
      await a.start();
    }
    for (let i = 0; i < 6; i++) await sb.client.call("work", {});
    const served: string[] = [];
    for (let i = 0; i < 20; i++) served.push((await sb.client.call("work", {})).agentId);
    expect(tally(served).fast ?? 0).toBeGreaterThanOrEqual(16);
  });

  it("routes on reported tokens per second", async () => {
    sb = await createHubSandbox();
    for (const [id, tps] of [
      ["quick", 120],
      ["sluggish", 12],
    ] as const) {
      const a = sb.agent({ name: id, id, telemetry: () => ({ tokensPerSecond: tps }) });
      a.capability({ name: "gen", description: "generates", maxConcurrency: 4 }, () => id);
      await a.start();
    }
    const served: string[] = [];
    for (let i = 0; i < 10; i++) served.push((await sb.client.call("gen", {})).agentId);
    expect(served).toEqual(Array(10).fill("quick"));
  });
});

describe("calls by meaning never fall through to an unrelated capability", () => {
  let embedder: Embedder;
  beforeAll(() => {
    embedder = createLocalEmbedder();
  });
  afterAll(async () => {
    await (embedder as { close?: () => Promise<void> }).close?.();
  });

  it("queues for the busy best match instead of routing to a weakly similar one", async () => {
    sb = await createHubSandbox({ embedder });
    const hold = gate();
    const translator = sb.agent({ name: "translator", id: "translator" });
    translator.capability(
      {
        name: "text.translate",
        description: "Translates text from one language into another.",
        maxConcurrency: 1,
      },
      async () => {
        await hold.opened;
        return "übersetzt";
      },
    );
    let captioned = 0;
    const captioner = sb.agent({ name: "captioner", id: "captioner" });
    captioner.capability(
      {
        name: "vision.caption",
        description: "Writes a short caption describing what an image shows.",
        maxConcurrency: 4,
      },
      () => {
        captioned++;
        return "a cat";
      },
    );
    await Promise.all([translator.start(), captioner.start()]);
    await sb.hub.idle();
    const need = "render this sentence in German";
    const matches = await sb.client.discover(need);
    const [best, other] = [
      matches.find((m) => m.capability.name === "text.translate"),
      matches.find((m) => m.capability.name === "vision.caption"),
    ];
    // The captioner is above the floor (0.3), so without the margin it was a candidate.
    expect(other?.similarity).toBeGreaterThanOrEqual(0.3);
    expect((best?.similarity ?? 0) - (other?.similarity ?? 0)).toBeGreaterThan(0.05);
    const calls = Array.from({ length: 4 }, () => sb?.client.call({ query: need }, {}));
    await until(async () => {
      const t = (await sb?.client.agents())?.find((a) => a.agentId === "translator");
      return (t?.inFlight ?? 0) + (t?.queued ?? 0) === 4;
    });
    hold.open();
    const results = await Promise.all(calls);
    expect(results.map((r) => r?.capability)).toEqual(Array(4).fill("text.translate"));
    expect(captioned).toBe(0);
  });
});

describe("limits the hub enforces itself", () => {
  it("refuses a direct call larger than the capability's context limit", async () => {
    sb = await createHubSandbox();
    let reached = 0;
    const a = sb.agent({ name: "small" });
    a.capability(
      { name: "text.summarize", description: "summarises", contextLimit: 100 },
      (input: { text: string }) => {
        reached++;
        return input.text.length;
      },
    );
    await a.start();
    const error = await rejection(sb.client.call("text.summarize", { text: "word ".repeat(1000) }));
    expect(error.code).toBe("LIMIT_EXCEEDED");
    expect(error.message).toContain("context limit");
    expect(error.hint).toContain("map");
    expect(reached).toBe(0);
    expect((await sb.client.call("text.summarize", { text: "a short one" })).output).toBe(11);
  });

  it("an agent that accepts tasks and never answers does not swallow the capability's traffic", async () => {
    sb = await createHubSandbox();
    const never = sb.agent({ name: "blackhole", id: "a-blackhole", drainTimeoutMs: 100 });
    never.capability(
      { name: "lookup", description: "looks up", maxConcurrency: 8, timeoutMs: 200 },
      () => new Promise(() => {}),
    );
    const good = sb.agent({ name: "good", id: "b-good" });
    good.capability(
      { name: "lookup", description: "looks up", maxConcurrency: 8, timeoutMs: 200 },
      () => "found",
    );
    await Promise.all([never.start(), good.start()]);
    const results = await Promise.all(
      Array.from({ length: 12 }, () => sb?.client.call("lookup", {}, { timeoutMs: 5000 })),
    );
    expect(results.every((r) => r?.output === "found" && r.agentId === "b-good")).toBe(true);
    // Its timeouts count against it: new calls go to the agent that answers.
    const next: string[] = [];
    for (let i = 0; i < 5; i++) next.push((await sb.client.call("lookup", {})).agentId);
    expect(next).toEqual(Array(5).fill("b-good"));
  });
});
