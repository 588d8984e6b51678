/**
 * The dispatcher: admits calls, places each attempt on an agent (routing.ts decides which),
 * sends it, pumps queues as slots free, times attempts out, retries elsewhere with the shared
 * retry policy, and finishes calls with their output or one ClawHubError.
 */
import { createHash, randomUUID } from "node:crypto";
import {
  ClawHubError,
  type TaskFailure,
  taskFailedError,
  taskFailure,
  toClawHubError,
} from "../errors/index.ts";
import { nextDelay, type RetryPolicy, retryPolicy } from "../resilience/index.ts";
import {
  encodeJson,
  encodePayload,
  failureFromWire,
  type WirePayload,
  type WireTaskResult,
} from "../wire/index.ts";
import { estimateInputTokens } from "../workflow/index.ts";
import type { Capabilities } from "./capabilities.ts";
import { type RouteCandidate, type RouteDecision, route } from "./routing.ts";
import { describeProblems, type SchemaProblem, type Validator } from "./schema.ts";
import type {
  Attempt,
  CallOutcome,
  CallState,
  CapabilityEntry,
  HubContext,
  ProgressListener,
  Session,
} from "./types.ts";

/** A call as the hub's in-process API takes it. */
export interface CallInput {
  /** Exactly one of capability and query. */
  capability?: string | undefined;
  query?: string | undefined;
  /** A value (encoded here) or an already encoded payload (passed through untouched). */
  input?: unknown;
  rawInput?: WirePayload | undefined;
  labels?: Record<string, string> | undefined;
  params?: Record<string, unknown> | undefined;
  rawParams?: Uint8Array | undefined;
  /**
   * The caller's key for the call's side effects. With `scope` (the caller's connection, later
   * its identity) the agent sees a key derived from both, so no other caller can pre-claim it.
   */
  idempotencyKey?: string | undefined;
  scope?: string | undefined;
  maxAttempts?: number | undefined;
  /** Attempts of this logical call made before (a workflow's retries): `ctx.attempt` counts on. */
  attemptBase?: number | undefined;
  session?: string | undefined;
  minSimilarity?: number | undefined;
  /** Absolute deadline, Unix ms. */
  deadline?: number | undefined;
  /** How long one attempt may go without a result or progress. */
  attemptTimeoutMs?: number | undefined;
  /** Tokens the task may use (a reserved budget), told to the agent. */
  maxTokens?: number | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ProgressListener | undefined;
  /** Who asked (an identity URI, on a secured hub): the agent sees it as `ctx.caller`. */
  caller?: string | undefined;
}

/** The dispatcher room's face. */
export interface Dispatcher {
  call(input: CallInput): Promise<CallOutcome>;
  onResult(session: Session, result: WireTaskResult): void;
  onProgress(session: Session, taskId: string, fraction: number, message: string): void;
  /** The agent stopped taking work: its queued tasks go elsewhere. */
  drain(session: Session): void;
  /** The agent is gone: its running tasks are retried elsewhere, its queued ones re-placed. */
  lost(session: Session, reason: string): void;
  /** Input bytes held for unfinished calls. */
  readonly heldBytes: number;
  readonly inFlight: number;
  close(reason: string): void;
}

/** Options of {@link createDispatcher}. */
export interface DispatcherOptions {
  capabilities: Capabilities;
  /** An attempt's slot is free again (its task locks can go). */
  onAttemptEnded(session: Session, attemptId: string): void;
}

const SESSIONS_REMEMBERED = 10_000;
/** Weight of the newest observation in the latency and failure EWMAs. */
const EWMA_ALPHA = 0.2;
/** Longest an attempt runs, progress or not, in attempt timeouts (docs/hub.md). */
export const ATTEMPT_SPAN = 10;
/** The hub's own retries between attempts of one call: short, since another agent takes them. */
const DISPATCH_RETRY: RetryPolicy = retryPolicy({
  initialIntervalMs: 50,
  backoffCoefficient: 2,
  maximumIntervalMs: 1000,
  maximumAttempts: 0,
  jitter: 0.2,
});

