import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import {
  type ControlPlane,
  createMemoryControlPlane,
  KEY_PATTERN,
  type Lease,
  type Subscription,
} from "../control-plane/index.ts";
import { ClawHubError, toClawHubError } from "../errors/index.ts";
import { createSearchEngine, type Embedder } from "../search/index.ts";
import {
  type AgentMessage,
  CHANNEL_OPTIONS,
  decodePayload,
  encodeJson,
  encodePayload,
  type HubMessage,
  hubProtocol,
  toGrpcError,
  type WireAgentInfo,
  type WireCallRequest,
  type WireCallResponse,
  type WireCapability,
  type WireCapabilityMatch,
  type WireHubEvent,
  type WirePayload,
  type WireRegister,
  type WireTaskError,
  type WireTelemetry,
  type WireUsage,
} from "../wire/index.ts";
import {
  type CapabilityInfo,
  createWorkflowEngine,
  type RunView,
  validateWorkflow,
  type WorkflowEngine,
  type WorkflowEngineOptions,
} from "../workflow/index.ts";
import {
  DEFAULT_ROUTING_WEIGHTS,
  type RouteCandidate,
  type RouteDecision,
  type RoutingWeights,
  route,
} from "./routing.ts";
import {
  createSchemaCache,
  describeProblems,
  type SchemaProblem,
  type Validator,
} from "./schema.ts";

/** Options of {@link createHub}. Every limit is explicit; docs/hub.md lists the defaults. */
export interface HubOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 7070; 0 picks a free port. */
  port?: number;
  /** Default: a fresh in-process control plane. */
  controlPlane?: ControlPlane;
  /** Capabilities are found by meaning with it; without one, lexically only. */
  embedder?: Embedder | undefined;
  /** How often agents send heartbeats (told at registration). Default 2000 ms. */
  heartbeatIntervalMs?: number;
  /** An agent silent this long is dropped. Default 3 heartbeat intervals. */
  heartbeatTimeoutMs?: number;
  /** Tasks queued per agent beyond its running ones, unless the agent asks for fewer. Default 32. */
  queueLimit?: number;
  /** Deadline of calls that carry none. Default 5 minutes. */
  defaultTimeoutMs?: number;
  /** Attempts per call unless the call says otherwise (counting the first). Default 3. */
  maxAttempts?: number;
  /** Lowest similarity a capability needs to serve a call by query. Default 0.3. */
  minSimilarity?: number;
  weights?: Partial<RoutingWeights>;
  /** Consecutive failures of one agent's capability that open its circuit, and for how long. */
  breaker?: { failures?: number; cooldownMs?: number };
  now?: () => number;
  newId?: () => string;
  logger?: (line: string) => void;
  /** Workflow engine settings (breakers, bulkheads); false: no WorkflowService. */
  workflows?: false | Pick<WorkflowEngineOptions, "breaker" | "bulkhead">;
  /**
   * How long a workflow task waits for an agent serving its capability to connect (after a hub
   * restart agents need a moment to reconnect). Default 30 s.
   */
  capabilityWaitMs?: number;
}

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
  idempotencyKey?: string | undefined;
  maxAttempts?: number | undefined;
  session?: string | undefined;
  minSimilarity?: number | undefined;
  /** Absolute deadline, Unix ms. */
  deadline?: number | undefined;
  signal?: AbortSignal | undefined;
  onProgress?:
    | ((progress: { fraction: number; message: string; agentId: string }) => void)
    | undefined;
}

/** What a finished call returns. */
export interface CallOutcome {
  output: WirePayload;
  taskId: string;
  agentId: string;
  capability: string;
  attempts: number;
  usage: WireUsage;
}

/** A capability found by meaning, with the agents serving it. */
export interface CapabilityMatch {
  capability: WireCapability;
  score: number;
  similarity: number;
  /** Whether `call --query` would route to it (similarity at or above the threshold). */
  routable: boolean;
  agentIds: string[];
}

/** A running hub: gRPC server plus the same operations in process. */
export interface Hub {
  readonly id: string;
  /** `host:port` it listens on. */
  readonly address: string;
  readonly port: number;
  call(input: CallInput): Promise<CallOutcome>;
  discover(query: string, options?: { limit?: number }): Promise<CapabilityMatch[]>;
  agents(): WireAgentInfo[];
  /** Resolves when capabilities registered so far are searchable by meaning. */
  idle(): Promise<void>;
  /** What is known of each connected capability (schemas, context limit). */
  catalog(): Map<string, CapabilityInfo>;
  /** The workflow engine (runs are journaled in the control plane). */
  readonly workflows: WorkflowEngine | undefined;
  /** Stops accepting, ends every agent stream and call, and stops the server. */
  close(): Promise<void>;
}

interface CapabilityEntry {
  spec: WireCapability;
  validateInput: Validator;
  validateOutput: Validator;
  running: number;
  failures: number;
  openUntil: number;
}

interface Session {
  id: string;
  name: string;
  labels: Record<string, string>;
  capabilities: Map<string, CapabilityEntry>;
  stream: grpc.ServerDuplexStream<AgentMessage, HubMessage>;
  queueLimit: number;
  telemetry: WireTelemetry;
  connectedAt: number;
  lastHeartbeat: number;
  lastDispatchAt: number;
  draining: boolean;
  running: Map<string, Attempt>;
  queue: Attempt[];
  leases: Map<string, { lease: Lease; taskId: string }>;
  subscriptions: Map<string, Subscription>;
  gone: boolean;
}

interface Attempt {
  id: string;
  number: number;
  call: CallState;
  session: Session;
  capability: string;
}

