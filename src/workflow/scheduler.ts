import { hash } from "node:crypto";
import type { TaskFailure } from "../errors/index.ts";
import { nextDelay, retryable } from "../resilience/index.ts";
import { chunk, estimateInputTokens } from "./chunk.ts";
import { evaluate, parseExpr, render } from "./expr.ts";
import type { NodeSpec, Target, WorkflowSpec } from "./spec.ts";

/**
 * The workflow scheduler: a reducer `(state, event) -> (state, commands)`. It does no I/O and
 * reads no clock or randomness (time comes in events; retry jitter is a hash of the task; the
 * run's secret for idempotency keys comes in its `started` event), so replaying a run's journal
 * rebuilds its state exactly. For speed it updates the state it is given and returns it:
 * callers hold no other reference.
 */

export type TaskPhase = "main" | "fallback" | "reduce";

/** One task of a run: a node's item (-1 when the node does not map), phase and attempt. */
export interface TaskRef {
  node: string;
  item: number;
  phase: TaskPhase;
  attempt: number;
}

/** A task's failure: the one TaskFailure shape, from the agent to `runs show`. */
export type TaskError = TaskFailure;

export type RunEvent =
  | {
      type: "started";
      at: number;
      runId: string;
      inputs: Record<string, unknown>;
      /** Context limits of the capabilities, as known when the run started. */
      contextLimits: Record<string, number>;
      /** Random per run: idempotency keys are derived from it, so nobody can predict them. */
      secret?: string;
      /** The identity that started it (secured hubs): its tasks are called on its behalf. */
      owner?: string;
    }
  | {
      type: "task.completed";
      at: number;
      task: TaskRef;
      output: unknown;
      tokens: number;
      agentId?: string;
    }
  | { type: "task.failed"; at: number; task: TaskRef; error: TaskError; tokens: number }
  | { type: "timer.fired"; at: number; task: TaskRef }
  | { type: "cancelled"; at: number; reason: string }
  | { type: "resumed"; at: number }
  | { type: "deadline"; at: number };

export type RunCommand =
  | {
      type: "dispatch";
      task: TaskRef;
      /** The same on every attempt of one task: the agent's idempotency key. */
      key: string;
      /** 1 on the first attempt of this step (what the agent sees as `ctx.attempt`). */
      attempt: number;
      /** Tokens the task may use: its share of the run's budget (0: no budget). */
      maxTokens: number;
      target: Target;
      input: unknown;
      params: Record<string, unknown>;
      timeoutMs: number | undefined;
      /** Circuit-breaker key: the node's dependency, else its capability or query. */
      breaker: string;
    }
  | { type: "timer"; task: TaskRef; delayMs: number }
  | { type: "cancel"; tasks: TaskRef[]; reason: string }
  | {
      type: "finished";
      status: "succeeded" | "failed" | "cancelled";
      outputs?: unknown;
      reason?: string;
    };

export type UnitStatus = "queued" | "running" | "waiting" | "succeeded" | "failed";

interface Unit {
  status: UnitStatus;
  phase: TaskPhase;
  attempt: number;
  input: unknown;
  output?: unknown;
  error?: TaskError;
  agentId?: string;
  /** Tokens reserved for it while it runs (not journaled: derived on replay). */
  reserved?: number;
}

export type NodeStatus = "pending" | "running" | "succeeded" | "failed" | "skipped";

export interface NodeState {
  status: NodeStatus;
  units: Unit[];
  reduce?: Unit;
  output?: unknown;
  error?: TaskError;
  startedAt?: number;
  endedAt?: number;
  /** Attempts made in all (every unit, phase and retry). */
  attempts: number;
  /** Indices of queued units in dispatch order (-1: the reduce); not journaled. */
  queue: number[];
  /** Units of this node running now, and succeeded so far. */
  active: number;
  done: number;
}

