import { randomBytes, randomUUID } from "node:crypto";
import { type BulkheadPolicy, BulkheadRejectedError, bulkhead } from "cockatiel";
import type { ControlPlane } from "../control-plane/index.ts";
import { ClawHubError, failureOf, parseFailure } from "../errors/index.ts";
import {
  type Breaker,
  type BreakerState,
  createBreaker,
  isBrokenCircuit,
} from "../resilience/index.ts";
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
      /** 1 on the first attempt of the step: the agent's `ctx.attempt` counts the step's retries. */
      attempt: number;
      /** Tokens the task may use (its share of the run's budget); 0: no limit. */
      maxTokens: number;
      deadline: number | undefined;
      signal: AbortSignal;
      /** The run's owner: the call is made on its behalf. */
      caller?: string | undefined;
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
  /**
   * Finished runs are kept this long (default 7 days), then their journal is dropped; and when
   * the journal of finished runs passes `maxJournalBytes` (default 256 MiB) the oldest go first.
   */
  retainRunsMs?: number;
  maxJournalBytes?: number;
  /**
   * Runs that may be running at once, and the journal bytes they hold (inputs, outputs so far),
   * in all and per caller (its identity, or its address on a hub without identities). A start
   * past a limit is refused with RESOURCE_EXHAUSTED; runs already running are never cut.
   * Defaults: 1,000 runs and 256 MiB in all, 100 runs and 64 MiB per caller.
   */
  limits?: Partial<RunLimits>;
}

/** Limits on running runs (see {@link WorkflowEngineOptions.limits}). */
export interface RunLimits {
  maxRunning: number;
  maxRunningBytes: number;
  maxRunningPerCaller: number;
  maxRunningBytesPerCaller: number;
}

const DEFAULT_RUN_LIMITS: RunLimits = {
  maxRunning: 1_000,
  maxRunningBytes: 256 * 1024 * 1024,
  maxRunningPerCaller: 100,
  maxRunningBytesPerCaller: 64 * 1024 * 1024,
};

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
  /** The identity that started it (secured hubs). */
  owner?: string | undefined;
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
  /** Bytes of journal this run has written (kept in its record once it ends, for retention). */
  bytes: number;
  /** Events waiting to be journaled and applied, in arrival order. */
  inbox: Array<{ event: RunEvent; done: () => void }>;
  /** The loop that journals and applies the inbox, while it runs. */
  draining: Promise<void> | undefined;
  /** Journal bytes of the spec record (for retention by size). */
  specBytes: number;
  /** Whose limits it counts against (see RunLimits). */
  caller: string;
  tasks: Map<string, AbortController>;
  timers: Set<NodeJS.Timeout>;
  watchers: Set<(view: RunView) => void>;
  viewTimer: NodeJS.Timeout | undefined;
  done: Promise<RunView>;
  resolveDone(view: RunView): void;
}

interface Guard {
  breaker: Breaker;
  bulkhead: BulkheadPolicy;
  waiting: number;
}

const runKey = (id: string) => `wf.runs.${id}`;
const specKey = (id: string) => `wf.specs.${id}`;
/** Roughly what a value takes in the journal (its JSON), for retention by size. */
const approxBytes = (value: unknown) => (value === undefined ? 0 : JSON.stringify(value).length);
/**
 * What an event adds to the journal, roughly: its outputs and inputs are the part that grows;
 * the rest is a few hundred bytes (counted as 200 rather than serialised again on the hot path).
 */
/** A spec's journal size, estimated from its nodes (serialising it again would cost a pass). */
const specBytes = (spec: WorkflowSpec) => 500 + 300 * spec.nodes.length;
const eventBytes = (event: RunEvent) =>
  200 +
  (event.type === "task.completed" && event.output !== null && typeof event.output === "object"
    ? approxBytes(event.output)
    : event.type === "task.completed" && typeof event.output === "string"
      ? event.output.length
      : event.type === "started"
        ? approxBytes(event.inputs)
        : 0);
const DAY = 86_400_000;
const MAX_LIST = 1000;