interface CallState {
  targets: Array<{ name: string; similarity: number }>;
  input: WirePayload;
  inputValue: { parsed: boolean; value: unknown };
  params: Uint8Array;
  idempotencyKey: string;
  labels: Record<string, string>;
  session: string;
  maxAttempts: number;
  attempts: number;
  deadline: number;
  tried: Set<string>;
  current: Attempt | undefined;
  usage: WireUsage;
  done: boolean;
  timer: NodeJS.Timeout | undefined;
  lastError: ClawHubError | undefined;
  onProgress: CallInput["onProgress"];
  resolve(outcome: CallOutcome): void;
  reject(error: ClawHubError): void;
}

const AGENT_ID = /^[A-Za-z0-9_-]{1,128}$/;
const CAPABILITY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TOPIC = /^([A-Za-z0-9_=/-]+|\*)(\.([A-Za-z0-9_=/-]+|\*))*(\.>)?$|^>$/;
const MAX_CAPABILITIES = 256;
const MAX_LABELS = 64;
const SESSIONS_REMEMBERED = 10_000;

const zeroTelemetry = (): WireTelemetry => ({
  inFlight: 0,
  queueDepth: 0,
  kvCacheUtilization: 0,
  vramUsedBytes: 0,
  vramTotalBytes: 0,
  tokensPerSecond: 0,
});
const zeroUsage = (): WireUsage => ({ promptTokens: 0, completionTokens: 0, totalTokens: 0 });

/** A payload in a JSON-safe form, for events that cross the control plane. */
function payloadToJson(payload: WirePayload | null) {
  if (!payload) return null;
  return {
    json: Buffer.from(payload.json).toString("base64"),
    tensors: payload.tensors.map((t) => ({ ...t, data: Buffer.from(t.data).toString("base64") })),
  };
}
function payloadFromJson(value: ReturnType<typeof payloadToJson>): WirePayload | null {
  if (!value) return null;
  return {
    json: Buffer.from(value.json, "base64"),
    tensors: value.tensors.map((t) => ({ ...t, data: Buffer.from(t.data, "base64") })),
  };
}

/**
 * Starts a hub: agents connect over gRPC and register capabilities; callers' tasks are routed
 * to them by name or meaning and by load (routing.ts), with bounded per-agent queues,
 * deadlines, cancellation, and retries on another agent when one fails or dies.
 */