export interface RunState {
  runId: string;
  spec: WorkflowSpec;
  status: "pending" | "running" | "succeeded" | "failed" | "cancelled";
  inputs: Record<string, unknown>;
  contextLimits: Record<string, number>;
  startedAt: number;
  endedAt?: number;
  tokens: number;
  /** Tokens reserved by running tasks against the budget. */
  reserved: number;
  secret: string;
  /** Who started it, on a secured hub. */
  owner?: string;
  nodes: Record<string, NodeState>;
  outputs?: unknown;
  reason?: string;
  /** Tasks dispatched and not yet settled. */
  running: number;
  /** Derived from the spec at start (not journaled). */
  index: {
    byId: Map<string, NodeSpec>;
    dependents: Map<string, string[]>;
    remaining: Map<string, number>;
    /** Nodes with queued units, in the order they became ready. */
    ready: Set<string>;
    /** Nodes not yet settled. */
    open: number;
    /** Most tokens one task of each target used so far: the estimate of the next one's cost. */
    largestUse: Map<string, number>;
    /** What templates see: inputs and settled nodes' outputs (kept up to date incrementally). */
    scope: {
      inputs: Record<string, unknown>;
      nodes: Record<string, { output: unknown; status: NodeStatus }>;
    };
  };
}

/** A state before its `started` event. */
export function initialState(spec: WorkflowSpec): RunState {
  return {
    runId: "",
    spec,
    status: "pending",
    inputs: {},
    contextLimits: {},
    startedAt: 0,
    tokens: 0,
    reserved: 0,
    secret: "",
    nodes: {},
    running: 0,
    index: {
      byId: new Map(),
      dependents: new Map(),
      remaining: new Map(),
      ready: new Set(),
      open: 0,
      largestUse: new Map(),
      scope: { inputs: {}, nodes: {} },
    },
  };
}

/** The delay before attempt `next` (2, 3...) of a task, per the node's retry policy. */
export function retryDelay(state: RunState, node: NodeSpec, task: TaskRef, next: number): number {
  return nextDelay(node.retry, next - 1, `${state.runId}/${task.node}/${task.item}`) ?? 0;
}

/** The idempotency key of a step: the same on every attempt, unguessable without the run's secret. */
export function stepKey(state: RunState, node: string, item: number, phase: TaskPhase): string {
  const material = `${state.runId}/${node}/${item}/${phase}`;
  // Runs journaled before keys were derived have no secret: they keep their readable keys.
  if (!state.secret) return material;
  // A keyed hash of the step's coordinates: one-shot hashing, as this runs once per dispatch.
  return `wf-${hash("sha256", `${state.secret}\0${material}`, "base64url").slice(0, 32)}`;
}

/** The budget key of a target: what "the same kind of task" means for cost estimates. */
const targetKey = (t: Target) => (t.capability ? `c:${t.capability}` : `q:${t.query}`);

/** Parameters of an attempt: the node's, varied per retry (numbers step, strings append). */
export function paramsFor(node: NodeSpec, attempt: number): Record<string, unknown> {
  const params: Record<string, unknown> = { ...node.params };
  if (attempt <= 1) return params;
  for (const [key, change] of Object.entries(node.retry.vary)) {
    if (typeof change === "number")
      params[key] =
        (typeof params[key] === "number" ? (params[key] as number) : 0) + change * (attempt - 1);
    else params[key] = `${typeof params[key] === "string" ? params[key] : ""}${change}`;
  }
  return params;
}

const ref = (node: string, item: number, unit: Unit): TaskRef => ({
  node,
  item,
  phase: unit.phase,
  attempt: unit.attempt,
});

