import { afterEach, describe, expect, it } from "vitest";
import { isClawHubError } from "../src/errors/index.ts";
import { ref, taskError, workflow } from "../src/sdk/index.ts";
import { estimateTokens, parseWorkflowText, validateWorkflow } from "../src/workflow/index.ts";
import { createHubSandbox, type HubSandbox, until } from "./helpers/hub.ts";

let sb: HubSandbox | undefined;
afterEach(async () => {
  await sb?.close();
  sb = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Agents for the triage shape: counts concurrent research tasks. */
async function triageAgents(s: HubSandbox) {
  const seen = { concurrent: 0, maxConcurrent: 0, calls: [] as string[] };
  const a = s.agent({ name: "triage" });
  a.capability(
    { name: "triage", description: "splits a question into topics" },
    (input: { question: string }) => ({
      topics: input.question.split(" and ").map((t) => t.trim()),
    }),
  );
  for (const kind of ["history", "economics", "technology"]) {
    a.capability(
      {
        name: `research.${kind}`,
        description: `researches the ${kind} of topics`,
        maxConcurrency: 2,
      },
      async (input: { topics: string[] }) => {
        seen.calls.push(kind);
        seen.concurrent++;
        seen.maxConcurrent = Math.max(seen.maxConcurrent, seen.concurrent);
        await sleep(100);
        seen.concurrent--;
        return { kind, findings: input.topics.map((t) => `${kind} of ${t}`) };
      },
    );
  }
  a.capability(
    { name: "decide", description: "synthesises findings" },
    (input: { parts: Array<{ findings: string[] }> }) => ({
      decision: input.parts.flatMap((p) => p.findings).join("; "),
    }),
  );
  await a.start();
  return seen;
}

const triageFlow = {
  name: "triage",
  inputs: { type: "object", properties: { question: { type: "string" } }, required: ["question"] },
  nodes: [
    { id: "triage", capability: "triage", input: { question: "${{ inputs.question }}" } },
    {
      id: "history",
      capability: "research.history",
      input: { topics: "${{ nodes.triage.output.topics }}" },
    },
    {
      id: "economics",
      capability: "research.economics",
      input: { topics: "${{ nodes.triage.output.topics }}" },
    },
    {
      id: "technology",
      capability: "research.technology",
      input: { topics: "${{ nodes.triage.output.topics }}" },
    },
    {
      id: "decide",
      capability: "decide",
      input: {
        parts: [
          "${{ nodes.history.output }}",
          "${{ nodes.economics.output }}",
          "${{ nodes.technology.output }}",
        ],
      },
    },
  ],
  outputs: {
    decision: "${{ nodes.decide.output.decision }}",
    topics: "${{ length(nodes.triage.output.topics) }}",
  },
};

describe("workflows", () => {
  it("runs triage -> three parallel research nodes -> decision, branches concurrently", async () => {
    sb = await createHubSandbox();
    const seen = await triageAgents(sb);
    const started = await sb.client.flows.start(triageFlow, { question: "steam and rail" });
    const updates: string[] = [];
    const final = await sb.client.flows.watch(started.runId, (v) => updates.push(v.status));
    expect(final.status).toBe("succeeded");
    expect(final.outputs).toEqual({
      decision:
        "history of steam; history of rail; economics of steam; economics of rail; technology of steam; technology of rail",
      topics: 2,
    });
    expect(seen.maxConcurrent).toBe(3);
    expect(final.nodes.map((n) => [n.id, n.status, n.attempts])).toEqual([
      ["triage", "succeeded", 1],
      ["history", "succeeded", 1],
      ["economics", "succeeded", 1],
      ["technology", "succeeded", 1],
      ["decide", "succeeded", 1],
    ]);
    expect((await sb.client.flows.list())[0]).toMatchObject({
      runId: started.runId,
      status: "succeeded",
    });
  });

  it("refuses invalid workflows with every problem at once, naming the cycle", async () => {
    const raw = parseWorkflowText(`
name: broken
nodes:
  - id: a
    capability: x
    input: "\${{ nodes.c.output }}"
  - id: b
    capability: x
    needs: [a, ghost]
  - id: c
    capability: x
    needs: [b]
  - id: d
    input: "\${{ nodes.a.output + }}"
    capability: y
    query: z
`);
    try {
      validateWorkflow(raw);
      throw new Error("expected a refusal");
    } catch (error) {
      if (!isClawHubError(error)) throw error;
      const issues = error.details?.issues as Array<{ rule: string; message: string }>;
      expect(issues.map((i) => i.rule).sort()).toEqual(
        ["node.target", "node.unknown-need", "template.syntax", "workflow.cycle"].sort(),
      );
      expect(issues.find((i) => i.rule === "workflow.cycle")?.message).toBe(
        "cycle: a -> c -> b -> a",
      );
    }
  });

  it("checks capabilities and schemas against the hub when asked", async () => {
    sb = await createHubSandbox();
    const a = sb.agent({ name: "typed" });
    a.capability(
      {
        name: "count",
        description: "counts",
        output: { type: "object", properties: { n: { type: "integer" } } },
      },
      () => ({ n: 1 }),
    );
    a.capability(
      {
        name: "shout",
        description: "shouts",
        input: { type: "object", properties: { text: { type: "string" } } },
      },
      () => "!",
    );
    await a.start();
    const flow = {
      name: "typed",
      nodes: [
        { id: "c", capability: "count" },
        { id: "s", capability: "shout", input: { text: "${{ nodes.c.output.n }}" } },
        { id: "z", capability: "nope" },
      ],
    };
    const error = await sb.client.flows.validate(flow).catch((e: unknown) => e);
    expect(
      isClawHubError(error) &&
        ((error.details?.issues ?? []) as Array<{ rule: string }>).map((i) => i.rule),
    ).toEqual(["node.unknown-capability", "schema.mismatch"]);
  });

  it("fails only the dependents of a failed node; other branches go on", async () => {
    sb = await createHubSandbox();
    const a = sb.agent({ name: "mixed" });
    a.capability({ name: "ok", description: "works" }, (input) => input);
    a.capability({ name: "broken", description: "always fails" }, () => {
      throw taskError("BROKEN", "it is broken");
    });
    await a.start();
    const run = await sb.client.flows.start({
      name: "partial",
      nodes: [
        { id: "bad", capability: "broken" },
        { id: "after-bad", capability: "ok", needs: ["bad"] },
        { id: "good", capability: "ok", input: 1 },
        { id: "after-good", capability: "ok", input: "${{ nodes.good.output }}" },
      ],
    });
    const final = await sb.client.flows.watch(run.runId);
    expect(final.status).toBe("failed");
    expect(Object.fromEntries(final.nodes.map((n) => [n.id, n.status]))).toEqual({
      bad: "failed",
      "after-bad": "failed",
      good: "succeeded",
      "after-good": "succeeded",
    });
    expect(final.nodes[1]?.error?.type).toBe("UPSTREAM_FAILED");
    expect(final.reason).toContain("it is broken");
  });

  it("retries with backoff and varied parameters, opens the breaker, and falls back", async () => {
    sb = await createHubSandbox({ workflows: { breaker: { failures: 3, halfOpenAfterMs: 300 } } });
    const params: Array<Record<string, unknown>> = [];
    let healthy = false;
    const a = sb.agent({ name: "flaky" });
    a.capability(
      { name: "quote.live", description: "live quote from a flaky upstream", maxConcurrency: 4 },
      (_input, ctx) => {
        params.push(ctx.params);
        if (!healthy) throw taskError("UPSTREAM_DOWN", "upstream timed out", { retryable: true });
        return { price: 101, source: "live" };
      },
    );
    a.capability({ name: "quote.cached", description: "cached quote" }, () => ({
      price: 100,
      source: "cache",
    }));
    await a.start();
    const breakerEvents: string[] = [];
    const events = sb.client.events((e) => breakerEvents.push(e.kind), { filter: "breaker.>" });
    await sleep(100);
    const flow = {
      name: "quote",
      nodes: [
        {
          id: "quote",
          capability: "quote.live",
          params: { temperature: 0.2 },
          retry: {
            max_attempts: 3,
            initial_interval: "20ms",
            backoff_coefficient: 2,
            jitter: 0,
            vary: { temperature: 0.3, promptSuffix: " (retry)" },
          },
          fallback: "quote.cached",
        },
      ],
      outputs: { quote: "${{ nodes.quote.output }}" },
    };
    const first = await sb.client.flows.watch((await sb.client.flows.start(flow)).runId);
    expect(first.status).toBe("succeeded");
    expect(first.outputs).toEqual({ quote: { price: 100, source: "cache" } });
    expect(first.nodes[0]).toMatchObject({ attempts: 4, usedFallback: true });
    expect(params.map((p) => p.temperature)).toEqual([0.2, 0.5, 0.8]);
    expect(params[2]?.promptSuffix).toBe(" (retry)");
    // Three consecutive failures opened the circuit of quote.live for every run.
    await until(() => breakerEvents.includes("breaker.open"));
    expect(sb.hub.workflows?.breakers()["quote.live"]).toBe("open");
    // While it is open a new run waits instead of hammering the upstream; it recovers meanwhile.
    const callsBefore = params.length;
    healthy = true;
    const second = await sb.client.flows.watch((await sb.client.flows.start(flow)).runId);
    expect(second.outputs).toEqual({ quote: { price: 101, source: "live" } });
    expect(params.length).toBe(callsBefore + 1);
    await until(() => breakerEvents.includes("breaker.closed"));
    expect(sb.hub.workflows?.breakers()["quote.live"]).toBe("closed");
    events.stop();
  });

  it("never starts a node whose cost would cross the token budget", async () => {
    sb = await createHubSandbox();
    const told: Array<number | undefined> = [];
    const a = sb.agent({ name: "spender" });
    a.capability(
      { name: "spend", description: "uses tokens", maxConcurrency: 1 },
      (_input, ctx) => {
        told.push(ctx.maxTokens);
        ctx.reportUsage({ tokens: 400 });
        return "ok";
      },
    );
    await a.start();
    const run = await sb.client.flows.start({
      name: "budgeted",
      budget: { max_tokens: 1000 },
      nodes: [
        { id: "one", capability: "spend" },
        { id: "two", capability: "spend", needs: ["one"] },
        { id: "three", capability: "spend", needs: ["two"] },
        { id: "four", capability: "spend", needs: ["three"] },
      ],
    });
    const final = await sb.client.flows.watch(run.runId);
    expect(final.status).toBe("failed");
    // "one" used 400: "two" (estimated 400 like it) still fits; "three" would cross 1000.
    expect(final.reason).toBe(
      "budget exceeded: node three may use 400 tokens, 800 of budget.max_tokens 1000 are used",
    );
    expect(final.tokens).toBe(800);
    expect(final.nodes.map((n) => [n.status, n.attempts])).toEqual([
      ["succeeded", 1],
      ["succeeded", 1],
      ["failed", 0],
      ["failed", 0],
    ]);
    // Each task is told what is left of the budget.
    expect(told).toEqual([1000, 600]);

    // A declared max_tokens is reserved before the first task of its kind has run.
    const declared = await sb.client.flows.watch(
      (
        await sb.client.flows.start({
          name: "declared",
          budget: { max_tokens: 1000 },
          nodes: [
            { id: "small", capability: "spend", max_tokens: 400 },
            { id: "big", capability: "spend", max_tokens: 700, needs: ["small"] },
          ],
        })
      ).runId,
    );
    expect(declared.status).toBe("failed");
    expect(declared.reason).toContain("node big may use 700 tokens");
    expect(declared.nodes.map((n) => n.attempts)).toEqual([1, 0]);
    expect(told.slice(2)).toEqual([400]);
  });

  it("ctx.attempt counts a step's attempts across the workflow's retries, and the failure keeps its type", async () => {
    sb = await createHubSandbox();
    const attempts: number[] = [];
    const a = sb.agent({ name: "wobbly" });
    a.capability({ name: "wobble", description: "fails twice" }, (_input, ctx) => {
      attempts.push(ctx.attempt);
      if (attempts.length < 3) throw taskError("WOBBLE", "not yet", { retryable: true });
      return ctx.attempt;
    });
    a.capability({ name: "refuse", description: "refuses" }, () => {
      throw taskError("QUOTA_EXCEEDED", "over quota");
    });
    await a.start();
    const ok = await sb.client.flows.watch(
      (
        await sb.client.flows.start({
          name: "wobbly",
          nodes: [
            { id: "w", capability: "wobble", retry: { max_attempts: 3, initial_interval: "10ms" } },
          ],
          outputs: { last: "${{ nodes.w.output }}" },
        })
      ).runId,
    );
    expect(ok.outputs).toEqual({ last: 3 });
    expect(attempts).toEqual([1, 2, 3]);
    const refused = await sb.client.flows.watch(
      (await sb.client.flows.start({ name: "refused", nodes: [{ id: "r", capability: "refuse" }] }))
        .runId,
    );
    expect(refused.nodes[0]?.error).toMatchObject({ type: "QUOTA_EXCEEDED", nonRetryable: true });
    expect(refused.nodes[0]?.attempts).toBe(1);
  });

  it("drops finished runs past their retention and beyond the journal size limit", async () => {
    let now = Date.now();
    sb = await createHubSandbox({
      now: () => now,
      // The clock jumps 2 minutes below: heartbeats are due far less often than that.
      heartbeatIntervalMs: 600_000,
      workflows: { retainRunsMs: 60_000, maxJournalBytes: 1_000_000 },
    });
    const a = sb.agent({ name: "noop" });
    a.capability({ name: "noop", description: "does nothing" }, () => "x".repeat(10_000));
    await a.start();
    const run = async () =>
      (
        await sb?.client.flows.watch(
          (
            await sb.client.flows.start({ name: "n", nodes: [{ id: "a", capability: "noop" }] })
          ).runId,
        )
      )?.runId as string;
    const old = await run();
    now += 120_000;
    const fresh = await run();
    expect(await sb.hub.workflows?.prune()).toBe(1);
    expect((await sb.client.flows.list()).map((r) => r.runId)).toEqual([fresh]);
    const gone = await sb.client.flows.get(old).catch((e: unknown) => e);
    expect(isClawHubError(gone) && gone.code).toBe("NOT_FOUND");
    expect(await sb.hub.core.ctx.cp.kv.keys(`wf.events.${old}`)).toEqual([]);
    // Over the size limit, the oldest finished runs go first even within the retention.
    const many: string[] = [];
    for (let i = 0; i < 120; i++) many.push(await run());
    await sb.hub.workflows?.prune();
    const kept = (await sb.client.flows.list({ all: true })).map((r) => r.runId);
    expect(kept.length).toBeLessThan(121);
    expect(kept.length).toBeGreaterThan(10);
    expect(kept).toContain(many[many.length - 1]);
    expect(kept).not.toContain(fresh);
  });

  it("stops a run that outlives budget.max_duration and cancels its tasks", async () => {
    sb = await createHubSandbox();
    let aborted = false;
    const a = sb.agent({ name: "slow" });
    a.capability({ name: "slow", description: "slow" }, (_input, ctx) => {
      return new Promise((_resolve, reject) =>
        ctx.signal.addEventListener("abort", () => {
          aborted = true;
          reject(ctx.signal.reason);
        }),
      );
    });
    await a.start();
    const run = await sb.client.flows.start({
      name: "slow",
      budget: { max_duration: "300ms" },
      nodes: [{ id: "s", capability: "slow" }],
    });
    const final = await sb.client.flows.watch(run.runId);
    expect(final.status).toBe("failed");
    expect(final.reason).toContain("budget.max_duration");
    await until(() => aborted);
  });

  it("map-reduce over chunks gives the unsplit document's answer", async () => {
    sb = await createHubSandbox();
    const a = sb.agent({ name: "counter" });
    let largest = 0;
    a.capability(
      { name: "words.count", description: "counts words", contextLimit: 200, maxConcurrency: 4 },
      (input: { text: string }) => {
        largest = Math.max(largest, estimateTokens(input.text));
        return { words: input.text.split(/\s+/).filter(Boolean).length };
      },
    );
    a.capability(
      { name: "math.sum", description: "adds numbers" },
      (input: { values: number[] }) => ({
        total: input.values.reduce((x, y) => x + y, 0),
      }),
    );
    await a.start();
    const paragraphs = Array.from(
      { length: 40 },
      (_, i) => `Paragraph ${i} has exactly these few words in it, ${"more ".repeat(i % 7)}end.`,
    );
    const doc = paragraphs.join("\n\n");
    const unsplit = doc.split(/\s+/).filter(Boolean).length;
    expect(estimateTokens(doc)).toBeGreaterThan(200);
    const flow = {
      name: "count",
      nodes: [
        {
          id: "count",
          capability: "words.count",
          input: { text: "${{ item }}" },
          map: { chunks: { text: "${{ inputs.doc }}", overlap_tokens: 0 }, parallelism: 3 },
          reduce: { capability: "math.sum", input: { values: "${{ pluck(items, 'words') }}" } },
        },
      ],
      outputs: { total: "${{ nodes.count.output.total }}" },
    };
    const final = await sb.client.flows.watch((await sb.client.flows.start(flow, { doc })).runId);
    expect(final.status).toBe("succeeded");
    expect(final.outputs).toEqual({ total: unsplit });
    expect(final.nodes[0]?.items).toBeGreaterThan(2);
    expect(largest).toBeLessThanOrEqual(200);
  });

  it("skips nodes whose condition is false, and can be cancelled", async () => {
    sb = await createHubSandbox();
    const a = sb.agent({ name: "misc" });
    a.capability({ name: "echo", description: "echo" }, (input) => input);
    a.capability(
      { name: "hang", description: "never ends" },
      (_i, ctx) =>
        new Promise((_r, reject) =>
          ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)),
        ),
    );
    await a.start();
    const skipped = await sb.client.flows.watch(
      (
        await sb.client.flows.start(
          {
            name: "cond",
            nodes: [
              { id: "n", capability: "echo", input: 5 },
              { id: "big", capability: "echo", when: "${{ nodes.n.output > 10 }}", input: "big" },
              { id: "small", capability: "echo", when: "nodes.n.output <= 10", input: "small" },
            ],
          },
          {},
        )
      ).runId,
    );
    expect(skipped.nodes.map((n) => n.status)).toEqual(["succeeded", "skipped", "succeeded"]);
    const run = await sb.client.flows.start({
      name: "hang",
      nodes: [{ id: "h", capability: "hang" }],
    });
    await until(async () => (await sb?.client.agents())?.[0]?.inFlight === 1);
    const cancelled = await sb.client.flows.cancel(run.runId);
    expect(cancelled.status).toBe("cancelled");
    await until(async () => (await sb?.client.agents())?.[0]?.inFlight === 0);
  });

  it("refuses inputs that break the workflow's inputs schema", async () => {
    sb = await createHubSandbox();
    await triageAgents(sb);
    const error = await sb.client.flows.start(triageFlow, { question: 7 }).catch((e: unknown) => e);
    expect(isClawHubError(error) && error.code).toBe("SCHEMA_INVALID");
  });

  it("runs a workflow built with the TypeScript builder", async () => {
    sb = await createHubSandbox();
    const a = sb.agent({ name: "math" });
    a.capability({ name: "double", description: "doubles" }, (input: { n: number }) => ({
      n: input.n * 2,
    }));
    await a.start();
    const flow = workflow("doubling", {
      inputs: { type: "object", properties: { n: { type: "number" } } },
    })
      .node("once", { capability: "double", input: { n: ref("inputs.n") } })
      .node("twice", {
        capability: "double",
        input: { n: ref("nodes.once.output.n") },
        retry: { maxAttempts: 2 },
      })
      .output("n", ref("nodes.twice.output.n"))
      .build();
    const final = await sb.client.flows.watch((await sb.client.flows.start(flow, { n: 5 })).runId);
    expect(final.outputs).toEqual({ n: 20 });
  });
});