export async function createHub(options: HubOptions = {}): Promise<Hub> {
  const now = options.now ?? Date.now;
  const newId = options.newId ?? randomUUID;
  const log = options.logger ?? (() => {});
  const hubId = newId();
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 2000;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 3 * heartbeatIntervalMs;
  const defaultQueueLimit = options.queueLimit ?? 32;
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 300_000;
  const defaultMaxAttempts = options.maxAttempts ?? 3;
  const minSimilarity = options.minSimilarity ?? 0.3;
  const weights = { ...DEFAULT_ROUTING_WEIGHTS, ...options.weights };
  const breakerFailures = options.breaker?.failures ?? 5;
  const breakerCooldownMs = options.breaker?.cooldownMs ?? 10_000;
  const ownControlPlane = !options.controlPlane;
  const cp = options.controlPlane ?? createMemoryControlPlane({ now });
  const schemas = createSchemaCache();
  const engine = createSearchEngine({ embedder: options.embedder, logger: log });
  const sessions = new Map<string, Session>();
  /** Capability name -> agents serving it; the search index holds one document per name. */
  const providers = new Map<string, Set<string>>();
  const affinity = new Map<string, string>();
  const calls = new Set<CallState>();
  let closing = false;

  const emit = (kind: string, data: Record<string, unknown>) => {
    cp.publish(`hub.events.${kind}`, { kind, at: now(), ...data }).catch(() => {});
  };
  const write = (session: Session, message: HubMessage) => {
    if (session.gone) return;
    try {
      session.stream.write(message);
    } catch (error) {
      log(`hub: write to agent ${session.id} failed: ${(error as Error).message}`);
    }
  };

  // ---- capability index -----------------------------------------------------------------

  const indexCapability = (spec: WireCapability) => {
    engine.upsert({
      id: spec.name,
      slug: spec.name,
      ownerHandle: "",
      displayName: spec.name,
      summary: spec.description,
      tags: [],
      downloads: 0,
      text: `${spec.name.replace(/[._-]+/g, " ")}. ${spec.description}`,
    });
  };
  const addProvider = (session: Session, spec: WireCapability) => {
    const set = providers.get(spec.name) ?? new Set<string>();
    providers.set(spec.name, set);
    set.add(session.id);
    if (set.size === 1) indexCapability(spec);
  };
  const removeProvider = (session: Session, name: string) => {
    const set = providers.get(name);
    if (!set) return;
    set.delete(session.id);
    if (set.size > 0) return;
    providers.delete(name);
    engine.remove(name);
  };
  /** Any live agent's spec of a capability (the first registrant's description is indexed). */
  const specOf = (name: string): WireCapability | undefined => {
    for (const id of providers.get(name) ?? []) {
      const entry = sessions.get(id)?.capabilities.get(name);
      if (entry) return entry.spec;
    }
    return undefined;
  };
  /** Waits (bounded) for pending capability embeddings, so a fresh agent is found by meaning. */
  const indexReady = async () => {
    if (engine.status().pending === 0) return;
    await Promise.race([engine.idle(), new Promise((r) => setTimeout(r, 5000).unref())]);
  };
  const similarityOf = (hit: { parts: { tier: number; bm25: number; cosine: number | null } }) =>
    hit.parts.tier >= 2 ? 1 : (hit.parts.cosine ?? hit.parts.bm25 / (hit.parts.bm25 + 4));

  async function discover(query: string, opts: { limit?: number; floor?: number } = {}) {
    await indexReady();
    const hits = await engine.search(query, { limit: Math.min(100, opts.limit ?? 10) });
    const floor = opts.floor ?? minSimilarity;
    const out: CapabilityMatch[] = [];
    for (const hit of hits) {
      const spec = specOf(hit.id);
      if (!spec) continue;
      const similarity = similarityOf(hit);
      out.push({
        capability: spec,
        score: hit.score,
        similarity,
        routable: similarity >= floor,
        agentIds: [...(providers.get(hit.id) ?? [])].sort(),
      });
    }
    return out;
  }

  // ---- sessions ---------------------------------------------------------------------------

  const agentKey = (id: string) => `hub.agents.${id}`;
  const info = (s: Session): WireAgentInfo => ({
    agentId: s.id,
    name: s.name,
    labels: s.labels,
    capabilities: [...s.capabilities.values()].map((c) => c.spec),
    telemetry: s.telemetry,
    inFlight: s.running.size,
    queued: s.queue.length,
    connectedAtUnixMs: s.connectedAt,
    lastHeartbeatUnixMs: s.lastHeartbeat,
    draining: s.draining,
  });

  function register(stream: Session["stream"], reg: WireRegister): Session {
    if (closing) throw new ClawHubError("UNAVAILABLE", "the hub is shutting down");
    if (!AGENT_ID.test(reg.agentId))
      throw new ClawHubError(
        "INVALID_ARGUMENT",
        `invalid agent id ${JSON.stringify(reg.agentId)}`,
        {
          hint: "Agent ids are 1-128 letters, digits, _ or -.",
        },
      );
    if (!reg.name.trim()) throw new ClawHubError("INVALID_ARGUMENT", "an agent needs a name");
    if (reg.capabilities.length === 0 || reg.capabilities.length > MAX_CAPABILITIES)
      throw new ClawHubError(
        "INVALID_ARGUMENT",
        `an agent registers 1-${MAX_CAPABILITIES} capabilities, got ${reg.capabilities.length}`,
      );
    if (Object.keys(reg.labels).length > MAX_LABELS)
      throw new ClawHubError("INVALID_ARGUMENT", `at most ${MAX_LABELS} labels`);
    const capabilities = new Map<string, CapabilityEntry>();
    for (const spec of reg.capabilities) {
      if (!CAPABILITY_NAME.test(spec.name))
        throw new ClawHubError(
          "INVALID_ARGUMENT",
          `invalid capability name ${JSON.stringify(spec.name)}`,
          {
            hint: "Capability names are 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit.",
          },
        );
      if (capabilities.has(spec.name))
        throw new ClawHubError("INVALID_ARGUMENT", `capability "${spec.name}" registered twice`);
      capabilities.set(spec.name, {
        spec: { ...spec, maxConcurrency: Math.max(1, spec.maxConcurrency || 1) },
        validateInput: schemas.compile(spec.inputSchema, `capability "${spec.name}" input schema`),
        validateOutput: schemas.compile(
          spec.outputSchema,
          `capability "${spec.name}" output schema`,
        ),
        running: 0,
        failures: 0,
        openUntil: 0,
      });
    }
    const previous = sessions.get(reg.agentId);
    if (previous) drop(previous, "replaced by a new connection with the same agent id");
    const at = now();
    const session: Session = {
      id: reg.agentId,
      name: reg.name,
      labels: { ...reg.labels },
      capabilities,
      stream,
      queueLimit: Math.min(defaultQueueLimit, reg.queueLimit || defaultQueueLimit),
      telemetry: zeroTelemetry(),
      connectedAt: at,
      lastHeartbeat: at,
      lastDispatchAt: 0,
      draining: false,
      running: new Map(),
      queue: [],
      leases: new Map(),
      subscriptions: new Map(),
      gone: false,
    };
    sessions.set(session.id, session);
    for (const entry of capabilities.values()) addProvider(session, entry.spec);
    cp.kv
      .put(agentKey(session.id), {
        hubId,
        name: session.name,
        labels: session.labels,
        capabilities: [...capabilities.keys()],
        connectedAt: at,
      })
      .catch(() => {});
    write(session, {
      kind: "registered",
      registered: { agentId: session.id, hubId, heartbeatIntervalMs },
    });
    emit("agent.connected", {
      agentId: session.id,
      name: session.name,
      capabilities: [...capabilities.keys()],
    });
    log(
      `hub: agent ${session.name} (${session.id}) connected with ${capabilities.size} capabilities`,
    );
    return session;
  }

  /** Removes an agent: its running tasks are retried elsewhere, its queued ones re-routed. */
  function drop(session: Session, reason: string): void {
    if (session.gone) return;
    session.gone = true;
    if (sessions.get(session.id) === session) sessions.delete(session.id);
    for (const name of session.capabilities.keys()) removeProvider(session, name);
    for (const { lease } of session.leases.values()) lease.release().catch(() => {});
    session.leases.clear();
    for (const sub of session.subscriptions.values()) sub.unsubscribe();
    session.subscriptions.clear();
    try {
      session.stream.end();
    } catch {
      // The stream is already gone.
    }
    if (!sessions.has(session.id)) cp.kv.delete(agentKey(session.id)).catch(() => {});
    const lost = [...session.running.values()];
    session.running.clear();
    const queued = session.queue.splice(0);
    emit("agent.disconnected", { agentId: session.id, reason });
    log(`hub: agent ${session.name} (${session.id}) gone: ${reason}`);
    for (const attempt of lost) {
      const state = attempt.call;
      if (state.done || state.current !== attempt) continue;
      failAttempt(
        attempt,
        new ClawHubError("TASK_FAILED", `agent ${session.id} was lost mid-task (${reason})`, {
          details: { retryable: true, agentId: session.id, code: "AGENT_LOST" },
        }),
        true,
      );
    }
    for (const attempt of queued) {
      const state = attempt.call;
      if (state.done || state.current !== attempt) continue;
      // Never sent: placing it again is not a new attempt.
      placeOrFail(state, attempt.number);
    }
  }

  // ---- dispatch -----------------------------------------------------------------------------

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

  /** Chooses an agent for the call (or throws why none can take it) and hands it the task. */
  function place(state: CallState, attemptNumber: number): void {
    const candidates: RouteCandidate[] = [];
    let providerSeen = false;
    let schemaProblems: SchemaProblem[] | undefined;
    const checked = new Map<Validator, SchemaProblem[]>();
    const at = now();
    for (const target of state.targets) {
      for (const id of providers.get(target.name) ?? []) {
        const session = sessions.get(id);
        const entry = session?.capabilities.get(target.name);
        if (!session || !entry) continue;
        providerSeen = true;
        let problems = checked.get(entry.validateInput);
        if (!problems) {
          problems = entry.validateInput(inputValue(state));
          checked.set(entry.validateInput, problems);
        }
        if (problems.length > 0) {
          schemaProblems ??= problems;
          continue;
        }
        candidates.push({
          agentId: id,
          capability: target.name,
          similarity: target.similarity,
          labels: session.labels,
          running: entry.running,
          maxConcurrency: entry.spec.maxConcurrency,
          queued: session.queue.length,
          queueLimit: session.queueLimit,
          reportedInFlight: session.telemetry.inFlight,
          reportedQueueDepth: session.telemetry.queueDepth,
          kvCacheUtilization: session.telemetry.kvCacheUtilization,
          vramUsedBytes: session.telemetry.vramUsedBytes,
          vramTotalBytes: session.telemetry.vramTotalBytes,
          draining: session.draining,
          circuitOpen: entry.failures >= breakerFailures && entry.openUntil > at,
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
      weights,
    });
    if (!decision.chosen) throw noRoute(decision, names);
    const session = sessions.get(decision.chosen.agentId) as Session;
    const attempt: Attempt = {
      id: newId(),
      number: attemptNumber,
      call: state,
      session,
      capability: decision.chosen.capability,
    };
    state.current = attempt;
    state.attempts = Math.max(state.attempts, attemptNumber);
    state.tried.add(session.id);
    session.lastDispatchAt = at;
    const entry = session.capabilities.get(attempt.capability) as CapabilityEntry;
    if (entry.running < entry.spec.maxConcurrency) send(attempt);
    else session.queue.push(attempt);
  }

  function noRoute(decision: RouteDecision, names: string): ClawHubError {
    const reasons = new Set(decision.rejected.map((r) => r.reason));
    if (reasons.has("full")) {
      // Time until a slot frees, estimated from the fullest candidates' queues: no history is
      // kept, so one second per queued task per slot, bounded to [100 ms, 30 s].
      const full = decision.rejected.filter((r) => r.reason === "full");
      let best = Number.POSITIVE_INFINITY;
      for (const r of full) {
        const s = sessions.get(r.agentId);
        const entry = s?.capabilities.get(r.capability);
        if (!s || !entry) continue;
        best = Math.min(best, (1000 * (s.queue.length + 1)) / entry.spec.maxConcurrency);
      }
      const retryAfterMs = Math.round(
        Math.min(30_000, Math.max(100, Number.isFinite(best) ? best : 1000)),
      );
      return new ClawHubError(
        "RESOURCE_EXHAUSTED",
        `every agent serving ${names} is at capacity (running and queue full)`,
        {
          details: { retryAfterMs },
          hint: `Retry after ${retryAfterMs} ms, or start more agents.`,
        },
      );
    }
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

  function send(attempt: Attempt): void {
    const { session, call: state } = attempt;
    const entry = session.capabilities.get(attempt.capability) as CapabilityEntry;
    entry.running++;
    session.running.set(attempt.id, attempt);
    write(session, {
      kind: "task",
      task: {
        taskId: attempt.id,
        capability: attempt.capability,
        input: state.input,
        deadlineUnixMs: state.deadline,
        attempt: attempt.number,
        paramsJson: state.params,
        idempotencyKey: state.idempotencyKey,
      },
    });
    emit("task.dispatched", {
      taskId: attempt.id,
      agentId: session.id,
      capability: attempt.capability,
      attempt: attempt.number,
    });
  }

  /** A slot of the attempt's capability is free again: release task locks, start queued work. */
  function finishSlot(attempt: Attempt): void {
    const { session } = attempt;
    if (!session.running.delete(attempt.id)) return;
    const entry = session.capabilities.get(attempt.capability);
    if (entry) entry.running = Math.max(0, entry.running - 1);
    for (const [key, held] of session.leases) {
      if (held.taskId === attempt.id) {
        session.leases.delete(key);
        held.lease.release().catch(() => {});
      }
    }
    pump(session);
  }

  function pump(session: Session): void {
    if (session.gone) return;
    for (let i = 0; i < session.queue.length; ) {
      const attempt = session.queue[i] as Attempt;
      if (attempt.call.done || attempt.call.current !== attempt) {
        session.queue.splice(i, 1);
        continue;
      }
      const entry = session.capabilities.get(attempt.capability) as CapabilityEntry;
      if (entry.running < entry.spec.maxConcurrency) {
        session.queue.splice(i, 1);
        send(attempt);
        continue;
      }
      i++;
    }
  }

  function placeOrFail(state: CallState, attemptNumber: number): void {
    try {
      place(state, attemptNumber);
    } catch (error) {
      const reason = toClawHubError(error);
      finish(state, state.lastError ? withCause(state.lastError, reason) : reason);
    }
  }

  const withCause = (last: ClawHubError, now: ClawHubError) =>
    new ClawHubError(last.code, `${last.message}; no retry possible: ${now.message}`, {
      ...(last.hint ? { hint: last.hint } : {}),
      details: { ...last.details, retryError: now.code },
    });

  function failAttempt(attempt: Attempt, error: ClawHubError, retryable: boolean): void {
    const state = attempt.call;
    state.lastError = error;
    const remaining = state.deadline - now();
    if (retryable && state.attempts < state.maxAttempts && remaining > 0) {
      const next = state.attempts + 1;
      emit("task.retrying", { taskId: attempt.id, attempt: next, reason: error.message });
      // A short, growing pause: an instant retry tends to meet the same failure.
      const delay = Math.min(1000, 50 * 2 ** (attempt.number - 1), remaining);
      state.current = undefined;
      setTimeout(() => {
        if (!state.done) placeOrFail(state, next);
      }, delay).unref();
      return;
    }
    finish(state, error);
  }

  function finish(state: CallState, result: ClawHubError | CallOutcome): void {
    if (state.done) return;
    state.done = true;
    calls.delete(state);
    if (state.timer) clearTimeout(state.timer);
    if (result instanceof ClawHubError) {
      const attempt = state.current;
      if (attempt?.session.running.has(attempt.id)) {
        write(attempt.session, {
          kind: "cancel",
          cancel: { taskId: attempt.id, reason: result.message },
        });
      }
      emit("task.failed", { taskId: attempt?.id, code: result.code, message: result.message });
      state.reject(result);
    } else {
      if (state.session) {
        if (affinity.size >= SESSIONS_REMEMBERED)
          affinity.delete(affinity.keys().next().value as string);
        affinity.set(state.session, result.agentId);
      }
      emit("task.completed", {
        taskId: result.taskId,
        agentId: result.agentId,
        capability: result.capability,
        attempts: result.attempts,
        totalTokens: result.usage.totalTokens,
      });
      state.resolve(result);
    }
  }

  function onResult(session: Session, result: Extract<AgentMessage, { kind: "result" }>["result"]) {
    const attempt = session.running.get(result.taskId);
    if (!attempt) return; // cancelled, timed out or unknown: nothing waits for it
    finishSlot(attempt);
    const state = attempt.call;
    if (result.usage) {
      state.usage.promptTokens += result.usage.promptTokens;
      state.usage.completionTokens += result.usage.completionTokens;
      state.usage.totalTokens +=
        result.usage.totalTokens || result.usage.promptTokens + result.usage.completionTokens;
    }
    const entry = session.capabilities.get(attempt.capability);
    if (state.done || state.current !== attempt) return;
    if (result.error) {
      if (entry) {
        entry.failures++;
        if (entry.failures >= breakerFailures) entry.openUntil = now() + breakerCooldownMs;
      }
      const e: WireTaskError = result.error;
      failAttempt(
        attempt,
        new ClawHubError(
          "TASK_FAILED",
          `${attempt.capability} failed on agent ${session.id}: ${e.message || e.code}`,
          {
            details: {
              code: e.code,
              retryable: e.retryable,
              agentId: session.id,
              attempt: attempt.number,
            },
          },
        ),
        e.retryable,
      );
      return;
    }
    if (entry) entry.failures = 0;
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
        finish(
          state,
          new ClawHubError(
            "TASK_FAILED",
            `agent ${session.id} returned output that does not match the schema of "${attempt.capability}": ${describeProblems(problems)}`,
            {
              details: {
                code: "OUTPUT_INVALID",
                retryable: false,
                errors: problems,
                agentId: session.id,
              },
            },
          ),
        );
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
  }

  async function call(input: CallInput): Promise<CallOutcome> {
    if (closing) throw new ClawHubError("UNAVAILABLE", "the hub is shutting down");
    const byName = input.capability?.trim();
    const query = input.query?.trim();
    if (Boolean(byName) === Boolean(query))
      throw new ClawHubError(
        "INVALID_ARGUMENT",
        "give exactly one of a capability name and a query",
      );
    let targets: CallState["targets"];
    if (byName) {
      targets = [{ name: byName, similarity: 1 }];
    } else {
      const floor = input.minSimilarity || minSimilarity;
      const matches = (await discover(query as string, { limit: 10, floor })).filter(
        (m) => m.routable,
      );
      if (matches.length === 0)
        throw new ClawHubError(
          "NOT_FOUND",
          `no capability matches "${query}" closely enough (similarity >= ${floor})`,
          {
            hint: "`clawhub discover` shows the nearest capabilities and their similarity.",
          },
        );
      targets = matches.map((m) => ({ name: m.capability.name, similarity: m.similarity }));
    }
    const maxAttempts = Math.min(10, Math.max(1, input.maxAttempts || defaultMaxAttempts));
    const deadline =
      input.deadline && Number.isFinite(input.deadline) ? input.deadline : now() + defaultTimeoutMs;
    if (input.signal?.aborted) throw new ClawHubError("CANCELLED", "the call was cancelled");
    return new Promise<CallOutcome>((resolve, reject) => {
      const state: CallState = {
        targets,
        input: input.rawInput ?? encodePayload(input.input),
        inputValue: input.rawInput
          ? { parsed: false, value: undefined }
          : { parsed: true, value: input.input ?? null },
        params: input.rawParams ?? encodeJson(input.params),
        idempotencyKey: input.idempotencyKey || newId(),
        labels: input.labels ?? {},
        session: input.session ?? "",
        maxAttempts,
        attempts: 0,
        deadline,
        tried: new Set(),
        current: undefined,
        usage: zeroUsage(),
        done: false,
        timer: undefined,
        lastError: undefined,
        onProgress: input.onProgress,
        resolve,
        reject,
      };
      // Schemas see tensors as their JSON placeholders, as over the wire: parse the bytes then.
      if (!input.rawInput && state.input.tensors.length)
        state.inputValue = { parsed: false, value: undefined };
      state.timer = setTimeout(
        () =>
          finish(
            state,
            new ClawHubError(
              "DEADLINE_EXCEEDED",
              "the call's deadline passed before a result arrived",
              {
                hint: "Give the call a longer timeout, or check the agent (`clawhub agents`).",
              },
            ),
          ),
        Math.max(0, deadline - now()),
      );
      state.timer.unref();
      input.signal?.addEventListener(
        "abort",
        () => finish(state, new ClawHubError("CANCELLED", "the call was cancelled")),
        {
          once: true,
        },
      );
      calls.add(state);
      try {
        place(state, 1);
      } catch (error) {
        finish(state, toClawHubError(error));
      }
    });
  }

  // ---- agent stream ---------------------------------------------------------------------

  function onAgentMessage(session: Session, message: AgentMessage): void {
    switch (message.kind) {
      case "heartbeat":
        session.lastHeartbeat = now();
        if (message.heartbeat.telemetry) session.telemetry = message.heartbeat.telemetry;
        return;
      case "result":
        onResult(session, message.result);
        return;
      case "progress": {
        const attempt = session.running.get(message.progress.taskId);
        if (!attempt || attempt.call.done) return;
        attempt.call.onProgress?.({
          fraction: message.progress.fraction,
          message: message.progress.message,
          agentId: session.id,
        });
        emit("task.progress", {
          taskId: attempt.id,
          fraction: message.progress.fraction,
          message: message.progress.message,
        });
        return;
      }
      case "lock":
        onLock(session, message.lock);
        return;
      case "unlock": {
        const key = `${message.unlock.resource}#${message.unlock.token}`;
        const held = session.leases.get(key);
        if (held) {
          session.leases.delete(key);
          held.lease.release().catch(() => {});
        }
        return;
      }
      case "publish": {
        const { topic, data } = message.publish;
        if (!KEY_PATTERN.test(topic)) return;
        cp.publish(`topics.${topic}`, { topic, from: session.id, data: payloadToJson(data) }).catch(
          () => {},
        );
        return;
      }
      case "subscribe": {
        const { topic, unsubscribe } = message.subscribe;
        if (!TOPIC.test(topic)) return;
        session.subscriptions.get(topic)?.unsubscribe();
        session.subscriptions.delete(topic);
        if (unsubscribe) return;
        session.subscriptions.set(
          topic,
          cp.subscribe<{ topic: string; data: ReturnType<typeof payloadToJson> }>(
            `topics.${topic}`,
            (m) =>
              write(session, {
                kind: "event",
                event: { topic: m.data.topic, data: payloadFromJson(m.data.data) },
              }),
          ),
        );
        return;
      }
      case "drain": {
        session.draining = true;
        emit("agent.draining", { agentId: session.id });
        // Queued tasks were never sent: another agent takes them.
        for (const attempt of session.queue.splice(0)) {
          if (!attempt.call.done && attempt.call.current === attempt)
            placeOrFail(attempt.call, attempt.number);
        }
        return;
      }
      case "register":
        return; // a second register on one stream is ignored
    }
  }

  function onLock(session: Session, req: Extract<AgentMessage, { kind: "lock" }>["lock"]): void {
    const reply = (body: { token?: number; expiresAtUnixMs?: number; error?: WireTaskError }) =>
      write(session, {
        kind: "lock",
        lock: {
          requestId: req.requestId,
          token: body.token ?? 0,
          expiresAtUnixMs: body.expiresAtUnixMs ?? 0,
          error: body.error ?? null,
        },
      });
    if (!KEY_PATTERN.test(req.resource)) {
      reply({
        error: {
          code: "INVALID_ARGUMENT",
          message: `invalid lock resource ${JSON.stringify(req.resource)}`,
          retryable: false,
        },
      });
      return;
    }
    const ttlMs = Math.min(3_600_000, Math.max(100, req.ttlMs || 30_000));
    cp.locks
      .acquire(req.resource, {
        owner: `${session.id}/${req.taskId || "agent"}`,
        ttlMs,
        waitMs: Math.min(req.waitMs, 600_000),
      })
      .then(
        (lease) => {
          const bound = req.taskId && !session.running.has(req.taskId);
          if (session.gone || bound) {
            lease.release().catch(() => {});
            reply({
              error: {
                code: "CANCELLED",
                message: "the task or agent ended before the lock was granted",
                retryable: false,
              },
            });
            return;
          }
          session.leases.set(`${req.resource}#${lease.token}`, { lease, taskId: req.taskId });
          reply({ token: lease.token, expiresAtUnixMs: lease.expiresAt });
        },
        (error: unknown) => {
          const e = toClawHubError(error);
          reply({ error: { code: e.code, message: e.message, retryable: e.code === "CONFLICT" } });
        },
      );
  }

  function onConnect(stream: Session["stream"]): void {
    let session: Session | undefined;
    const fail = (error: ClawHubError) => {
      const status = toGrpcError(error);
      stream.emit("error", Object.assign(new Error(error.message), status));
    };
    stream.on("data", (message: AgentMessage) => {
      try {
        if (!session) {
          if (message.kind !== "register")
            throw new ClawHubError(
              "INVALID_ARGUMENT",
              "the first message of an agent stream must be register",
            );
          session = register(stream, message.register);
          return;
        }
        onAgentMessage(session, message);
      } catch (error) {
        const e = toClawHubError(error);
        log(`hub: agent stream error: ${e.message}`);
        if (!session) fail(e);
      }
    });
    const gone = (reason: string) => () => {
      if (session) drop(session, reason);
    };
    stream.on("end", gone("disconnected"));
    stream.on("error", gone("stream error"));
    stream.on("cancelled", gone("connection lost"));
    stream.on("close", gone("connection closed"));
  }

  // ---- caller service ---------------------------------------------------------------------

  const unary =
    <Req, Res>(fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>) =>
    (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
      fn(call.request, call).then(
        (res) => callback(null, res),
        (error: unknown) => callback(toGrpcError(toClawHubError(error))),
      );
    };

  const callerService = {
    Call: unary<WireCallRequest, WireCallResponse>(async (req, grpcCall) => {
      const signal = new AbortController();
      grpcCall.on("cancelled", () => signal.abort());
      const deadline = grpcCall.getDeadline();
      const ms = deadline instanceof Date ? deadline.getTime() : deadline;
      const outcome = await call({
        capability: req.capability || undefined,
        query: req.query || undefined,
        rawInput: req.input ?? encodePayload(null),
        labels: req.labels,
        rawParams: req.paramsJson,
        idempotencyKey: req.idempotencyKey || undefined,
        maxAttempts: req.maxAttempts || undefined,
        session: req.session || undefined,
        minSimilarity: req.minSimilarity || undefined,
        deadline: Number.isFinite(ms) ? ms : undefined,
        signal: signal.signal,
      });
      return outcome;
    }),
    Discover: unary<{ query: string; limit: number }, { matches: WireCapabilityMatch[] }>(
      async (req) => {
        if (!req.query.trim()) throw new ClawHubError("INVALID_ARGUMENT", "discover needs a query");
        const matches = await discover(req.query, { limit: req.limit || 10 });
        return { matches };
      },
    ),
    ListAgents: unary<Record<string, never>, { agents: WireAgentInfo[] }>(async () => ({
      agents: agents(),
    })),
    Events(stream: grpc.ServerWritableStream<{ filter: string }, WireHubEvent>) {
      const filter = stream.request.filter.trim() || ">";
      if (!TOPIC.test(filter)) {
        stream.emit(
          "error",
          Object.assign(
            new Error("invalid event filter"),
            toGrpcError(
              new ClawHubError(
                "INVALID_ARGUMENT",
                `invalid event filter ${JSON.stringify(filter)}`,
              ),
            ),
          ),
        );
        return;
      }
      const sub = cp.subscribe<{ kind: string; at: number }>(`hub.events.${filter}`, (m) => {
        stream.write({
          kind: m.data.kind,
          atUnixMs: m.data.at,
          json: Buffer.from(JSON.stringify(m.data)),
        });
      });
      eventStreams.add(stream);
      const stop = () => {
        sub.unsubscribe();
        eventStreams.delete(stream);
      };
      stream.on("cancelled", stop);
      stream.on("close", stop);
    },
  };
  const eventStreams = new Set<grpc.ServerWritableStream<{ filter: string }, WireHubEvent>>();

  function agents(): WireAgentInfo[] {
    return [...sessions.values()]
      .map(info)
      .sort((a, b) => a.name.localeCompare(b.name) || a.agentId.localeCompare(b.agentId));
  }

  // ---- workflows --------------------------------------------------------------------------

  function catalog(): Map<string, CapabilityInfo> {
    const out = new Map<string, CapabilityInfo>();
    for (const name of providers.keys()) {
      const spec = specOf(name);
      if (!spec) continue;
      let limit = 0;
      for (const id of providers.get(name) ?? []) {
        const l = sessions.get(id)?.capabilities.get(name)?.spec.contextLimit ?? 0;
        if (l > 0) limit = limit === 0 ? l : Math.min(limit, l);
      }
      out.set(name, {
        inputSchema: spec.inputSchema
          ? (JSON.parse(spec.inputSchema) as Record<string, unknown>)
          : undefined,
        outputSchema: spec.outputSchema
          ? (JSON.parse(spec.outputSchema) as Record<string, unknown>)
          : undefined,
        contextLimit: limit || undefined,
      });
    }
    return out;
  }

  const capabilityWaitMs = options.capabilityWaitMs ?? 30_000;
  async function waitForCapability(
    name: string,
    until: number,
    signal: AbortSignal,
  ): Promise<void> {
    while (!providers.has(name) && now() < until && !signal.aborted && !closing) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const workflows =
    options.workflows === false
      ? undefined
      : createWorkflowEngine({
          ...options.workflows,
          controlPlane: cp,
          now,
          newId,
          logger: log,
          emit: (kind, data) => emit(kind, data),
          runner: {
            async call(req) {
              if (req.capability) {
                const limit = Math.min(
                  req.deadline ?? Number.POSITIVE_INFINITY,
                  now() + capabilityWaitMs,
                );
                await waitForCapability(req.capability, limit, req.signal);
              }
              const outcome = await call({
                capability: req.capability,
                query: req.query,
                input: req.input,
                params: req.params,
                idempotencyKey: req.idempotencyKey,
                deadline: req.deadline,
                signal: req.signal,
                // The workflow's own retry policy decides about further attempts.
                maxAttempts: 1,
              });
              return {
                output: decodePayload(outcome.output),
                tokens: outcome.usage.totalTokens,
                agentId: outcome.agentId,
              };
            },
            contextLimits() {
              const out: Record<string, number> = {};
              for (const [name, info] of catalog())
                if (info.contextLimit) out[name] = info.contextLimit;
              return out;
            },
          },
        });

  const json = (value: unknown) => ({ json: Buffer.from(JSON.stringify(value ?? null)) });
  const parseJson = (bytes: Uint8Array, what: string): unknown => {
    if (!bytes || bytes.byteLength === 0) return undefined;
    try {
      return JSON.parse(Buffer.from(bytes).toString("utf8"));
    } catch (error) {
      throw new ClawHubError("INVALID_ARGUMENT", `${what} is not valid JSON`, { cause: error });
    }
  };
  const needEngine = () => {
    if (!workflows) throw new ClawHubError("UNAVAILABLE", "workflows are turned off on this hub");
    return workflows;
  };
  const workflowService = {
    ValidateFlow: unary<{ specJson: Uint8Array }, { json: Buffer }>(async (req) => {
      const spec = validateWorkflow(parseJson(req.specJson, "the workflow"), catalog());
      return json({ valid: true, name: spec.name, nodes: spec.nodes.length });
    }),
    StartRun: unary<{ specJson: Uint8Array; inputsJson: Uint8Array }, { json: Buffer }>(
      async (req) => {
        const engine = needEngine();
        const spec = validateWorkflow(parseJson(req.specJson, "the workflow"), catalog());
        const inputs = (parseJson(req.inputsJson, "the inputs") ?? {}) as Record<string, unknown>;
        if (spec.inputs) {
          const problems = schemas.compile(
            JSON.stringify(spec.inputs),
            `workflow "${spec.name}" inputs`,
          )(inputs);
          if (problems.length > 0)
            throw new ClawHubError(
              "SCHEMA_INVALID",
              `inputs do not match the workflow's inputs schema: ${describeProblems(problems)}`,
              {
                details: { errors: problems },
              },
            );
        }
        return json(await engine.start(spec, inputs));
      },
    ),
    GetRun: unary<{ runId: string }, { json: Buffer }>(async (req) => {
      const view = await needEngine().get(req.runId);
      if (!view)
        throw new ClawHubError("NOT_FOUND", `no run ${req.runId}`, {
          hint: "`clawhub runs list` shows the runs.",
        });
      return json(view);
    }),
    ListRuns: unary<{ runId: string }, { json: Buffer }>(async () =>
      json(await needEngine().list()),
    ),
    CancelRun: unary<{ runId: string }, { json: Buffer }>(async (req) =>
      json(await needEngine().cancel(req.runId)),
    ),
    ResumeRun: unary<{ runId: string }, { json: Buffer }>(async (req) =>
      json(await needEngine().resume(req.runId)),
    ),
    WatchRun(stream: grpc.ServerWritableStream<{ runId: string }, { json: Buffer }>) {
      const fail = (error: unknown) =>
        stream.emit(
          "error",
          Object.assign(new Error("watch failed"), toGrpcError(toClawHubError(error))),
        );
      (async () => {
        const engine = needEngine();
        const view: RunView | undefined = await engine.get(stream.request.runId);
        if (!view) throw new ClawHubError("NOT_FOUND", `no run ${stream.request.runId}`);
        if (view.status !== "running") {
          stream.write(json(view));
          stream.end();
          return;
        }
        await engine.resume(stream.request.runId);
        let ended = false;
        let stop: () => void;
        try {
          stop = engine.watch(stream.request.runId, (v) => {
            if (ended) return;
            stream.write(json(v));
            if (v.status !== "running") finish();
          });
        } catch {
          // It ended in the meantime: its journal has the final view.
          stream.write(json(await engine.get(stream.request.runId)));
          stream.end();
          return;
        }
        const finish = () => {
          if (ended) return;
          ended = true;
          stop();
          stream.end();
        };
        stream.on("cancelled", () => {
          ended = true;
          stop();
        });
        // The run may have moved (or ended) before the watch was in place.
        const current = await engine.get(stream.request.runId);
        if (!ended && current) {
          stream.write(json(current));
          if (current.status !== "running") finish();
        }
      })().catch(fail);
    },
  };

  // ---- server -------------------------------------------------------------------------------

  const protocol = hubProtocol();
  const server = new grpc.Server(CHANNEL_OPTIONS);
  server.addService(protocol.AgentService.service, { Connect: onConnect });
  server.addService(protocol.CallerService.service, callerService);
  server.addService(protocol.WorkflowService.service, workflowService);
  const host = options.host ?? "127.0.0.1";
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${host.includes(":") ? `[${host}]` : host}:${options.port ?? 7070}`,
      grpc.ServerCredentials.createInsecure(),
      (error, bound) =>
        error
          ? reject(
              new ClawHubError(
                "IO_ERROR",
                `the hub cannot listen on ${host}:${options.port ?? 7070}: ${error.message}`,
                {
                  cause: error,
                  hint: "Pick another port with --hub-port (0: any free port).",
                },
              ),
            )
          : resolve(bound),
    );
  });
  const sweeper = setInterval(
    () => {
      const limit = now() - heartbeatTimeoutMs;
      for (const session of [...sessions.values()]) {
        if (session.lastHeartbeat < limit)
          drop(session, `missed heartbeats for ${heartbeatTimeoutMs} ms`);
      }
    },
    Math.max(50, Math.min(heartbeatIntervalMs, 1000)),
  );
  sweeper.unref();
  // Runs the journal shows as running continue; their tasks wait for agents to reconnect.
  if (workflows) {
    const resumed = await workflows.recover();
    if (resumed.length > 0) log(`hub: resumed ${resumed.length} workflow run(s) from the journal`);
  }
  const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;

  return {
    id: hubId,
    address,
    port,
    call,
    discover: (query, opts) => discover(query, opts),
    agents,
    idle: () => engine.idle(),
    catalog,
    workflows,
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(sweeper);
      await workflows?.close();
      for (const state of [...calls])
        finish(state, new ClawHubError("UNAVAILABLE", "the hub is shutting down"));
      for (const session of [...sessions.values()]) drop(session, "hub shutting down");
      for (const stream of eventStreams) stream.end();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      if (ownControlPlane) await cp.close();
    },
  };
}

/** Decodes a call's output payload (tensors restored). */
export function outputOf(outcome: CallOutcome): unknown {
  return decodePayload(outcome.output);
}
