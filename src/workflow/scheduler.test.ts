import { describe, expect, it } from "vitest";
import { evaluate, parseExpr, render } from "./expr.ts";
import { initialState, paramsFor, type RunEvent, reduce, retryDelay } from "./scheduler.ts";
import { validateWorkflow } from "./spec.ts";

const spec = validateWorkflow({
  name: "diamond",
  concurrency: 2,
  nodes: [
    { id: "a", capability: "x", input: "${{ inputs.v }}" },
    {
      id: "b",
      capability: "x",
      input: "${{ nodes.a.output }}",
      retry: {
        max_attempts: 3,
        initial_interval: "100ms",
        jitter: 0.5,
        vary: { temperature: 0.1, suffix: "!" },
      },
      params: { temperature: 0.2 },
    },
    { id: "c", capability: "x", input: "${{ nodes.a.output }}" },
    { id: "d", capability: "y", input: ["${{ nodes.b.output }}", "${{ nodes.c.output }}"] },
  ],
  outputs: { d: "${{ nodes.d.output }}" },
});

describe("the scheduler (pure reducer)", () => {
  it("dispatches nodes as their dependencies resolve, in parallel up to the limit, and finishes", () => {
    const state = initialState(spec);
    const started = reduce(state, {
      type: "started",
      at: 0,
      runId: "r",
      inputs: { v: 1 },
      contextLimits: {},
    });
    expect(started.commands.map((c) => c.type === "dispatch" && c.task.node)).toEqual(["a"]);
    const afterA = reduce(state, {
      type: "task.completed",
      at: 1,
      task: { node: "a", item: -1, phase: "main", attempt: 1 },
      output: 2,
      tokens: 0,
    });
    expect(
      afterA.commands
        .filter((c) => c.type === "dispatch")
        .map((c) => c.type === "dispatch" && [c.task.node, c.input, c.key]),
    ).toEqual([
      ["b", 2, "r/b/-1/main"],
      ["c", 2, "r/c/-1/main"],
    ]);
    const failB = reduce(state, {
      type: "task.failed",
      at: 2,
      task: { node: "b", item: -1, phase: "main", attempt: 1 },
      error: { type: "X", message: "x", nonRetryable: false },
      tokens: 0,
    });
    const timer = failB.commands.find((c) => c.type === "timer");
    expect(timer).toMatchObject({ type: "timer", task: { node: "b", attempt: 2 } });
    reduce(state, {
      type: "task.completed",
      at: 3,
      task: { node: "c", item: -1, phase: "main", attempt: 1 },
      output: 3,
      tokens: 5,
    });
    const fired = reduce(state, {
      type: "timer.fired",
      at: 4,
      task: { node: "b", item: -1, phase: "main", attempt: 2 },
    });
    const retry = fired.commands.find((c) => c.type === "dispatch");
    expect(retry).toMatchObject({
      key: "r/b/-1/main",
      params: { temperature: 0.30000000000000004, suffix: "!" },
    });
    reduce(state, {
      type: "task.completed",
      at: 5,
      task: { node: "b", item: -1, phase: "main", attempt: 2 },
      output: 4,
      tokens: 5,
    });
    const end = reduce(state, {
      type: "task.completed",
      at: 6,
      task: { node: "d", item: -1, phase: "main", attempt: 1 },
      output: "done",
      tokens: 0,
    });
    expect(end.commands.at(-1)).toEqual({
      type: "finished",
      status: "succeeded",
      outputs: { d: "done" },
    });
    expect(state.tokens).toBe(10);
  });

  it("rebuilds the same state by replaying the same events, and ignores stale ones", () => {
    const events: RunEvent[] = [
      { type: "started", at: 0, runId: "r", inputs: { v: 1 }, contextLimits: {} },
      {
        type: "task.completed",
        at: 1,
        task: { node: "a", item: -1, phase: "main", attempt: 1 },
        output: 2,
        tokens: 0,
      },
      {
        type: "task.completed",
        at: 2,
        task: { node: "a", item: -1, phase: "main", attempt: 1 },
        output: 99,
        tokens: 0,
      },
    ];
    const one = initialState(spec);
    const two = initialState(spec);
    for (const e of events) reduce(one, e);
    for (const e of events) reduce(two, e);
    expect(JSON.stringify(one.nodes)).toBe(JSON.stringify(two.nodes));
    expect(one.nodes.a?.output).toBe(2);
    expect(one.running).toBe(2);
  });

  it("computes retry delays with deterministic jitter and parameter variation", () => {
    const state = initialState(spec);
    reduce(state, { type: "started", at: 0, runId: "r", inputs: {}, contextLimits: {} });
    const node = spec.nodes[1] as (typeof spec.nodes)[number];
    const task = { node: "b", item: -1, phase: "main" as const, attempt: 1 };
    const d2 = retryDelay(state, node, task, 2);
    expect(d2).toBe(retryDelay(state, node, task, 2));
    expect(d2).toBeGreaterThanOrEqual(50);
    expect(d2).toBeLessThanOrEqual(150);
    expect(retryDelay(state, node, task, 3)).toBeGreaterThanOrEqual(100);
    expect(paramsFor(node, 1)).toEqual({ temperature: 0.2 });
    expect(paramsFor(node, 3)).toMatchObject({ suffix: "!" });
  });
});

describe("expressions", () => {
  it("evaluates paths, comparisons, logic and functions, without running code", () => {
    const scope = {
      inputs: { n: 3, tags: ["a", "b"] },
      nodes: { t: { output: { items: [{ w: 1 }, { w: 2 }] } } },
    };
    expect(evaluate(parseExpr("inputs.n > 2 && !(inputs.n == 4)"), scope)).toBe(true);
    expect(evaluate(parseExpr("sum(pluck(nodes.t.output.items, 'w'))"), scope)).toBe(3);
    expect(
      render(
        { x: "${{ inputs.tags }}", y: "n=${{ inputs.n }}", z: "${{ join(inputs.tags, '+') }}" },
        scope,
      ),
    ).toEqual({ x: ["a", "b"], y: "n=3", z: "a+b" });
    expect(() => parseExpr("eval('1')")).toThrow(/unknown function eval/);
    expect(() => parseExpr("process.exit(1)")).toThrow(/unexpected text/);
    expect(() => parseExpr("inputs.n +")).toThrow(/column/);
  });
});
