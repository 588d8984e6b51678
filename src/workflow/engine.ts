import { randomUUID } from "node:crypto";
import {
  BrokenCircuitError,
  type BulkheadPolicy,
  BulkheadRejectedError,
  bulkhead,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
} from "cockatiel";
import type { ControlPlane } from "../control-plane/index.ts";
import { ClawHubError, toClawHubError } from "../errors/index.ts";
import {
  initialState,
  type NodeStatus,
  type RunCommand,
  type RunEvent,
  type RunState,
  reduce,
  type TaskError,
  type TaskRef,
} from "./scheduler.ts";
import type { Target, WorkflowSpec } from "./spec.ts";

/** How the engine runs one task: the hub's call, in process. */
export interface TaskRunner {
  call(
    request: Target & {
      input: unknown;
      params: Record<string, unknown>;
      idempotencyKey: string;
      deadline: number | undefined;
      signal: AbortSignal;
    },
  ): Promise<{ output: unknown; tokens: number; agentId: string }>;
  /** Context limits (tokens) of the capabilities connected now. */
  contextLimits(): Record<string, number>;
}

/** Options of {@link createWorkflowEngine}. */
export interface WorkflowEngineOptions {
  runner: TaskRunner;
  /** Journal and run records live here (`wf.runs.<id>`, `wf.events.<id>.<seq>`). */
  controlPlane: ControlPlane;
  now?: () => number;
  newId?: () => string;
  logger?: (line: string) => void;
  /** Engine events (breaker.open, breaker.closed, run.finished...) for the hub's event stream. */
  emit?: (kind: string, data: Record<string, unknown>) => void;
  /**
   * Circuit breakers, one per capability or declared dependency, shared by every run: `failures`
   * consecutive retryable failures open it for `halfOpenAfterMs`; while open, at most
   * `maxWaiting` calls wait for it (the rest fail at once with RESOURCE_EXHAUSTED).
   */
  breaker?: { failures?: number; halfOpenAfterMs?: number; maxWaiting?: number };
  /** Bulkhead per capability or dependency: calls at once, and calls queued beyond them. */
  bulkhead?: { limit?: number; queue?: number };
}

/** A node as `runs show` presents it. */
export interface NodeView {
  id: string;
  status: NodeStatus;
  attempts: number;
  items: number | undefined;
  usedFallback: boolean;
  output: unknown;
  error: TaskError | undefined;
  agents: string[];
  startedAt: number | undefined;
  endedAt: number | undefined;
}

/** A run as callers see it. */
export interface RunView {
  runId: string;
  name: string;
  status: RunState["status"];
  inputs: Record<string, unknown>;
  startedAt: number;
  endedAt: number | undefined;
  tokens: number;
  reason: string | undefined;
  outputs: unknown;
  nodes: NodeView[];
}

interface LiveRun {
  state: RunState;
  seq: number;
  chain: Promise<void>;
  tasks: Map<string, AbortController>;
  timers: Set<NodeJS.Timeout>;
  watchers: Set<(view: RunView) => void>;
  viewTimer: NodeJS.Timeout | undefined;
  done: Promise<RunView>;
  resolveDone(view: RunView): void;
}

interface Guard {
  breaker: CircuitBreakerPolicy;
  bulkhead: BulkheadPolicy;
  waiting: number;
  openedAt: number;
}

const runKey = (id: string) => `wf.runs.${id}`;
const eventKey = (id: string, seq: number) => `wf.events.${id}.${String(seq).padStart(10, "0")}`;
const taskKey = (t: TaskRef) => `${t.node}/${t.item}/${t.phase}/${t.attempt}`;