/** Applies one event. */
export function reduce(
  state: RunState,
  event: RunEvent,
): { state: RunState; commands: RunCommand[] } {
  const commands: RunCommand[] = [];
  const terminal = state.status !== "running" && state.status !== "pending";
  if (terminal && event.type !== "started") return { state, commands };
  const scope = () => state.index.scope;
  const enqueue = (id: string, index: number) => {
    (state.nodes[id] as NodeState).queue.push(index);
    state.index.ready.add(id);
  };

  const runningTasks = (): TaskRef[] => {
    const out: TaskRef[] = [];
    for (const [id, n] of Object.entries(state.nodes)) {
      const mapped = Boolean(state.index.byId.get(id)?.map);
      n.units.forEach((u, i) => {
        if (u.status === "running") out.push(ref(id, mapped ? i : -1, u));
      });
      if (n.reduce?.status === "running") out.push(ref(id, -1, n.reduce));
    }
    return out;
  };

  const finishRun = (status: "succeeded" | "failed" | "cancelled", reason?: string) => {
    const running = runningTasks();
    if (running.length > 0)
      commands.push({ type: "cancel", tasks: running, reason: reason ?? status });
    for (const n of Object.values(state.nodes)) {
      for (const u of [...n.units, ...(n.reduce ? [n.reduce] : [])])
        if (u.status === "running" || u.status === "queued" || u.status === "waiting")
          u.status = "failed";
      if (n.status === "pending" || n.status === "running") {
        n.status = "failed";
        n.error = {
          type: status === "cancelled" ? "CANCELLED" : "RUN_STOPPED",
          message: reason ?? status,
          nonRetryable: true,
        };
        n.endedAt = event.at;
      }
    }
    state.running = 0;
    state.reserved = 0;
    state.status = status;
    state.endedAt = event.at;
    if (reason) state.reason = reason;
    let outputs: unknown;
    if (status === "succeeded") {
      try {
        outputs = render(state.spec.outputs, scope());
        state.outputs = outputs;
      } catch (error) {
        state.status = "failed";
        state.reason = `outputs: ${(error as Error).message}`;
      }
    }
    commands.push({
      type: "finished",
      status: state.status as "succeeded" | "failed" | "cancelled",
      ...(state.status === "succeeded" ? { outputs } : {}),
      ...(state.reason ? { reason: state.reason } : {}),
    });
  };

  const settleNode = (
    id: string,
    status: "succeeded" | "failed" | "skipped",
    detail: { output?: unknown; error?: TaskError },
  ) => {
    const n = state.nodes[id] as NodeState;
    n.status = status;
    n.endedAt = event.at;
    if (detail.output !== undefined) n.output = detail.output;
    if (detail.error) n.error = detail.error;
    state.index.open--;
    state.index.scope.nodes[id] = { output: n.output, status };
    n.queue = [];
    state.index.ready.delete(id);
    if (status === "failed") {
      const mapped = Boolean(state.index.byId.get(id)?.map);
      const stray = n.units.map((u, i) => [u, i] as const).filter(([u]) => u.status === "running");
      if (n.reduce?.status === "running") stray.push([n.reduce, -1]);
      if (stray.length) {
        commands.push({
          type: "cancel",
          tasks: stray.map(([u, i]) => ref(id, mapped ? i : -1, u)),
          reason: `node ${id} failed`,
        });
        for (const [u] of stray) {
          u.status = "failed";
          state.running--;
        }
        n.active = 0;
      }
      for (const u of n.units)
        if (u.status === "queued" || u.status === "waiting") u.status = "failed";
    }
    for (const dep of state.index.dependents.get(id) ?? []) {
      const d = state.nodes[dep] as NodeState;
      if (d.status !== "pending") continue;
      if (status === "failed") {
        settleNode(dep, "failed", {
          error: {
            type: "UPSTREAM_FAILED",
            message: `upstream node ${id} failed`,
            nonRetryable: true,
          },
        });
        continue;
      }
      const left = (state.index.remaining.get(dep) ?? 1) - 1;
      state.index.remaining.set(dep, left);
      if (left === 0) activate(dep);
    }
  };

  const fail = (id: string, type: string, message: string) =>
    settleNode(id, "failed", { error: { type, message, nonRetryable: true } });

  const activate = (id: string) => {
    const node = state.index.byId.get(id) as NodeSpec;
    const n = state.nodes[id] as NodeState;
    n.startedAt = event.at;
    try {
      if (node.when && !evaluate(parseExpr(node.when), scope())) {
        settleNode(id, "skipped", {});
        return;
      }
    } catch (error) {
      fail(id, "TEMPLATE", `when: ${(error as Error).message}`);
      return;
    }
    n.status = "running";
    try {
      const s = scope();
      if (node.map) {
        let items: unknown[];
        if (node.map.over !== undefined) {
          const list = render(node.map.over, s);
          if (!Array.isArray(list)) {
            fail(
              id,
              "TEMPLATE",
              `map.over is not a list (got ${list === null ? "null" : typeof list})`,
            );
            return;
          }
          items = list;
        } else {
          const c = node.map.chunks as NonNullable<NonNullable<NodeSpec["map"]>["chunks"]>;
          const text = String(render(c.text, s) ?? "");
          const context = node.capability ? state.contextLimits[node.capability] : undefined;
          // Against a context limit, each chunk leaves room for the rest of the task's input
          // (counted as the hub counts it: the tokens of every string), so no task is refused.
          const limit =
            c.maxTokens ??
            (context !== undefined
              ? Math.max(
                  1,
                  context - estimateInputTokens(render(node.input, { ...s, item: "", index: 0 })),
                )
              : 2000);
          items = chunk(text, limit, c.overlapTokens);
        }
        n.units = items.map((item, index) => ({
          status: "queued" as const,
          phase: "main" as const,
          attempt: 1,
          input: render(node.input, { ...s, item, index }),
        }));
        if (n.units.length === 0) mapDone(id);
        else for (let i = 0; i < n.units.length; i++) enqueue(id, i);
      } else {
        n.units = [{ status: "queued", phase: "main", attempt: 1, input: render(node.input, s) }];
        enqueue(id, 0);
      }
    } catch (error) {
      fail(id, "TEMPLATE", (error as Error).message);
    }
  };

  const mapDone = (id: string) => {
    const node = state.index.byId.get(id) as NodeSpec;
    const n = state.nodes[id] as NodeState;
    const outputs = n.units.map((u) => u.output);
    if (!node.reduce) {
      settleNode(id, "succeeded", { output: outputs });
      return;
    }
    try {
      n.reduce = {
        status: "queued",
        phase: "reduce",
        attempt: 1,
        input: render(node.reduce.input, { ...scope(), items: outputs }),
      };
      enqueue(id, -1);
    } catch (error) {
      fail(id, "TEMPLATE", `reduce input: ${(error as Error).message}`);
    }
  };

  const targetOf = (node: NodeSpec, unit: Unit): Target =>
    unit.phase === "fallback"
      ? (node.fallback as Target)
      : unit.phase === "reduce"
        ? (node.reduce as Target)
        : node;

  /**
   * What a task may cost: the node's declared `max_tokens`, else the most a task of the same
   * target used so far in this run (0 before the first: nothing is known yet).
   */
  const costOf = (node: NodeSpec, unit: Unit): number =>
    node.maxTokens ?? state.index.largestUse.get(targetKey(targetOf(node, unit))) ?? 0;

  /** Whether the budget has room for the task's cost on top of what is used and reserved. */
  const affordable = (cost: number): boolean => {
    const max = state.spec.budget.maxTokens;
    return max === undefined || state.tokens + state.reserved + cost <= max;
  };
  let blockedByBudget: { node: string; cost: number } | undefined;

  const settleTokens = (unit: Unit, target: Target, tokens: number) => {
    state.reserved -= unit.reserved ?? 0;
    unit.reserved = 0;
    state.tokens += tokens;
    const key = targetKey(target);
    if (tokens > (state.index.largestUse.get(key) ?? 0)) state.index.largestUse.set(key, tokens);
  };

  const dispatch = (id: string, item: number, unit: Unit, cost: number) => {
    const node = state.index.byId.get(id) as NodeSpec;
    const target = targetOf(node, unit);
    const input =
      unit.phase === "fallback" && node.fallback?.input !== undefined
        ? render(node.fallback.input, { ...scope(), item: unit.input })
        : unit.input;
    unit.status = "running";
    unit.reserved = cost;
    state.reserved += cost;
    state.running++;
    const n = state.nodes[id] as NodeState;
    n.attempts++;
    n.active++;
    const max = state.spec.budget.maxTokens;
    const left = max === undefined ? 0 : Math.max(1, max - state.tokens - state.reserved + cost);
    commands.push({
      type: "dispatch",
      task: ref(id, item, unit),
      key: stepKey(state, id, item, unit.phase),
      attempt: unit.attempt,
      maxTokens: max === undefined ? (node.maxTokens ?? 0) : Math.min(left, node.maxTokens ?? left),
      target: {
        ...(target.capability ? { capability: target.capability } : {}),
        ...(target.query ? { query: target.query } : {}),
      },
      input,
      params: paramsFor(node, unit.phase === "main" ? unit.attempt : 1),
      timeoutMs: node.timeoutMs,
      breaker: node.dependency ?? target.capability ?? `query:${target.query}`,
    });
  };

  /**
   * Dispatches queued tasks, nodes in the order they became ready, within the run's concurrency
   * and each map's parallelism. Only ready nodes are visited: the cost per event does not grow
   * with the size of the graph.
   */
  const pump = () => {
    for (const id of state.index.ready) {
      if (state.running >= state.spec.concurrency) return;
      const node = state.index.byId.get(id) as NodeSpec;
      const n = state.nodes[id] as NodeState;
      const cap = node.map ? node.map.parallelism : 1;
      while (n.queue.length > 0 && n.active < cap && state.running < state.spec.concurrency) {
        const index = n.queue[0] as number;
        const unit = index < 0 ? n.reduce : n.units[index];
        if (unit?.status !== "queued") {
          n.queue.shift();
          continue;
        }
        // A task is started only when its cost fits what the budget has left: never after.
        const cost = costOf(node, unit);
        if (!affordable(cost)) {
          blockedByBudget ??= { node: id, cost };
          break;
        }
        n.queue.shift();
        dispatch(id, index >= 0 && node.map ? index : -1, unit, cost);
      }
      if (n.queue.length === 0) state.index.ready.delete(id);
    }
  };

  const unitOf = (task: TaskRef): Unit | undefined => {
    const n = state.nodes[task.node];
    if (!n) return undefined;
    const u = task.phase === "reduce" ? n.reduce : n.units[Math.max(0, task.item)];
    return u && u.phase === task.phase && u.attempt === task.attempt ? u : undefined;
  };

  const checkBudget = () => {
    const max = state.spec.budget.maxTokens;
    if (max !== undefined && state.tokens > max) {
      finishRun(
        "failed",
        `budget exceeded: ${state.tokens} tokens used, budget.max_tokens is ${max}`,
      );
      return false;
    }
    return true;
  };

  const nodeOf = (task: TaskRef) => state.index.byId.get(task.node) as NodeSpec;

  switch (event.type) {
    case "started": {
      state.runId = event.runId;
      state.secret = event.secret ?? "";
      if (event.owner) state.owner = event.owner;
      state.inputs = event.inputs;
      state.contextLimits = event.contextLimits;
      state.startedAt = event.at;
      state.status = "running";
      state.index.scope.inputs = event.inputs;
      state.index.open = state.spec.nodes.length;
      for (const node of state.spec.nodes) {
        state.index.byId.set(node.id, node);
        state.index.remaining.set(node.id, node.needs.length);
        for (const dep of node.needs)
          state.index.dependents.set(dep, [...(state.index.dependents.get(dep) ?? []), node.id]);
        state.nodes[node.id] = {
          status: "pending",
          units: [],
          attempts: 0,
          queue: [],
          active: 0,
          done: 0,
        };
      }
      for (const node of state.spec.nodes)
        if (node.needs.length === 0 && state.nodes[node.id]?.status === "pending")
          activate(node.id);
      break;
    }
    case "task.completed": {
      const unit = unitOf(event.task);
      if (unit?.status !== "running") break;
      unit.status = "succeeded";
      unit.output = event.output;
      if (event.agentId) unit.agentId = event.agentId;
      state.running--;
      settleTokens(unit, targetOf(nodeOf(event.task), unit), event.tokens);
      const n = state.nodes[event.task.node] as NodeState;
      const node = state.index.byId.get(event.task.node) as NodeSpec;
      n.active--;
      // The finished task's node completes; the budget then stops what would come next.
      if (event.task.phase === "reduce")
        settleNode(event.task.node, "succeeded", { output: event.output });
      else if (!node.map) settleNode(event.task.node, "succeeded", { output: event.output });
      else if (++n.done === n.units.length) mapDone(event.task.node);
      if (!checkBudget()) return { state, commands };
      break;
    }
    case "task.failed": {
      const unit = unitOf(event.task);
      if (unit?.status !== "running") break;
      state.running--;
      (state.nodes[event.task.node] as NodeState).active--;
      const node = nodeOf(event.task);
      settleTokens(unit, targetOf(node, unit), event.tokens);
      if (!checkBudget()) return { state, commands };
      const again = retryable(node.retry, event.error) && unit.attempt < node.retry.maximumAttempts;
      if (unit.phase !== "fallback" && again) {
        unit.status = "waiting";
        unit.attempt++;
        unit.error = event.error;
        commands.push({
          type: "timer",
          task: ref(event.task.node, event.task.item, unit),
          delayMs: retryDelay(state, node, event.task, unit.attempt),
        });
      } else if (unit.phase === "main" && node.fallback) {
        unit.status = "queued";
        unit.phase = "fallback";
        unit.attempt = 1;
        unit.error = event.error;
        enqueue(event.task.node, Math.max(0, event.task.item));
      } else {
        unit.status = "failed";
        unit.error = event.error;
        const what = event.task.item >= 0 ? ` (item ${event.task.item})` : "";
        settleNode(event.task.node, "failed", {
          error: {
            ...event.error,
            message: `${event.error.message}${what} after ${event.task.attempt} attempt${event.task.attempt === 1 ? "" : "s"}`,
          },
        });
      }
      break;
    }
    case "timer.fired": {
      const unit = unitOf(event.task);
      if (unit?.status === "waiting") {
        unit.status = "queued";
        enqueue(event.task.node, event.task.phase === "reduce" ? -1 : Math.max(0, event.task.item));
      }
      break;
    }
    case "cancelled":
      finishRun("cancelled", event.reason);
      return { state, commands };
    case "deadline":
      finishRun(
        "failed",
        `budget exceeded: the run took longer than budget.max_duration (${state.spec.budget.maxDurationMs} ms)`,
      );
      return { state, commands };
    case "resumed": {
      // Tasks in flight when the previous process died are dispatched again with the same key;
      // pending retry timers fire again.
      state.running = 0;
      state.reserved = 0;
      for (const [id, n] of Object.entries(state.nodes)) {
        const node = state.index.byId.get(id) as NodeSpec;
        n.active = 0;
        n.units.forEach((u, i) => {
          u.reserved = 0;
          if (u.status === "running") {
            u.status = "queued";
            enqueue(id, i);
          } else if (u.status === "waiting")
            commands.push({ type: "timer", task: ref(id, node.map ? i : -1, u), delayMs: 0 });
        });
        if (n.reduce?.status === "running") {
          n.reduce.status = "queued";
          enqueue(id, -1);
        }
      }
      break;
    }
  }
  pump();
  if (state.status === "running" && state.running === 0 && blockedByBudget) {
    const { node, cost } = blockedByBudget;
    finishRun(
      "failed",
      `budget exceeded: node ${node} may use ${cost} tokens, ${state.tokens} of budget.max_tokens ${state.spec.budget.maxTokens} are used`,
    );
    return { state, commands };
  }
  if (state.status === "running" && state.index.open === 0) {
    const failed = Object.entries(state.nodes).filter(([, n]) => n.status === "failed");
    if (failed.length === 0) finishRun("succeeded");
    else {
      // The first failures name the cause; downstream ones only say which upstream failed.
      const shown = failed
        .filter(([, n]) => n.error?.type !== "UPSTREAM_FAILED")
        .concat(failed.filter(([, n]) => n.error?.type === "UPSTREAM_FAILED"))
        .slice(0, 5);
      const more = failed.length > shown.length ? `; and ${failed.length - shown.length} more` : "";
      finishRun(
        "failed",
        `node${failed.length === 1 ? "" : "s"} failed: ${shown.map(([id, n]) => `${id} (${n.error?.message ?? "failed"})`).join("; ")}${more}`,
      );
    }
  }
  return { state, commands };
}