/** A page of `runs list`. */
export interface RunSummary {
  runId: string;
  name: string;
  owner?: string | undefined;
  status: string;
  createdAt: number;
  endedAt: number | null;
}
const eventKey = (id: string, seq: number) => `wf.events.${id}.${String(seq).padStart(10, "0")}`;
const taskKey = (t: TaskRef) => `${t.node}/${t.item}/${t.phase}/${t.attempt}`;

/** The view of a state. */
export function viewOf(state: RunState): RunView {
  return {
    runId: state.runId,
    name: state.spec.name,
    owner: state.owner,
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

/**
 * What a failed call means for the scheduler: the agent's TaskFailure kept whole (its type, its
 * retryability), or a failure of the hub's error code. Details stay out of the journal.
 */
export function taskErrorOf(error: unknown): TaskError {
  const f = failureOf(error);
  return { type: f.type, message: f.message, nonRetryable: f.nonRetryable };
}

/** A node's error as journaled before TaskFailure ({code, retryable}) or after. */
const errorOf = (e: unknown): TaskError | undefined => parseFailure(e);

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
  const retainRunsMs = options.retainRunsMs ?? 7 * DAY;
  const maxJournalBytes = options.maxJournalBytes ?? 256 * 1024 * 1024;
  let finishedBytes = 0;
  let pruning: Promise<number> | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  const schedulePrune = () => {
    if (!pruning) pruning = prune().finally(() => (pruning = undefined));
  };

  /** Run records, newest first; `revision` orders records written in the same millisecond. */
  async function records(): Promise<Array<Record<string, unknown> & { revision: number }>> {
    const out: Array<Record<string, unknown> & { revision: number }> = [];
    for (const key of await cp.kv.keys("wf.runs")) {
      const entry = await cp.kv.get<Record<string, unknown>>(key);
      if (entry?.value) out.push({ ...entry.value, revision: entry.revision });
    }
    return out.sort(
      (a, b) =>
        Number(b.createdAt) - Number(a.createdAt) || String(a.runId).localeCompare(String(b.runId)),
    );
  }

  async function forget(runId: string): Promise<void> {
    for (const key of await cp.kv.keys(`wf.events.${runId}`)) await cp.kv.delete(key);
    await cp.kv.delete(specKey(runId));
    await cp.kv.delete(runKey(runId));
  }

  /**
   * Drops finished runs older than the retention, then the oldest finished runs while their
   * journal exceeds the size limit. Running runs are never dropped. Returns how many went.
   */
  async function prune(): Promise<number> {
    const cutoff = now() - retainRunsMs;
    const finished = (await records())
      .filter((m) => m.status !== "running" && !runs.has(String(m.runId)))
      .sort((a, b) => Number(a.endedAt ?? 0) - Number(b.endedAt ?? 0) || a.revision - b.revision);
    let total = finished.reduce((n, m) => n + Number(m.journalBytes ?? 0), 0);
    let dropped = 0;
    for (const m of finished) {
      const old = Number(m.endedAt ?? 0) < cutoff;
      if (!old && total <= maxJournalBytes) break;
      await forget(String(m.runId));
      total -= Number(m.journalBytes ?? 0);
      dropped++;
    }
    finishedBytes = total;
    if (dropped > 0) log(`workflow: dropped ${dropped} finished run(s) past retention`);
    return dropped;
  }

  function guard(key: string): Guard {
    let g = guards.get(key);
    if (g) return g;
    // Only failures worth retrying say the dependency is unwell; refused input does not.
    const breaker = createBreaker({
      failures,
      halfOpenAfterMs,
      isFailure: (e) => !taskErrorOf(e).nonRetryable,
    });
    const created: Guard = {
      breaker,
      bulkhead: bulkhead(options.bulkhead?.limit ?? 32, options.bulkhead?.queue ?? 256),
      waiting: 0,
    };
    breaker.onStateChange((state) => {
      if (state === "open") {
        log(
          `workflow: circuit of ${key} opened after ${failures} failures; calls wait ${halfOpenAfterMs} ms`,
        );
        emit("breaker.open", { key, halfOpenAfterMs });
      } else if (state === "closed") {
        log(`workflow: circuit of ${key} closed again`);
        emit("breaker.closed", { key });
      } else if (state === "half-open") emit("breaker.half-open", { key });
    });
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
      if (!g.breaker.available() && !waited) {
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
          const wait = Math.max(10, halfOpenAfterMs - (Date.now() - g.breaker.openedAt));
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
        if (isBrokenCircuit(error)) continue;
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
  /**
   * Journals an event, applies it, executes its commands; resolves once done. Events of one run
   * apply in arrival order. Events that arrive together are journaled together: every one is
   * written, their writes are awaited once (one journal write for the lot), then each is
   * applied in order. No command runs before its event is in the journal.
   */
  function apply(run: LiveRun, event: RunEvent): Promise<void> {
    return new Promise<void>((done) => {
      run.inbox.push({ event, done });
      run.draining ??= drain(run).finally(() => {
        run.draining = undefined;
      });
    });
  }

  async function drain(run: LiveRun): Promise<void> {
    while (run.inbox.length > 0) {
      const batch = run.inbox.splice(0);
      if (closed) {
        for (const item of batch) item.done();
        continue;
      }
      const writes: Array<Promise<number>> = [];
      for (const { event } of batch) {
        run.seq++;
        run.bytes += eventBytes(event);
        writes.push(cp.kv.put(eventKey(run.state.runId, run.seq), event));
      }
      try {
        await Promise.all(writes);
      } catch (error) {
        // Not journaled, so not applied: the journal stays the truth, and a resume replays it.
        log(`workflow: run ${run.state.runId}: journal write failed: ${(error as Error).message}`);
        for (const item of batch) item.done();
        continue;
      }
      for (const { event, done } of batch) {
        const { commands } = reduce(run.state, event);
        for (const command of commands) execute(run, command);
        done();
      }
      publishView(run);
      // A finished run lives on in its journal only: memory holds running runs.
      if (run.state.status !== "running") runs.delete(run.state.runId);
    }
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
            attempt: command.attempt,
            maxTokens: command.maxTokens,
            deadline: command.timeoutMs ? now() + command.timeoutMs : undefined,
            signal: controller.signal,
            caller: run.state.owner,
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
              journalBytes: run.bytes + run.specBytes,
            }),
          )
          .then(() => {
            finishedBytes += run.bytes;
            if (finishedBytes > maxJournalBytes) schedulePrune();
          })
          .catch(() => {});
        emit("run.finished", {
          runId: view.runId,
          status: view.status,
          reason: view.reason ?? null,
          ...(view.owner ? { owner: view.owner } : {}),
        });
        log(
          `workflow: run ${view.runId} (${view.name}) ${view.status}${view.reason ? `: ${view.reason}` : ""}`,
        );
        run.resolveDone(view);
        return;
      }
    }
  }

  const limits: RunLimits = { ...DEFAULT_RUN_LIMITS, ...options.limits };
  /** Starts admitted and not yet journaled: counted, so concurrent starts cannot overshoot. */
  const admitting = new Set<{ caller: string; bytes: number }>();
  const MiB = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

  /** Refuses a start that would pass a limit on running runs; else reserves its share. */
  function admit(caller: string, bytes: number): { caller: string; bytes: number } {
    let all = 0;
    let allBytes = 0;
    let mine = 0;
    let mineBytes = 0;
    const count = (who: string, b: number) => {
      all++;
      allBytes += b;
      if (who === caller) {
        mine++;
        mineBytes += b;
      }
    };
    for (const run of runs.values())
      if (run.state.status === "running") count(run.caller, run.bytes + run.specBytes);
    for (const a of admitting) count(a.caller, a.bytes);
    const refuse = (what: string) =>
      new ClawHubError("RESOURCE_EXHAUSTED", `too many running workflow runs: ${what}`, {
        details: { retryAfterMs: 5_000 },
        hint: "Wait for runs to finish (`clawhub runs list`), or cancel some (`clawhub runs cancel`).",
      });
    if (all + 1 > limits.maxRunning)
      throw refuse(`${all} are running on this hub (limit ${limits.maxRunning})`);
    if (mine + 1 > limits.maxRunningPerCaller)
      throw refuse(`${mine} are yours (limit ${limits.maxRunningPerCaller} per caller)`);
    if (allBytes + bytes > limits.maxRunningBytes)
      throw refuse(
        `they hold ${MiB(allBytes)} and this one ${MiB(bytes)} (limit ${MiB(limits.maxRunningBytes)})`,
      );
    if (mineBytes + bytes > limits.maxRunningBytesPerCaller)
      throw refuse(
        `yours hold ${MiB(mineBytes)} and this one ${MiB(bytes)} (limit ${MiB(limits.maxRunningBytesPerCaller)} per caller)`,
      );
    const reservation = { caller, bytes };
    admitting.add(reservation);
    return reservation;
  }

  function live(state: RunState, caller: string): LiveRun {
    let resolveDone!: (v: RunView) => void;
    const done = new Promise<RunView>((r) => (resolveDone = r));
    const run: LiveRun = {
      state,
      seq: 0,
      bytes: 0,
      inbox: [],
      draining: undefined,
      specBytes: 0,
      caller,
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

  async function load(runId: string): Promise<
    | {
        meta: Record<string, unknown>;
        state: RunState;
        seq: number;
        bytes: number;
        specBytes: number;
      }
    | undefined
  > {
    const meta = await cp.kv.get<Record<string, unknown>>(runKey(runId));
    if (!meta?.value) return undefined;
    // The spec has its own key, written once (runs journaled before kept it in the record).
    const spec = meta.value.spec ?? (await cp.kv.get<WorkflowSpec>(specKey(runId)))?.value;
    if (!spec) return undefined;
    const state = initialState(spec as WorkflowSpec);
    const keys = await cp.kv.keys(`wf.events.${runId}`);
    let seq = 0;
    let bytes = 0;
    for (const key of keys) {
      const entry = await cp.kv.get<RunEvent>(key);
      if (!entry?.value) continue;
      const event = entry.value;
      if (event.type === "task.failed")
        event.error = errorOf(event.error) ?? {
          type: "TASK_FAILED",
          message: "",
          nonRetryable: false,
        };
      reduce(state, event);
      bytes += eventBytes(event);
      seq = Math.max(seq, Number(key.slice(key.lastIndexOf(".") + 1)));
    }
    return { meta: meta.value, state, seq, bytes, specBytes: specBytes(spec as WorkflowSpec) };
  }

  const engine = {
    /** Starts a run of a validated spec; resolves once it is journaled (not when it ends). */
    async start(
      spec: WorkflowSpec,
      inputs: Record<string, unknown> = {},
      opts: { runId?: string; owner?: string | undefined; caller?: string | undefined } = {},
    ): Promise<RunView> {
      if (closed) throw new ClawHubError("UNAVAILABLE", "the workflow engine is shutting down");
      const caller = opts.owner ?? opts.caller ?? "anonymous";
      const reservation = admit(caller, specBytes(spec) + 200 + approxBytes(inputs));
      const runId = opts.runId ?? newId();
      const at = now();
      let run: LiveRun;
      try {
        // The spec is written once under its own key: the small run record is what changes.
        await cp.kv.create(specKey(runId), spec);
        await cp.kv.create(runKey(runId), {
          runId,
          name: spec.name,
          inputs,
          status: "running",
          createdAt: at,
          caller,
          ...(opts.owner ? { owner: opts.owner } : {}),
        });
        const state = initialState(spec);
        state.runId = runId;
        run = live(state, caller);
        run.specBytes = specBytes(spec);
      } finally {
        // No await from here to `apply`, whose journaling counts the inputs in run.bytes at once.
        admitting.delete(reservation);
      }
      await apply(run, {
        type: "started",
        at,
        runId,
        inputs,
        contextLimits: options.runner.contextLimits(),
        // Step idempotency keys derive from it: a listed run id does not let anyone predict them.
        secret: randomBytes(18).toString("base64url"),
        ...(opts.owner ? { owner: opts.owner } : {}),
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

    /**
     * The full id of the run a (unique) prefix names: NOT_FOUND when none matches,
     * INVALID_ARGUMENT listing some when several do.
     */
    async resolveId(prefix: string): Promise<string> {
      const p = prefix.trim();
      if (!p) throw new ClawHubError("INVALID_ARGUMENT", "a run id is needed");
      if (!/^[A-Za-z0-9_-]{1,128}$/.test(p))
        throw new ClawHubError(
          "INVALID_ARGUMENT",
          `invalid run id ${JSON.stringify(p.slice(0, 40))}`,
        );
      if (runs.has(p) || (await cp.kv.get(runKey(p)))) return p;
      const matches = (await cp.kv.keys("wf.runs"))
        .map((k) => k.slice("wf.runs.".length))
        .filter((id) => id.startsWith(p));
      if (matches.length === 1) return matches[0] as string;
      if (matches.length === 0)
        throw new ClawHubError("NOT_FOUND", `no run ${p}`, {
          hint: "`clawhub runs list` shows the runs.",
        });
      throw new ClawHubError(
        "INVALID_ARGUMENT",
        `"${p}" matches ${matches.length} runs (${matches.slice(0, 3).join(", ")}...)`,
        { hint: "Give more characters of the run id." },
      );
    },

    /** Drops finished runs past retention or beyond the journal size limit (also done hourly). */
    prune,

    /** Runs in the journal, newest first, a page at a time. */
    async list(
      opts: { limit?: number; pageToken?: string; owner?: string | undefined } = {},
    ): Promise<{
      runs: RunSummary[];
      nextPageToken: string;
    }> {
      const limit = Math.min(MAX_LIST, Math.max(1, opts.limit || 100));
      let after: [number, string] | undefined;
      if (opts.pageToken) {
        try {
          after = JSON.parse(Buffer.from(opts.pageToken, "base64url").toString("utf8")) as [
            number,
            string,
          ];
        } catch {
          throw new ClawHubError("INVALID_ARGUMENT", "invalid page token");
        }
      }
      const all = (await records()).filter((m) => !opts.owner || m.owner === opts.owner);
      const start = after
        ? all.findIndex(
            (m) =>
              Number(m.createdAt) < (after as [number, string])[0] ||
              (Number(m.createdAt) === (after as [number, string])[0] &&
                String(m.runId) > (after as [number, string])[1]),
          )
        : 0;
      const page = start < 0 ? [] : all.slice(start, start + limit);
      const out = page.map((meta): RunSummary => {
        const liveRun = runs.get(String(meta.runId));
        return {
          runId: String(meta.runId),
          name: String(meta.name),
          ...(typeof meta.owner === "string" ? { owner: meta.owner } : {}),
          status: liveRun ? liveRun.state.status : String(meta.status),
          createdAt: Number(meta.createdAt),
          endedAt: liveRun?.state.endedAt ?? (meta.endedAt as number | null) ?? null,
        };
      });
      const last = out[out.length - 1];
      const more = start >= 0 && start + limit < all.length;
      return {
        runs: out,
        nextPageToken:
          more && last
            ? Buffer.from(JSON.stringify([last.createdAt, last.runId])).toString("base64url")
            : "",
      };
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
      const meta = loaded.meta as { owner?: unknown; caller?: unknown };
      const run = live(loaded.state, String(meta.owner ?? meta.caller ?? "anonymous"));
      run.seq = loaded.seq;
      run.bytes = loaded.bytes;
      run.specBytes = loaded.specBytes;
      log(
        `workflow: resuming run ${runId} (${loaded.state.spec.name}) from ${loaded.seq} journaled events`,
      );
      await apply(run, { type: "resumed", at: now() });
      armDeadline(run);
      return viewOf(run.state);
    },

    /** Resumes every run the journal shows as running (at start-up), and prunes old ones. */
    async recover(): Promise<string[]> {
      await prune();
      if (!pruneTimer) {
        pruneTimer = setInterval(schedulePrune, 3_600_000);
        pruneTimer.unref();
      }
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
    breakers(): Record<string, BreakerState> {
      return Object.fromEntries([...guards].map(([k, g]) => [k, g.breaker.state]));
    },

    /** Stops timers and in-flight calls without touching the journal: runs resume on the next start. */
    async close(): Promise<void> {
      closed = true;
      if (pruneTimer) clearInterval(pruneTimer);
      await pruning;
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