/** The view of a state. */
export function viewOf(state: RunState): RunView {
  return {
    runId: state.runId,
    name: state.spec.name,
    status: state.status,
    inputs: state.inputs,
    startedAt: state.startedAt,
    endedAt: state.endedAt,
    tokens: state.tokens,
    reason: state.reason,
    outputs: state.outputs,
    nodes: state.spec.nodes.map((node) => {
      const n = state.nodes[node.id];
      const units = [...(n?.units ?? []), ...(n?.reduce ? [n.reduce] : [])];
      return {
        id: node.id,
        status: n?.status ?? "pending",
        attempts: n?.attempts ?? 0,
        items: node.map ? (n?.units.length ?? 0) : undefined,
        usedFallback: units.some((u) => u.phase === "fallback"),
        output: n?.output,
        error: n?.error,
        agents: [...new Set(units.map((u) => u.agentId).filter((a): a is string => Boolean(a)))],
        startedAt: n?.startedAt,
        endedAt: n?.endedAt,
      };
    }),
  };
}

/** What a failed call means for the scheduler: code, message, and whether to retry. */
export function taskErrorOf(error: unknown): TaskError {
  const e = toClawHubError(error);
  if (e.code === "TASK_FAILED") {
    return {
      code: typeof e.details?.code === "string" ? e.details.code : "TASK_FAILED",
      message: e.message,
      retryable: e.details?.retryable === true,
    };
  }
  const retryable = [
    "DEADLINE_EXCEEDED",
    "UNAVAILABLE",
    "RESOURCE_EXHAUSTED",
    "NETWORK_ERROR",
    "SERVER_ERROR",
  ].includes(e.code);
  return { code: e.code, message: e.message, retryable };
}

/**
 * Runs workflows: journals every event in the control plane before applying it to the pure
 * scheduler, executes the scheduler's commands (hub calls through a circuit breaker and a
 * bulkhead per capability, retry timers, cancellations), and resumes runs from their journal
 * after a restart.
 */
