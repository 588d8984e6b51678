import { describe, expect, it } from "vitest";
import { DEFAULT_ROUTING_WEIGHTS, loadOf, type RouteCandidate, route, scoreOf } from "./routing.ts";

const base = (agentId: string, over: Partial<RouteCandidate> = {}): RouteCandidate => ({
  agentId,
  capability: "cap",
  similarity: 1,
  labels: {},
  running: 0,
  maxConcurrency: 4,
  queued: 0,
  queueLimit: 8,
  reportedInFlight: 0,
  reportedQueueDepth: 0,
  kvCacheUtilization: 0,
  vramUsedBytes: 0,
  vramTotalBytes: 0,
  tokensPerSecond: 0,
  latencyMs: 0,
  failureRate: 0,
  draining: false,
  circuitOpen: false,
  fits: true,
  roomForBytes: true,
  lastDispatchAt: 0,
  ...over,
});

describe("routing formula", () => {
  it("computes the documented score", () => {
    const c = base("a", {
      similarity: 0.8,
      running: 2,
      queued: 2,
      kvCacheUtilization: 0.5,
      vramUsedBytes: 6,
      vramTotalBytes: 8,
    });
    const w = DEFAULT_ROUTING_WEIGHTS;
    // u = 4 pending / 4 slots = 1 -> load 0.5
    const expected =
      w.similarity * 0.8 - w.load * 0.5 - w.kvCache * 0.5 - w.vram * 0.75 + w.affinity;
    expect(scoreOf(c, { affinityAgentId: "a" }).score).toBeCloseTo(expected, 10);
    expect(loadOf(c)).toEqual({ pending: 4, load: 0.5 });
  });

  it("takes the larger of the hub's count and the agent's reported load", () => {
    expect(
      loadOf(base("a", { running: 1, reportedInFlight: 3, reportedQueueDepth: 1 })).pending,
    ).toBe(4);
    expect(loadOf(base("a", { running: 3, queued: 2, reportedInFlight: 1 })).pending).toBe(5);
  });

  it("prefers the least loaded, then similarity over load within reason", () => {
    expect(route([base("busy", { running: 3 }), base("idle")]).chosen?.agentId).toBe("idle");
    // A much closer capability wins over a slightly busier agent.
    const pick = route([
      base("close", { similarity: 0.9, running: 1 }),
      base("far", { similarity: 0.4 }),
    ]);
    expect(pick.chosen?.agentId).toBe("close");
  });

  it("honours session affinity unless the agent is much busier", () => {
    const light = route([base("a", { running: 1 }), base("b")], { affinityAgentId: "a" });
    expect(light.chosen?.agentId).toBe("a");
    const heavy = route([base("a", { running: 4, queued: 4 }), base("b")], {
      affinityAgentId: "a",
    });
    expect(heavy.chosen?.agentId).toBe("b");
  });

  it("filters labels, draining, open circuits and full agents, saying why", () => {
    const decision = route(
      [
        base("eu", { labels: { region: "eu" } }),
        base("us", { labels: { region: "us" } }),
        base("drain", { labels: { region: "eu" }, draining: true }),
        base("open", { labels: { region: "eu" }, circuitOpen: true }),
        base("full", { labels: { region: "eu" }, running: 4, queued: 8 }),
      ],
      { labels: { region: "eu" } },
    );
    expect(decision.chosen?.agentId).toBe("eu");
    expect(decision.rejected).toEqual([
      { agentId: "us", capability: "cap", reason: "labels" },
      { agentId: "drain", capability: "cap", reason: "draining" },
      { agentId: "full", capability: "cap", reason: "full" },
      { agentId: "open", capability: "cap", reason: "circuit-open" },
    ]);
  });

  it("still routes when every capable agent's circuit is open", () => {
    const decision = route([
      base("a", { circuitOpen: true }),
      base("b", { circuitOpen: true, running: 1 }),
    ]);
    expect(decision.chosen?.agentId).toBe("a");
    expect(decision.rejected).toEqual([]);
  });

  it("breaks ties round-robin and avoids agents already tried when others can serve", () => {
    const tie = route([base("a", { lastDispatchAt: 20 }), base("b", { lastDispatchAt: 10 })]);
    expect(tie.chosen?.agentId).toBe("b");
    const avoid = route([base("a"), base("b", { running: 2 })], { avoid: new Set(["a"]) });
    expect(avoid.chosen?.agentId).toBe("b");
    const only = route([base("a")], { avoid: new Set(["a"]) });
    expect(only.chosen?.agentId).toBe("a");
  });

  it("penalises KV-cache and VRAM pressure", () => {
    const pick = route([
      base("hot", { kvCacheUtilization: 0.9, vramUsedBytes: 7, vramTotalBytes: 8 }),
      base("cool", { kvCacheUtilization: 0.1, vramUsedBytes: 1, vramTotalBytes: 8, running: 1 }),
    ]);
    expect(pick.chosen?.agentId).toBe("cool");
  });
});

describe("routing explanation", () => {
  it("ranks every candidate only when asked", () => {
    const cands = [base("a", { running: 2 }), base("b"), base("c", { running: 1 })];
    expect(route(cands).ranked.map((c) => c.agentId)).toEqual(["b"]);
    expect(route(cands, { explain: true }).ranked.map((c) => c.agentId)).toEqual(["b", "c", "a"]);
  });
});