const NO_PROBLEMS: SchemaProblem[] = [];
/** Inputs from this size are checked against schemas on the work pool, not the event loop. */
const LARGE_INPUT_BYTES = 64 * 1024;
const zeroUsage = () => ({ promptTokens: 0, completionTokens: 0, totalTokens: 0 });
const bytesOf = (p: WirePayload) =>
  p.json.byteLength + p.tensors.reduce((n, t) => n + t.data.byteLength, 0);
/** 122 random bits from the CSPRNG: Node pools the entropy, so this is cheap on the hot path. */
const unguessable = () => randomUUID();
const MiB = (n: number) => `${Math.round(n / 1048576)} MiB`;

export function createDispatcher(ctx: HubContext, options: DispatcherOptions): Dispatcher {
  const { config, sessions } = ctx;
  const capabilities = options.capabilities;
  const affinity = new Map<string, string>();
  const calls = new Set<CallState>();
  let heldBytes = 0;

  // ---- helpers ----------------------------------------------------------------------------

  const inputValue = (state: CallState): unknown => {
    if (!state.inputValue.parsed) {
      state.inputValue = {
        parsed: true,
        value: state.input.json.byteLength
          ? JSON.parse(Buffer.from(state.input.json).toString("utf8"))
          : null,
      };
    }
    return state.inputValue.value;
  };

  /**
   * Whether the input fits a context limit: the tokens of its text (every string in it, as
   * workflow chunking counts them), estimated once per call and only when a limit asks.
   */
  const fitsLimit = (() => {
    const cache = new WeakMap<CallState, number>();
    return (state: CallState, limit: number): boolean => {
      // estimateTokens is max(chars / 4, words / 0.75) and words <= (chars + 1) / 2, and the text
      // is no longer than the JSON: a small input fits without being scanned.
      if ((state.input.json.byteLength + 1) / 1.5 <= limit) return true;
      let tokens = cache.get(state);
      if (tokens === undefined) {
        tokens = estimateInputTokens(inputValue(state));
        cache.set(state, tokens);
      }
      return tokens <= limit;
    };
  })();

  const entryOf = (attempt: Attempt) =>
    attempt.session.capabilities.get(attempt.capability) as CapabilityEntry;

  function observe(entry: CapabilityEntry | undefined, ok: boolean, latencyMs?: number): void {
    if (!entry) return;
    entry.failureRate = (1 - EWMA_ALPHA) * entry.failureRate + (ok ? 0 : EWMA_ALPHA);
    if (ok && latencyMs !== undefined)
      entry.latencyMs =
        entry.latencyMs === 0
          ? latencyMs
          : (1 - EWMA_ALPHA) * entry.latencyMs + EWMA_ALPHA * latencyMs;
  }

  /** Lets the agent's circuit observe the attempt when it lets the call through. */
  function guard(attempt: Attempt, entry: CapabilityEntry): void {
    if (!entry.breaker.available()) return; // every circuit was open: goes through unobserved
    let early: "ok" | Error | undefined;
    let settleFn: ((o: "ok" | Error) => void) | undefined;
    attempt.settle = (o) => {
      attempt.settle = undefined;
      if (settleFn) settleFn(o);
      else early = o;
    };
    entry.breaker
      .execute(
        () =>
          new Promise<void>((resolve, reject) => {
            settleFn = (o) => (o === "ok" ? resolve() : reject(o));
            if (early !== undefined) settleFn(early);
          }),
      )
      .catch(() => {});
  }

  // ---- placement ----------------------------------------------------------------------------

  /** Chooses an agent for the call (or throws why none can take it) and hands it the task. */
  function place(state: CallState, attemptNumber: number): void {
    const candidates: RouteCandidate[] = [];
    let providerSeen = false;
    let schemaProblems: SchemaProblem[] | undefined;
    let tooLarge: number | undefined;
    const checked = state.checked;
    for (const target of state.targets) {
      for (const id of capabilities.providers(target.name) ?? []) {
        const session = sessions.get(id);
        const entry = session?.capabilities.get(target.name);
        if (!session || !entry) continue;
        providerSeen = true;
        let problems = entry.spec.inputSchema ? checked.get(entry.validateInput) : NO_PROBLEMS;
        if (!problems) {
          problems = entry.validateInput(inputValue(state));
          checked.set(entry.validateInput, problems);
        }
        if (problems.length > 0) {
          schemaProblems ??= problems;
          continue;
        }
        const limit = entry.spec.contextLimit;
        const fits = limit === 0 || fitsLimit(state, limit);
        if (!fits) tooLarge = Math.max(tooLarge ?? 0, limit);
        const t = session.telemetry;
        candidates.push({
          agentId: id,
          capability: target.name,
          similarity: target.similarity,
          labels: session.labels,
          running: entry.running,
          maxConcurrency: entry.spec.maxConcurrency,
          queued: session.queue.length,
          queueLimit: session.queueLimit,
          reportedInFlight: t.inFlight,
          reportedQueueDepth: t.queueDepth,
          kvCacheUtilization: t.kvCacheUtilization,
          vramUsedBytes: t.vramUsedBytes,
          vramTotalBytes: t.vramTotalBytes,
          tokensPerSecond: t.tokensPerSecond,
          latencyMs: entry.latencyMs,
          failureRate: entry.failureRate,
          draining: session.draining,
          circuitOpen: !entry.breaker.available(),
          fits,
          roomForBytes:
            session.heldBytes === 0 ||
            session.heldBytes + state.bytes <= config.maxAgentQueuedBytes,
          lastDispatchAt: session.lastDispatchAt,
        });
      }
    }
    const names = state.targets.map((t) => `"${t.name}"`).join(", ");
    if (!providerSeen) {
      throw new ClawHubError("UNAVAILABLE", `no connected agent serves ${names}`, {
        hint: "Start an agent that registers it (`clawhub agents` lists those connected).",
      });
    }
    if (candidates.length === 0 && schemaProblems) {
      throw new ClawHubError(
        "SCHEMA_INVALID",
        `input does not match the schema of ${names}: ${describeProblems(schemaProblems)}`,
        {
          details: { errors: schemaProblems },
          hint: "`clawhub discover` shows each capability's input schema.",
        },
      );
    }
    const decision = route(candidates, {
      labels: state.labels,
      affinityAgentId: state.session ? affinity.get(state.session) : undefined,
      avoid: state.tried,
      weights: config.weights,
    });
    if (!decision.chosen) throw noRoute(decision, names, tooLarge);
    const session = sessions.get(decision.chosen.agentId) as Session;
    const attempt: Attempt = {
      id: unguessable(),
      number: attemptNumber,
      call: state,
      session,
      capability: decision.chosen.capability,
      sentAt: 0,
      aliveAt: 0,
      lastProgress: undefined,
      settle: undefined,
    };
    state.current = attempt;
    state.attempts = Math.max(state.attempts, attemptNumber);
    state.tried.add(session.id);
    session.lastDispatchAt = ctx.now();
    session.heldBytes += state.bytes;
    const entry = entryOf(attempt);
    if (entry.running < entry.spec.maxConcurrency) send(attempt);
    else session.queue.push(attempt);
  }

  function noRoute(decision: RouteDecision, names: string, tooLarge: number | undefined) {
    const reasons = new Set(decision.rejected.map((r) => r.reason));
    if (reasons.has("full")) {
      // Time until a slot frees, from the quickest candidate's observed latency (one second per
      // queued task per slot before any is known), bounded to [100 ms, 30 s].
      let best = Number.POSITIVE_INFINITY;
      for (const r of decision.rejected) {
        if (r.reason !== "full") continue;
        const s = sessions.get(r.agentId);
        const entry = s?.capabilities.get(r.capability);
        if (!s || !entry) continue;
        const perTask = entry.latencyMs > 0 ? entry.latencyMs : 1000;
        best = Math.min(best, (perTask * (s.queue.length + 1)) / entry.spec.maxConcurrency);
      }
      const retryAfterMs = Math.round(
        Math.min(30_000, Math.max(100, Number.isFinite(best) ? best : 1000)),
      );
      return new ClawHubError(
        "RESOURCE_EXHAUSTED",
        `every agent serving ${names} is at capacity (running and queue full, or holding its share of queued input bytes)`,
        {
          details: { retryAfterMs },
          hint: `Retry after ${retryAfterMs} ms, or start more agents.`,
        },
      );
    }
    if (reasons.has("too-large"))
      return new ClawHubError(
        "LIMIT_EXCEEDED",
        `the input is larger than the context limit of ${names} (${tooLarge} tokens)`,
        {
          details: { contextLimit: tooLarge },
          hint: "Split the input with a workflow map step (map: chunks) and reduce the results.",
        },
      );
    if (reasons.has("draining"))
      return new ClawHubError("UNAVAILABLE", `every agent serving ${names} is draining`);
    return new ClawHubError(
      "UNAVAILABLE",
      `no agent serving ${names} carries the required labels`,
      {
        hint: "`clawhub agents` shows each agent's labels.",
      },
    );
  }

  /**
   * One timer per call, for both its deadline and its running attempt's timeout: it fires at
   * the earlier of the two, and the check decides which passed. Progress only moves the
   * attempt's `aliveAt` (a timer that fires early re-arms for what is left).
   */
  function arm(state: CallState, at: number): void {
    if (state.done) return;
    if (state.timer && state.wakeAt <= at) return;
    if (state.timer) clearTimeout(state.timer);
    state.wakeAt = at;
    state.timer = setTimeout(() => wake(state), Math.max(0, at - ctx.now()));
    state.timer.unref();
  }

  function wake(state: CallState): void {
    state.timer = undefined;
    if (state.done) return;
    const now = ctx.now();
    if (now >= state.deadline) {
      deadlinePassed(state);
      return;
    }
    const attempt = state.current;
    if (attempt && attempt.sentAt > 0 && attempt.session.running.has(attempt.id)) {
      // Progress keeps an attempt alive, but never past ATTEMPT_SPAN attempt timeouts from its
      // start (Temporal's start-to-close beside its heartbeat timeout): an agent that reports
      // progress and never answers cannot hold a call until its deadline.
      const due = Math.min(
        attempt.aliveAt + state.attemptTimeoutMs,
        attempt.sentAt + ATTEMPT_SPAN * state.attemptTimeoutMs,
      );
      if (now >= due) {
        timedOut(attempt);
        if (!state.done) arm(state, state.deadline);
        return;
      }
      arm(state, Math.min(state.deadline, due));
      return;
    }
    arm(state, state.deadline);
  }

  function send(attempt: Attempt): void {
    const { session, call: state } = attempt;
    const entry = entryOf(attempt);
    entry.running++;
    session.running.set(attempt.id, attempt);
    attempt.sentAt = ctx.now();
    attempt.aliveAt = attempt.sentAt;
    guard(attempt, entry);
    arm(state, Math.min(state.deadline, attempt.sentAt + state.attemptTimeoutMs));
    session.channel.send({
      kind: "task",
      task: {
        taskId: attempt.id,
        capability: attempt.capability,
        input: state.input,
        deadlineUnixMs: state.deadline,
        attempt: state.attemptBase + attempt.number,
        paramsJson: state.params,
        idempotencyKey: state.idempotencyKey,
        maxTokens: state.maxTokens,
        caller: state.caller,
      },
    });
    ctx.audit?.({
      kind: "task.dispatched",
      ...(state.caller ? { onBehalfOf: state.caller } : {}),
      actor: session.channel.identity?.uri ?? session.id,
      capability: attempt.capability,
      details: { taskId: attempt.id, attempt: state.attemptBase + attempt.number },
    });
    if (ctx.wants("task.dispatched"))
      ctx.emit("task.dispatched", {
        taskId: attempt.id,
        agentId: session.id,
        capability: attempt.capability,
        attempt: state.attemptBase + attempt.number,
        ...(state.caller ? { caller: state.caller } : {}),
      });
  }

  /** A slot of the attempt's capability is free again: release task locks, start queued work. */
  function finishSlot(attempt: Attempt): boolean {
    const { session } = attempt;
    if (!session.running.delete(attempt.id)) return false;
    const entry = session.capabilities.get(attempt.capability);
    if (entry) entry.running = Math.max(0, entry.running - 1);
    session.heldBytes = Math.max(0, session.heldBytes - attempt.call.bytes);
    options.onAttemptEnded(session, attempt.id);
    pump(session);
    return true;
  }

  function pump(session: Session): void {
    if (session.gone) return;
    for (let i = 0; i < session.queue.length; ) {
      const attempt = session.queue[i] as Attempt;
      if (attempt.call.done || attempt.call.current !== attempt) {
        session.queue.splice(i, 1);
        session.heldBytes = Math.max(0, session.heldBytes - attempt.call.bytes);
        continue;
      }
      const entry = entryOf(attempt);
      if (entry.running < entry.spec.maxConcurrency) {
        session.queue.splice(i, 1);
        send(attempt);
        continue;
      }
      i++;
    }
  }

  function placeOrFail(state: CallState, attemptNumber: number): void {
    const checking = checkLargeInput(state);
    if (checking) {
      checking.then(
        () => {
          if (!state.done) placeOrFail(state, attemptNumber);
        },
        (error) => finish(state, toClawHubError(error)),
      );
      return;
    }
    try {
      place(state, attemptNumber);
    } catch (error) {
      const reason = toClawHubError(error);
      finish(state, state.lastError ? withCause(state.lastError, reason) : reason);
    }
  }

  /**
   * A large input is parsed and checked against its candidates' schemas on a pool worker before
   * placement (20,000 objects against `uniqueItems` held the loop ~100 ms): undefined when there
   * is nothing to check there, else a promise that fills `state.checked`.
   */
  function checkLargeInput(state: CallState): Promise<void> | undefined {
    if (state.input.json.byteLength < LARGE_INPUT_BYTES) return undefined;
    const pending = new Set<Validator>();
    for (const target of state.targets)
      for (const id of capabilities.providers(target.name) ?? []) {
        const entry = sessions.get(id)?.capabilities.get(target.name);
        if (!entry?.spec.inputSchema) continue;
        const v = entry.validateInput;
        if (v.source !== undefined && !state.checked.has(v)) pending.add(v);
      }
    if (pending.size === 0) return undefined;
    const validators = [...pending];
    return ctx.schemas.checkOnPool(validators, state.input.json).then((problems) => {
      validators.forEach((v, i) => {
        state.checked.set(v, problems[i] ?? NO_PROBLEMS);
      });
    });
  }

  const withCause = (last: ClawHubError, next: ClawHubError) =>
    new ClawHubError(last.code, `${last.message}; no retry possible: ${next.message}`, {
      ...(last.hint ? { hint: last.hint } : {}),
      details: { ...last.details, retryError: next.code },
      ...(last.failure ? { failure: last.failure } : {}),
    });

  /** The attempt failed: retry on another agent if the failure, the budget and the deadline allow. */
  function failAttempt(attempt: Attempt, error: ClawHubError, failure: TaskFailure): void {
    const state = attempt.call;
    state.lastError = error;
    const remaining = state.deadline - ctx.now();
    const delay =
      !failure.nonRetryable && state.attempts < state.maxAttempts && remaining > 0
        ? nextDelay(DISPATCH_RETRY, attempt.number, state.idempotencyKey)
        : undefined;
    if (delay === undefined) {
      finish(state, error);
      return;
    }
    const next = state.attempts + 1;
    if (ctx.wants("task.retrying"))
      ctx.emit("task.retrying", {
        taskId: attempt.id,
        attempt: state.attemptBase + next,
        reason: error.message,
        ...(state.caller ? { caller: state.caller } : {}),
      });
    state.current = undefined;
    setTimeout(
      () => {
        if (!state.done) placeOrFail(state, next);
      },
      Math.min(delay, remaining),
    ).unref();
  }

  function timedOut(attempt: Attempt): void {
    const state = attempt.call;
    if (!attempt.session.running.has(attempt.id) || state.done || state.current !== attempt) return;
    attempt.session.channel.send({
      kind: "cancel",
      cancel: { taskId: attempt.id, reason: "the attempt timed out; retried elsewhere" },
    });
    const failure = taskFailure(
      "ATTEMPT_TIMEOUT",
      ctx.now() - attempt.sentAt >= ATTEMPT_SPAN * state.attemptTimeoutMs
        ? `agent ${attempt.session.id} sent no result in ${ATTEMPT_SPAN * state.attemptTimeoutMs} ms (${ATTEMPT_SPAN} attempt timeouts), progress or not`
        : `agent ${attempt.session.id} sent no result or new progress for ${state.attemptTimeoutMs} ms`,
      { details: { agentId: attempt.session.id } },
    );
    const entry = attempt.session.capabilities.get(attempt.capability);
    observe(entry, false);
    attempt.settle?.(new Error(failure.message));
    finishSlot(attempt);
    failAttempt(
      attempt,
      taskFailedError(failure, {
        message: `${attempt.capability} timed out on agent ${attempt.session.id}`,
        hint: "The agent may be stuck; give the capability a longer timeout or report progress.",
      }),
      failure,
    );
  }

  function finish(state: CallState, result: ClawHubError | CallOutcome): void {
    if (state.done) return;
    state.done = true;
    calls.delete(state);
    heldBytes -= state.bytes;
    if (state.timer) clearTimeout(state.timer);
    const attempt = state.current;
    if (result instanceof ClawHubError) {
      if (attempt?.session.running.has(attempt.id)) {
        attempt.session.channel.send({
          kind: "cancel",
          cancel: {
            taskId: attempt.id,
            reason: result.message,
            code: result.code === "DEADLINE_EXCEEDED" ? "DEADLINE_EXCEEDED" : "CANCELLED",
          },
        });
        // The call is over: its slot is free for other work whatever the agent does now.
        attempt.settle?.(new Error("cancelled"));
        finishSlot(attempt);
      }
      if (ctx.wants("task.failed"))
        ctx.emit("task.failed", {
          taskId: attempt?.id,
          code: result.code,
          message: result.message,
          ...(state.caller ? { caller: state.caller } : {}),
        });
      state.reject(result);
      return;
    }
    if (state.session) {
      if (affinity.size >= SESSIONS_REMEMBERED)
        affinity.delete(affinity.keys().next().value as string);
      affinity.set(state.session, result.agentId);
    }
    if (ctx.wants("task.completed"))
      ctx.emit("task.completed", {
        taskId: result.taskId,
        agentId: result.agentId,
        capability: result.capability,
        attempts: result.attempts,
        totalTokens: result.usage.totalTokens,
        ...(state.caller ? { caller: state.caller } : {}),
      });
    state.resolve(result);
  }

  function deadlinePassed(state: CallState): void {
    finish(
      state,
      new ClawHubError("DEADLINE_EXCEEDED", "the call's deadline passed before a result arrived", {
        hint: "Give the call a longer timeout, or check the agent (`clawhub agents`).",
      }),
    );
  }

  // ---- the room ---------------------------------------------------------------------------

  const room: Dispatcher = {
    get heldBytes() {
      return heldBytes;
    },
    get inFlight() {
      return calls.size;
    },

    async call(input) {
      if (ctx.closing) throw new ClawHubError("UNAVAILABLE", "the hub is shutting down");
      const byName = input.capability?.trim();
      const query = input.query?.trim();
      if (Boolean(byName) === Boolean(query))
        throw new ClawHubError(
          "INVALID_ARGUMENT",
          "give exactly one of a capability name and a query",
        );
      const payload = input.rawInput ?? encodePayload(input.input);
      const bytes = bytesOf(payload);
      if (heldBytes + bytes > config.maxQueuedBytes)
        throw new ClawHubError(
          "RESOURCE_EXHAUSTED",
          `the hub already holds ${MiB(heldBytes)} of input for unfinished calls (limit ${MiB(config.maxQueuedBytes)})`,
          {
            details: { retryAfterMs: 1000 },
            hint: "Retry later, send smaller inputs, or raise --max-queued-bytes.",
          },
        );
      const targets = byName
        ? [{ name: byName, similarity: 1 }]
        : await capabilities.targetsFor(
            query as string,
            input.minSimilarity || config.minSimilarity,
          );
      const now = ctx.now();
      const deadline =
        input.deadline && Number.isFinite(input.deadline)
          ? input.deadline
          : now + config.defaultTimeoutMs;
      if (input.signal?.aborted) throw new ClawHubError("CANCELLED", "the call was cancelled");
      const given = input.idempotencyKey?.slice(0, 512);
      const idempotencyKey = given
        ? input.scope
          ? `k-${createHash("sha256").update(`${input.scope}\0${given}`).digest("base64url").slice(0, 32)}`
          : given
        : unguessable();
      let timeout = input.attemptTimeoutMs ?? 0;
      if (!(timeout > 0)) {
        // The capability's declared timeout (the smallest among its agents), else the hub's.
        for (const t of targets)
          for (const id of capabilities.providers(t.name) ?? []) {
            const declared = sessions.get(id)?.capabilities.get(t.name)?.spec.timeoutMs ?? 0;
            if (declared > 0 && (timeout === 0 || declared < timeout)) timeout = declared;
          }
        if (!(timeout > 0)) timeout = config.attemptTimeoutMs;
      }
      return new Promise<CallOutcome>((resolve, reject) => {
        const state: CallState = {
          targets,
          input: payload,
          bytes,
          // Schemas see tensors as their JSON placeholders, as over the wire: parse the bytes then.
          inputValue:
            input.rawInput || payload.tensors.length
              ? { parsed: false, value: undefined }
              : { parsed: true, value: input.input ?? null },
          checked: new Map(),
          params: input.rawParams ?? encodeJson(input.params),
          idempotencyKey,
          labels: input.labels ?? {},
          session: input.session ?? "",
          maxAttempts: Math.min(10, Math.max(1, input.maxAttempts || config.maxAttempts)),
          attemptBase: Math.max(0, input.attemptBase ?? 0),
          attempts: 0,
          deadline,
          attemptTimeoutMs: timeout,
          maxTokens: Math.max(0, Math.floor(input.maxTokens ?? 0)),
          tried: new Set(),
          current: undefined,
          usage: zeroUsage(),
          done: false,
          timer: undefined,
          wakeAt: 0,
          lastError: undefined,
          onProgress: input.onProgress,
          caller: input.caller,
          resolve,
          reject,
        };
        heldBytes += bytes;
        calls.add(state);
        arm(state, deadline);
        input.signal?.addEventListener(
          "abort",
          () => finish(state, new ClawHubError("CANCELLED", "the call was cancelled")),
          { once: true },
        );
        placeOrFail(state, 1);
      });
    },

    onResult(session, result) {
      const attempt = session.running.get(result.taskId);
      if (!attempt) return; // cancelled, timed out or unknown: nothing waits for it
      const latency = ctx.now() - attempt.sentAt;
      finishSlot(attempt);
      const state = attempt.call;
      const usage = result.usage;
      if (usage) {
        state.usage.promptTokens += usage.promptTokens;
        state.usage.completionTokens += usage.completionTokens;
        state.usage.totalTokens += usage.totalTokens || usage.promptTokens + usage.completionTokens;
      }
      const entry = session.capabilities.get(attempt.capability);
      if (state.done || state.current !== attempt) return;
      const failed = result.failure?.type ? failureFromWire(result.failure) : undefined;
      // A deadline is a deadline: a result that arrives once it passed (before this call's timer
      // fired) is discarded, and so is one the agent made after its signal said the deadline
      // passed (its clock may run ahead of the hub's); the caller gets DEADLINE_EXCEEDED.
      if (ctx.now() >= state.deadline || failed?.type === "DEADLINE_EXCEEDED") {
        observe(entry, true, latency);
        attempt.settle?.("ok");
        deadlinePassed(state);
        return;
      }
      if (failed) {
        // Only failures another attempt may fix say the agent is unwell; a refusal counts as served.
        observe(entry, failed.nonRetryable);
        attempt.settle?.(failed.nonRetryable ? "ok" : new Error(failed.message));
        failAttempt(
          attempt,
          taskFailedError(failed, {
            message: `${attempt.capability} failed on agent ${session.id}: ${failed.message || failed.type}`,
            details: { agentId: session.id, attempt: state.attemptBase + attempt.number },
          }),
          failed,
        );
        return;
      }
      observe(entry, true, latency);
      attempt.settle?.("ok");
      const output = result.output ?? encodePayload(null);
      if (entry?.spec.outputSchema) {
        let problems: SchemaProblem[];
        try {
          const text = Buffer.from(output.json).toString("utf8");
          problems = entry.validateOutput(text ? JSON.parse(text) : null);
        } catch {
          problems = [{ path: "/", message: "output is not valid JSON" }];
        }
        if (problems.length > 0) {
          const failure = taskFailure(
            "OUTPUT_INVALID",
            `agent ${session.id} returned output that does not match the schema of "${attempt.capability}": ${describeProblems(problems)}`,
            { nonRetryable: true, details: { errors: problems, agentId: session.id } },
          );
          finish(state, taskFailedError(failure));
          return;
        }
      }
      finish(state, {
        output,
        taskId: attempt.id,
        agentId: session.id,
        capability: attempt.capability,
        attempts: state.attempts,
        usage: state.usage,
      });
    },

    onProgress(session, taskId, fraction, message) {
      const attempt = session.running.get(taskId);
      if (!attempt || attempt.call.done) return;
      const text = message.slice(0, 1024);
      // Progress that moves on says the agent is alive: the attempt's timeout starts again. The
      // same fraction and message again is a heartbeat of a loop, not work: it resets nothing.
      const key = `${fraction}\0${text}`;
      if (key !== attempt.lastProgress) {
        attempt.lastProgress = key;
        attempt.aliveAt = ctx.now();
      }
      attempt.call.onProgress?.({ fraction, message: text, agentId: session.id });
      if (ctx.wants("task.progress"))
        ctx.emit("task.progress", { taskId: attempt.id, fraction, message: text });
    },

    drain(session) {
      session.draining = true;
      ctx.emit("agent.draining", { agentId: session.id });
      // Queued tasks were never sent: another agent takes them.
      for (const attempt of session.queue.splice(0)) {
        session.heldBytes = Math.max(0, session.heldBytes - attempt.call.bytes);
        if (!attempt.call.done && attempt.call.current === attempt)
          placeOrFail(attempt.call, attempt.number);
      }
    },

    lost(session, reason) {
      const lostAttempts = [...session.running.values()];
      session.running.clear();
      const queued = session.queue.splice(0);
      session.heldBytes = 0;
      for (const attempt of lostAttempts) {
        const state = attempt.call;
        if (state.done || state.current !== attempt) continue;
        const failure = taskFailure(
          "AGENT_LOST",
          `agent ${session.id} was lost mid-task (${reason})`,
          {
            details: { agentId: session.id },
          },
        );
        attempt.settle?.(new Error(failure.message));
        failAttempt(attempt, taskFailedError(failure), failure);
      }
      for (const attempt of queued) {
        const state = attempt.call;
        if (state.done || state.current !== attempt) continue;
        // Never sent: placing it again is not a new attempt.
        placeOrFail(state, attempt.number);
      }
    },

    close(reason) {
      for (const state of [...calls]) finish(state, new ClawHubError("UNAVAILABLE", reason));
    },
  };
  return room;
}