export function createWorkflowEngine(options: WorkflowEngineOptions) {
  const now = options.now ?? Date.now;
  const newId = options.newId ?? randomUUID;
  const log = options.logger ?? (() => {});
  const emit = options.emit ?? (() => {});
  const cp = options.controlPlane;
  const failures = options.breaker?.failures ?? 5;
  const halfOpenAfterMs = options.breaker?.halfOpenAfterMs ?? 10_000;
  const maxWaiting = options.breaker?.maxWaiting ?? 100;
  const runs = new Map<string, LiveRun>();
  const guards = new Map<string, Guard>();
  let closed = false;

  function guard(key: string): Guard {
    let g = guards.get(key);
    if (g) return g;
    // Only failures worth retrying say the dependency is unwell; refused input does not.
    const breaker = circuitBreaker(
      handleWhen((e) => !(e instanceof BrokenCircuitError) && taskErrorOf(e).retryable),
      { halfOpenAfter: halfOpenAfterMs, breaker: new ConsecutiveBreaker(failures) },
    );
    const created: Guard = {
      breaker,
      bulkhead: bulkhead(options.bulkhead?.limit ?? 32, options.bulkhead?.queue ?? 256),
      waiting: 0,
      openedAt: 0,
    };
    breaker.onBreak(() => {
      created.openedAt = Date.now();
      log(
        `workflow: circuit of ${key} opened after ${failures} failures; calls wait ${halfOpenAfterMs} ms`,
      );
      emit("breaker.open", { key, halfOpenAfterMs });
    });
    breaker.onReset(() => {
      log(`workflow: circuit of ${key} closed again`);
      emit("breaker.closed", { key });
    });
    breaker.onHalfOpen(() => emit("breaker.half-open", { key }));
    guards.set(key, created);
    g = created;
    return g;
  }

  /** Runs `fn` behind the key's breaker and bulkhead; while the circuit is open, waits (bounded). */
  async function guarded<T>(key: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    const g = guard(key);
    // cockatiel moves an open circuit to half-open only when a call arrives after the delay:
    // after waiting, a call goes through (it is the trial, or waits in cockatiel for it).
    let waited = false;
    for (;;) {
      if (g.breaker.state === CircuitState.Open && !waited) {
        if (g.waiting >= maxWaiting)
          throw new ClawHubError(
            "RESOURCE_EXHAUSTED",
            `the circuit of ${key} is open and ${maxWaiting} calls already wait for it`,
            {
              details: { retryAfterMs: halfOpenAfterMs },
            },
          );
        g.waiting++;
        try {
          const wait = Math.max(10, halfOpenAfterMs - (Date.now() - g.openedAt));
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(resolve, wait);
            signal.addEventListener(
              "abort",
              () => {
                clearTimeout(timer);
                reject(
                  new ClawHubError("CANCELLED", "cancelled while waiting for an open circuit"),
                );
              },
              { once: true },
            );
          });
        } finally {
          g.waiting--;
        }
        waited = true;
        continue;
      }
      waited = false;
      try {
        return await g.bulkhead.execute(() => g.breaker.execute(fn));
      } catch (error) {
        if (error instanceof BrokenCircuitError) continue;
        if (error instanceof BulkheadRejectedError)
          throw new ClawHubError(
            "RESOURCE_EXHAUSTED",
            `too many calls to ${key} at once (bulkhead full)`,
            { details: { retryAfterMs: 1000 } },
          );
        throw error;
      }
    }
  }

  /**
   * Watchers get the run's view at most every 25 ms while it runs (a view is a pass over every
   * node: per event it would make big runs quadratic), and always its final view.
   */
  const publishView = (run: LiveRun) => {
    if (run.watchers.size === 0) return;
    const send = () => {
      run.viewTimer = undefined;
      const view = viewOf(run.state);
      for (const w of run.watchers) w(view);
    };
    if (run.state.status !== "running") {
      if (run.viewTimer) clearTimeout(run.viewTimer);
      send();
    } else if (!run.viewTimer) run.viewTimer = setTimeout(send, 25);
  };

  /** Journals an event, applies it, executes its commands. Events of one run apply in order. */
  function apply(run: LiveRun, event: RunEvent): Promise<void> {
    run.chain = run.chain
      .then(async () => {
        if (closed) return;
        run.seq++;
        await cp.kv.put(eventKey(run.state.runId, run.seq), event);
        const { commands } = reduce(run.state, event);
        for (const command of commands) execute(run, command);
        publishView(run);
        // A finished run lives on in its journal only: memory holds running runs.
        if (run.state.status !== "running") runs.delete(run.state.runId);
      })
      .catch((error: unknown) =>
        log(`workflow: run ${run.state.runId}: ${(error as Error).message}`),
      );
    return run.chain;
  }

  function execute(run: LiveRun, command: RunCommand): void {
    switch (command.type) {
      case "dispatch": {
        const controller = new AbortController();
        run.tasks.set(taskKey(command.task), controller);
        guarded(command.breaker, controller.signal, () =>
          options.runner.call({
            ...command.target,
            input: command.input,
            params: command.params,
            idempotencyKey: command.key,
            deadline: command.timeoutMs ? now() + command.timeoutMs : undefined,
            signal: controller.signal,
          }),
        ).then(
          (result) => {
            run.tasks.delete(taskKey(command.task));
            if (!controller.signal.aborted)
              apply(run, {
                type: "task.completed",
                at: now(),
                task: command.task,
                output: result.output,
                tokens: result.tokens,
                agentId: result.agentId,
              });
          },
          (error: unknown) => {
            run.tasks.delete(taskKey(command.task));
            if (!controller.signal.aborted)
              apply(run, {
                type: "task.failed",
                at: now(),
                task: command.task,
                error: taskErrorOf(error),
                tokens: 0,
              });
          },
        );
        return;
      }
      case "timer": {
        const timer = setTimeout(() => {
          run.timers.delete(timer);
          apply(run, { type: "timer.fired", at: now(), task: command.task });
        }, command.delayMs);
        run.timers.add(timer);
        return;
      }
      case "cancel":
        for (const task of command.tasks) run.tasks.get(taskKey(task))?.abort();
        return;
      case "finished": {
        for (const timer of run.timers) clearTimeout(timer);
        run.timers.clear();
        const view = viewOf(run.state);
        cp.kv
          .get<Record<string, unknown>>(runKey(run.state.runId))
          .then((meta) =>
            cp.kv.put(runKey(run.state.runId), {
              ...meta?.value,
              status: view.status,
              endedAt: view.endedAt,
              reason: view.reason ?? null,
            }),
          )
          .catch(() => {});
        emit("run.finished", {
          runId: view.runId,
          status: view.status,
          reason: view.reason ?? null,
        });
        log(
          `workflow: run ${view.runId} (${view.name}) ${view.status}${view.reason ? `: ${view.reason}` : ""}`,
        );
        run.resolveDone(view);
        return;
      }
    }
  }

  function live(state: RunState): LiveRun {
    let resolveDone!: (v: RunView) => void;
    const done = new Promise<RunView>((r) => (resolveDone = r));
    const run: LiveRun = {
      state,
      seq: 0,
      chain: Promise.resolve(),
      tasks: new Map(),
      timers: new Set(),
      watchers: new Set(),
      viewTimer: undefined,
      done,
      resolveDone,
    };
    runs.set(state.runId, run);
    return run;
  }

  function armDeadline(run: LiveRun): void {
    const max = run.state.spec.budget.maxDurationMs;
    if (!max) return;
    const timer = setTimeout(
      () => apply(run, { type: "deadline", at: now() }),
      Math.max(0, run.state.startedAt + max - now()),
    );
    run.timers.add(timer);
  }

  async function load(
    runId: string,
  ): Promise<{ meta: Record<string, unknown>; state: RunState; seq: number } | undefined> {
    const meta = await cp.kv.get<Record<string, unknown>>(runKey(runId));
    if (!meta?.value) return undefined;
    const state = initialState(meta.value.spec as WorkflowSpec);
    const keys = await cp.kv.keys(`wf.events.${runId}`);
    let seq = 0;
    for (const key of keys) {
      const entry = await cp.kv.get<RunEvent>(key);
      if (!entry?.value) continue;
      reduce(state, entry.value);
      seq = Math.max(seq, Number(key.slice(key.lastIndexOf(".") + 1)));
    }
    return { meta: meta.value, state, seq };
  }

  const engine = {
    /** Starts a run of a validated spec; resolves once it is journaled (not when it ends). */
    async start(
      spec: WorkflowSpec,
      inputs: Record<string, unknown> = {},
      opts: { runId?: string } = {},
    ): Promise<RunView> {
      if (closed) throw new ClawHubError("UNAVAILABLE", "the workflow engine is shutting down");
      const runId = opts.runId ?? newId();
      const at = now();
      await cp.kv.create(runKey(runId), {
        runId,
        name: spec.name,
        spec,
        inputs,
        status: "running",
        createdAt: at,
      });
      const state = initialState(spec);
      state.runId = runId;
      const run = live(state);
      await apply(run, {
        type: "started",
        at,
        runId,
        inputs,
        contextLimits: options.runner.contextLimits(),
      });
      armDeadline(run);
      return viewOf(run.state);
    },

    /** The run, live or from its journal. */
    async get(runId: string): Promise<RunView | undefined> {
      const run = runs.get(runId);
      if (run) return viewOf(run.state);
      const loaded = await load(runId);
      return loaded ? viewOf(loaded.state) : undefined;
    },

    /** Runs in the journal, newest first. */
    async list(): Promise<
      Array<{
        runId: string;
        name: string;
        status: string;
        createdAt: number;
        endedAt: number | null;
      }>
    > {
      const out = [];
      for (const key of await cp.kv.keys("wf.runs")) {
        const meta = (await cp.kv.get<Record<string, unknown>>(key))?.value;
        if (!meta) continue;
        const liveRun = runs.get(String(meta.runId));
        out.push({
          runId: String(meta.runId),
          name: String(meta.name),
          status: liveRun ? liveRun.state.status : String(meta.status),
          createdAt: Number(meta.createdAt),
          endedAt: liveRun?.state.endedAt ?? (meta.endedAt as number | null) ?? null,
        });
      }
      return out.sort((a, b) => b.createdAt - a.createdAt);
    },

    async cancel(runId: string, reason = "cancelled by the user"): Promise<RunView> {
      const run = runs.get(runId);
      if (!run) {
        const loaded = await load(runId);
        if (!loaded) throw new ClawHubError("NOT_FOUND", `no run ${runId}`);
        if (loaded.state.status !== "running") return viewOf(loaded.state);
        await engine.resume(runId);
        return engine.cancel(runId, reason);
      }
      await apply(run, { type: "cancelled", at: now(), reason });
      return viewOf(run.state);
    },

    /**
     * Resumes a run from its journal (after a restart, or one stopped mid-flight): completed
     * steps are not executed again; tasks in flight are dispatched again with the same
     * idempotency key.
     */
    async resume(runId: string): Promise<RunView> {
      const existing = runs.get(runId);
      if (existing) return viewOf(existing.state);
      const loaded = await load(runId);
      if (!loaded)
        throw new ClawHubError("NOT_FOUND", `no run ${runId}`, {
          hint: "`clawhub runs list` shows the runs.",
        });
      if (loaded.state.status !== "running") return viewOf(loaded.state);
      const run = live(loaded.state);
      run.seq = loaded.seq;
      log(
        `workflow: resuming run ${runId} (${loaded.state.spec.name}) from ${loaded.seq} journaled events`,
      );
      await apply(run, { type: "resumed", at: now() });
      armDeadline(run);
      return viewOf(run.state);
    },

    /** Resumes every run the journal shows as running (at start-up). */
    async recover(): Promise<string[]> {
      const resumed: string[] = [];
      for (const key of await cp.kv.keys("wf.runs")) {
        const meta = (await cp.kv.get<Record<string, unknown>>(key))?.value;
        if (meta?.status === "running" && !runs.has(String(meta.runId))) {
          await engine.resume(String(meta.runId));
          resumed.push(String(meta.runId));
        }
      }
      return resumed;
    },

    /** Calls `fn` with the run's view on every change; returns a stop function. */
    watch(runId: string, fn: (view: RunView) => void): () => void {
      const run = runs.get(runId);
      if (!run) throw new ClawHubError("NOT_FOUND", `run ${runId} is not running here`);
      run.watchers.add(fn);
      return () => run.watchers.delete(fn);
    },

    /** Resolves with the run's final view. */
    async wait(runId: string): Promise<RunView> {
      const current = runs.get(runId);
      if (current) return current.done;
      const view = await engine.resume(runId);
      return runs.get(runId)?.done ?? view;
    },

    /** Circuit states by capability or dependency. */
    breakers(): Record<string, "closed" | "open" | "half-open" | "isolated"> {
      const names = {
        [CircuitState.Closed]: "closed",
        [CircuitState.Open]: "open",
        [CircuitState.HalfOpen]: "half-open",
        [CircuitState.Isolated]: "isolated",
      } as const;
      return Object.fromEntries([...guards].map(([k, g]) => [k, names[g.breaker.state]]));
    },

    /** Stops timers and in-flight calls without touching the journal: runs resume on the next start. */
    async close(): Promise<void> {
      closed = true;
      for (const run of runs.values()) {
        for (const t of run.timers) clearTimeout(t);
        for (const c of run.tasks.values()) c.abort();
      }
    },
  };
  return engine;
}

/** The engine's type. */
export type WorkflowEngine = ReturnType<typeof createWorkflowEngine>;
