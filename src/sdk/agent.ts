import { randomUUID, X509Certificate } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import {
  ClawHubError,
  failureOf,
  isClawHubError,
  type TaskFailure,
  taskFailedError,
  taskFailure,
} from "../errors/index.ts";
import { nextDelay, retryPolicy } from "../resilience/index.ts";
import { subjectMatches } from "../schema/index.ts";
import {
  type AgentMessage,
  type Batcher,
  createStreamBatcher,
  decodeJson,
  decodePayload,
  encodePayload,
  failureFromWire,
  failureToWire,
  fromGrpcError,
  type HubMessage,
  hubAddresses,
  hubProtocol,
  payloadBytes,
  resultSignedFields,
  type WireTask,
  type WireTelemetry,
} from "../wire/index.ts";
import { enroll } from "./enroll.ts";
import { keepRenewed } from "./renew.ts";
import { type ClientTls, channelCredentials, channelOptions, createSigner } from "./tls.ts";

/** A JSON Schema document (validated by the hub with ajv). */
export type JsonSchema = Record<string, unknown> | boolean;

/** What an agent declares it can do. */
export interface CapabilitySpec {
  /** 1-128 letters, digits, '.', '_' or '-'. */
  name: string;
  /** What it does, in words: callers find it by meaning. */
  description: string;
  input?: JsonSchema;
  output?: JsonSchema;
  /** Tasks of this capability run at once on this agent (default 1). */
  maxConcurrency?: number;
  /** Largest input it takes, in tokens (workflows split bigger inputs; the hub refuses bigger calls). */
  contextLimit?: number;
  /**
   * How long one task may go without finishing or reporting progress before the hub gives up on
   * the attempt and retries it elsewhere (default: the hub's, 60 s).
   */
  timeoutMs?: number;
}

/** A held lock; `token` is a fencing token (larger for every later holder). */
export interface AgentLease {
  resource: string;
  token: number;
  expiresAt: number;
  release(): Promise<void>;
}

/** What a handler gets besides its input. */
export interface TaskContext {
  taskId: string;
  capability: string;
  agentId: string;
  /** 1 on the first attempt; retries of the same logical call count up (a workflow's too). */
  attempt: number;
  /** Tokens the task may use (its share of a workflow's budget), or undefined when unlimited. */
  maxTokens: number | undefined;
  /** The call's parameters (temperature, prompt suffix...). */
  params: Record<string, unknown>;
  /** The same on every attempt of one call: key side effects on it. */
  idempotencyKey: string;
  /**
   * Who asked, as the hub verified it (`spiffe://<domain>/caller/<name>`) on a secured hub;
   * undefined on a plaintext one. Log it, or refuse by it.
   */
  caller: string | undefined;
  /** Absolute deadline (Unix ms), if the call has one. */
  deadline: number | undefined;
  /** Aborted on cancellation, deadline, or loss of the hub; `signal.reason` says which. */
  signal: AbortSignal;
  /** Reports progress (fraction 0..1, or negative when unknown). */
  progress(fraction: number, message?: string): void;
  /** Adds token usage to the call's total. */
  reportUsage(usage: { tokens?: number; promptTokens?: number; completionTokens?: number }): void;
  /** A lock held until released, the task ends, or `ttl` ms pass. */
  lock(resource: string, options?: { ttl?: number; wait?: number }): Promise<AgentLease>;
  /** Publishes an event to every agent subscribed to the topic. */
  publish(topic: string, data: unknown): void;
}

/** A capability's implementation. Throw to fail; see {@link taskError} for retryability. */
export type Handler<I = unknown> = (input: I, ctx: TaskContext) => unknown;

/** Options of {@link createAgent}. */
export interface AgentOptions {
  /**
   * `host:port` of the hub, or several (`["h1:7070", "h2:7070"]` or `"h1:7070,h2:7070"`): the
   * agent connects to one and moves to the next when it is unreachable.
   */
  hub: string | string[];
  name: string;
  /** Mutual TLS with a secured hub (its CA, this agent's certificate and key). */
  tls?: ClientTls;
  /**
   * A one-time enrollment token (`clawhub hub enroll <name> --kind agent`): `start()` first
   * exchanges it for a certificate (see {@link enroll}) and then connects with mutual TLS.
   */
  enrollToken?: string;
  /** Stable across restarts lets the hub see a reconnect as the same agent. Default: random. */
  id?: string;
  labels?: Record<string, string>;
  /** Tasks the hub may queue for this agent beyond those running (default: the hub's). */
  queueLimit?: number;
  /**
   * Extra telemetry (KV-cache and VRAM use of a model server, tokens per second): read at
   * registration, with each heartbeat, when tasks start and end, and every 250 ms; sent whenever
   * it changes materially, so routing knows it from the first call.
   */
  telemetry?: () => Partial<
    Pick<
      WireTelemetry,
      "kvCacheUtilization" | "vramUsedBytes" | "vramTotalBytes" | "queueDepth" | "tokensPerSecond"
    >
  >;
  /** Reconnect backoff: first delay and cap, in ms (default 100 and 5000), ±20% jitter. */
  reconnect?: { initialMs?: number; maxMs?: number };
  /** Drain and stop on SIGTERM and SIGINT (default true). */
  handleSignals?: boolean;
  /** How long `stop()` waits for running tasks before aborting them (default 30 s). */
  drainTimeoutMs?: number;
  logger?: (line: string) => void;
  /**
   * Called when the agent stops on its own: another connection of its identity (or agent id)
   * replaced it (CONFLICT). It does not reconnect then: two processes must not share one.
   */
  onStopped?: (reason: ClawHubError) => void;
}

/** A connected (or connecting) agent. */
export interface Agent {
  readonly id: string;
  /** Adds a capability; call before `start()`. */
  capability<I = unknown>(spec: CapabilitySpec, handler: Handler<I>): Agent;
  /**
   * Receives events published on topics matching `topic` (`*` one token, final `>` the rest),
   * with who published each (an identity on a secured hub, else an agent id). On a secured hub
   * topics are the identity's own unless under `shared.`.
   */
  subscribe(
    topic: string,
    handler: (data: unknown, topic: string, publisher: string) => void,
  ): () => void;
  publish(topic: string, data: unknown): void;
  /** Connects and registers; resolves once registered, retries while the hub is unreachable. */
  start(): Promise<void>;
  /** Drains: no new tasks, running ones finish (up to drainTimeoutMs), then disconnects. */
  stop(): Promise<void>;
  /** Tasks running now. */
  readonly inFlight: number;
  readonly connected: boolean;
}

/**
 * A task failure of a type the caller sees (`error.failure.type`), and whether another attempt
 * (on another agent) may succeed: `retryable: true`, or `nonRetryable: false`. Default: not
 * retryable (a declared failure is usually the answer). Thrown errors of any other kind are
 * retried, except ClawHub usage and input errors.
 */
export function taskError(
  type: string,
  message: string,
  options: { retryable?: boolean; nonRetryable?: boolean; details?: Record<string, unknown> } = {},
): ClawHubError {
  const nonRetryable =
    options.nonRetryable ?? (options.retryable === undefined ? true : !options.retryable);
  return taskFailedError(taskFailure(type, message, { nonRetryable, details: options.details }));
}

/** The failure a handler's throw means (ClawHub usage and input errors are never retried). */
function handlerFailure(thrown: unknown): TaskFailure {
  const f = failureOf(thrown);
  if (
    isClawHubError(thrown) &&
    !thrown.failure &&
    (thrown.category === "usage" || thrown.category === "user")
  )
    return { ...f, nonRetryable: true };
  return f;
}

/** Telemetry differs materially: a count changed, or a ratio moved by 5 points or more. */
function materiallyDifferent(a: WireTelemetry, b: WireTelemetry): boolean {
  const ratio = (used: number, total: number) => (total > 0 ? used / total : 0);
  return (
    a.inFlight !== b.inFlight ||
    a.queueDepth !== b.queueDepth ||
    Math.abs(a.kvCacheUtilization - b.kvCacheUtilization) >= 0.05 ||
    Math.abs(ratio(a.vramUsedBytes, a.vramTotalBytes) - ratio(b.vramUsedBytes, b.vramTotalBytes)) >=
      0.05 ||
    Math.abs(a.tokensPerSecond - b.tokensPerSecond) >= Math.max(1, 0.1 * b.tokensPerSecond)
  );
}

const SDK_VERSION = "0.1.0";
/** How often the telemetry callback is read between heartbeats. */
const TELEMETRY_POLL_MS = 250;

interface Running {
  /** Aborts the task's signal (made on first use) with a reason; the first reason stays. */
  abort(reason: ClawHubError): void;
  /** Why it was aborted, if it was. */
  reason: ClawHubError | undefined;
  timer: NodeJS.Timeout | undefined;
  leases: Set<AgentLease>;
}

/**
 * Creates an agent: declare capabilities, then `start()`. Tasks arrive on one bidirectional
 * gRPC stream (frames batched per turn of the event loop); the agent reconnects with the shared
 * retry policy (exponential backoff, jitter), moving through the hub addresses it was given, and
 * re-registers and re-subscribes whenever the stream drops; it drains on SIGTERM.
 */
export function createAgent(options: AgentOptions): Agent {
  // On a secured hub an agent's id is its identity's name (the hub binds the two): taken from
  // the certificate, or from enrollment, unless given.
  let id = options.id ?? identityName(options.tls?.certPem) ?? randomUUID();
  const log = options.logger ?? (() => {});
  const capabilities = new Map<string, { spec: CapabilitySpec; handler: Handler<unknown> }>();
  const subscriptions = new Map<
    string,
    Set<(data: unknown, topic: string, publisher: string) => void>
  >();
  const running = new Map<string, Running>();
  const pendingLocks = new Map<
    string,
    { resolve(l: AgentLease): void; reject(e: Error): void; resource: string }
  >();
  const reconnectPolicy = retryPolicy({
    initialIntervalMs: options.reconnect?.initialMs ?? 100,
    maximumIntervalMs: Math.max(
      options.reconnect?.initialMs ?? 100,
      options.reconnect?.maxMs ?? 5000,
    ),
    backoffCoefficient: 2,
    maximumAttempts: 0,
    jitter: 0.2,
  });
  const addresses = hubAddresses(options.hub);
  if (addresses.length === 0) throw new ClawHubError("USAGE", "createAgent needs a hub address");
  let addressIndex = 0;
  const { AgentService } = hubProtocol();
  let client: grpc.Client | undefined;
  let stream: grpc.ClientDuplexStream<AgentMessage, HubMessage> | undefined;
  let registered = false;
  let stopping = false;
  let stopped = false;
  let heartbeat: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  let tokens: Array<{ at: number; tokens: number }> = [];
  let sentTelemetry: WireTelemetry | undefined;
  let firstRegistration: { resolve(): void; reject(e: Error): void } | undefined;
  let batcher: Batcher<AgentMessage> | undefined;

  const send = (message: AgentMessage) => {
    if (!stream || !registered || !batcher) return false;
    batcher.push(message);
    return true;
  };

  const telemetry = (): WireTelemetry => {
    const cutoff = Date.now() - 10_000;
    if (tokens.length > 0 && (tokens[0] as { at: number }).at < cutoff)
      tokens = tokens.filter((t) => t.at >= cutoff);
    let extra: ReturnType<NonNullable<AgentOptions["telemetry"]>> = {};
    try {
      extra = options.telemetry?.() ?? {};
    } catch (error) {
      log(`agent ${options.name}: telemetry callback threw: ${(error as Error).message}`);
    }
    return {
      inFlight: running.size,
      queueDepth: extra.queueDepth ?? 0,
      kvCacheUtilization: extra.kvCacheUtilization ?? 0,
      vramUsedBytes: extra.vramUsedBytes ?? 0,
      vramTotalBytes: extra.vramTotalBytes ?? 0,
      tokensPerSecond: extra.tokensPerSecond ?? tokens.reduce((a, t) => a + t.tokens, 0) / 10,
    };
  };

  /** Sends telemetry now if it changed materially since it was last sent. */
  const reportTelemetry = () => {
    if (!registered) return;
    const now = telemetry();
    if (sentTelemetry && !materiallyDifferent(now, sentTelemetry)) return;
    sentTelemetry = now;
    send({ kind: "telemetry", telemetry: now });
  };

  const onSignal = () => {
    log(`agent ${options.name}: draining on signal`);
    agent.stop().catch(() => {});
  };

  // A copy: renewal replaces the certificate in it (keepRenewed).
  let tls = options.tls ? { ...options.tls } : undefined;
  let signer = tls ? createSigner(tls.keyPem) : undefined;
  let renewer: { stop(): void } | undefined;
  const renewing = (identity: ClientTls) =>
    keepRenewed(addresses, identity, {
      log: (line) => log(`agent ${options.name}: ${line}`),
    });
  let started = false;

  function connect(): void {
    if (stopped) return;
    const address = addresses[addressIndex % addresses.length] as string;
    client = new AgentService(address, channelCredentials(tls), channelOptions(Boolean(tls)));
    const s = (
      client as unknown as { Connect(): grpc.ClientDuplexStream<AgentMessage, HubMessage> }
    ).Connect();
    stream = s;
    registered = false;
    batcher = createStreamBatcher<AgentMessage>(
      s,
      (messages) => ({ kind: "batch", batch: { messages } }),
      () => stream === s,
      (m) => (m.kind === "result" ? payloadBytes(m.result.output) : 0),
    );
    sentTelemetry = telemetry();
    s.write({
      kind: "register",
      register: {
        agentId: id,
        name: options.name,
        labels: options.labels ?? {},
        capabilities: [...capabilities.values()].map(({ spec }) => ({
          name: spec.name,
          description: spec.description,
          inputSchema: spec.input === undefined ? "" : JSON.stringify(spec.input),
          outputSchema: spec.output === undefined ? "" : JSON.stringify(spec.output),
          maxConcurrency: spec.maxConcurrency ?? 1,
          contextLimit: spec.contextLimit ?? 0,
          timeoutMs: spec.timeoutMs ?? 0,
        })),
        sdkVersion: SDK_VERSION,
        queueLimit: options.queueLimit ?? 0,
        telemetry: sentTelemetry,
      },
    });
    s.on("data", (message: HubMessage) => onMessage(message, 0));
    let ended = false;
    const lost = (error?: unknown) => {
      if (ended || stream !== s) return;
      ended = true;
      disconnected(address, error);
    };
    s.on("error", lost);
    s.on("end", () => lost());
    s.on("status", (status: grpc.StatusObject) => {
      if (status.code !== grpc.status.OK) lost(Object.assign(new Error(status.details), status));
      else lost();
    });
  }

  function disconnected(address: string, error?: unknown): void {
    const wasRegistered = registered;
    registered = false;
    stream = undefined;
    batcher?.clear();
    batcher = undefined;
    if (heartbeat) clearInterval(heartbeat);
    if (poll) clearInterval(poll);
    heartbeat = undefined;
    poll = undefined;
    client?.close();
    client = undefined;
    // Results of running tasks cannot reach the hub any more; it retries them elsewhere.
    for (const task of running.values())
      task.abort(new ClawHubError("UNAVAILABLE", "connection to the hub lost"));
    for (const pending of pendingLocks.values())
      pending.reject(new ClawHubError("UNAVAILABLE", "connection to the hub lost"));
    pendingLocks.clear();
    if (stopped) return;
    const e = error ? fromGrpcError(error, `a hub at ${address}`) : undefined;
    // A refusal of the registration itself will not pass by retrying (a schema over a limit
    // included: the author or the operator has to change something).
    if (
      !wasRegistered &&
      e &&
      (e.code === "INVALID_ARGUMENT" ||
        e.code === "UNAUTHENTICATED" ||
        e.code === "FORBIDDEN" ||
        e.code === "LIMIT_EXCEEDED")
    ) {
      stopped = true;
      firstRegistration?.reject(e);
      firstRegistration = undefined;
      return;
    }
    if (stopping) {
      stopped = true;
      return;
    }
    // Replaced by a newer connection of the same identity (or agent id): another process holds
    // it now. Reconnecting would evict that one in turn, forever; stop and say why.
    if (wasRegistered && e?.code === "CONFLICT") {
      stopped = true;
      log(`agent ${options.name}: ${e.message}; not reconnecting`);
      options.onStopped?.(e);
      return;
    }
    // The next hub of the list, if there are several: a lost node is replaced by another.
    if (!wasRegistered || addresses.length > 1) addressIndex++;
    failures = wasRegistered ? 1 : failures + 1;
    const wait = nextDelay(reconnectPolicy, failures, `${id}/${Math.random()}`) ?? 0;
    log(
      `agent ${options.name}: hub ${address} unreachable${e ? ` (${e.message})` : ""}; retrying in ${wait} ms`,
    );
    reconnectTimer = setTimeout(connect, wait);
  }

  function onMessage(message: HubMessage, depth: number): void {
    switch (message.kind) {
      case "batch":
        if (depth === 0) for (const m of message.batch.messages) onMessage(m, 1);
        return;
      case "registered": {
        registered = true;
        failures = 0;
        if (heartbeat) clearInterval(heartbeat);
        heartbeat = setInterval(
          () => {
            sentTelemetry = telemetry();
            send({ kind: "heartbeat", heartbeat: { telemetry: sentTelemetry } });
          },
          Math.max(50, message.registered.heartbeatIntervalMs || 2000),
        );
        heartbeat.unref();
        if (poll) clearInterval(poll);
        if (options.telemetry) {
          poll = setInterval(reportTelemetry, TELEMETRY_POLL_MS);
          poll.unref();
        }
        for (const topic of subscriptions.keys())
          send({ kind: "subscribe", subscribe: { topic, unsubscribe: false } });
        if (stopping) send({ kind: "drain", drain: {} });
        log(`agent ${options.name} (${id}) registered with hub ${message.registered.hubId}`);
        firstRegistration?.resolve();
        firstRegistration = undefined;
        return;
      }
      case "task":
        runTask(message.task);
        return;
      case "cancel":
        running
          .get(message.cancel.taskId)
          ?.abort(
            new ClawHubError(
              message.cancel.code === "DEADLINE_EXCEEDED" ? "DEADLINE_EXCEEDED" : "CANCELLED",
              message.cancel.reason || "cancelled by the hub",
            ),
          );
        return;
      case "lock": {
        const { requestId, token, expiresAtUnixMs, error } = message.lock;
        const pending = pendingLocks.get(requestId);
        if (!pending) return;
        pendingLocks.delete(requestId);
        const failure = failureFromWire(error);
        if (failure) {
          pending.reject(
            new ClawHubError(
              failure.type === "CONFLICT" ? "CONFLICT" : "INTERNAL",
              failure.message,
              {
                ...(failure.details ? { details: failure.details } : {}),
              },
            ),
          );
          return;
        }
        pending.resolve(makeLease(pending.resource, token, expiresAtUnixMs));
        return;
      }
      case "event": {
        const { topic, data } = message.event;
        const publisher = message.event.publisher ?? "";
        let value: unknown;
        let decoded = false;
        for (const [pattern, handlers] of subscriptions) {
          if (!subjectMatches(pattern, topic)) continue;
          // As the hub scopes them on a secured hub: `>` is this identity's own topics, shared
          // ones match only patterns that name `shared.`.
          if (tls && topic.startsWith("shared.") !== pattern.startsWith("shared.")) continue;
          if (!decoded) {
            value = decodePayload(data);
            decoded = true;
          }
          for (const handler of handlers) {
            try {
              handler(value, topic, publisher);
            } catch (error) {
              log(
                `agent ${options.name}: subscriber of ${topic} threw: ${(error as Error).message}`,
              );
            }
          }
        }
        return;
      }
    }
  }

  function makeLease(resource: string, token: number, expiresAt: number): AgentLease {
    let released = false;
    return {
      resource,
      token,
      expiresAt,
      async release() {
        if (released) return;
        released = true;
        send({ kind: "unlock", unlock: { resource, token } });
      },
    };
  }

  function requestLock(
    resource: string,
    ttlMs: number,
    waitMs: number,
    taskId: string,
  ): Promise<AgentLease> {
    return new Promise((resolve, reject) => {
      const requestId = randomUUID();
      pendingLocks.set(requestId, { resolve, reject, resource });
      if (!send({ kind: "lock", lock: { requestId, resource, ttlMs, waitMs, taskId } })) {
        pendingLocks.delete(requestId);
        reject(new ClawHubError("UNAVAILABLE", "not connected to the hub"));
      }
    });
  }

  function runTask(task: WireTask): void {
    const entry = capabilities.get(task.capability);
    // The signal, its AbortController and its deadline timer are made when the handler first
    // reads ctx.signal: most handlers never do, and a task costs less without them.
    let controller: AbortController | undefined;
    const state: Running = {
      reason: undefined,
      timer: undefined,
      leases: new Set(),
      abort(reason) {
        if (state.reason) return;
        state.reason = reason;
        controller?.abort(reason);
      },
    };
    const signal = () => {
      if (controller) return controller.signal;
      controller = new AbortController();
      if (state.reason) controller.abort(state.reason);
      else if (task.deadlineUnixMs > 0) {
        state.timer = setTimeout(
          () => state.abort(new ClawHubError("DEADLINE_EXCEEDED", "the task's deadline passed")),
          Math.max(0, task.deadlineUnixMs - Date.now()),
        );
        state.timer.unref();
      }
      return controller.signal;
    };
    running.set(task.taskId, state);
    if (options.telemetry) reportTelemetry();
    const pendingUsage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
    const ctx: TaskContext = {
      taskId: task.taskId,
      capability: task.capability,
      agentId: id,
      attempt: task.attempt,
      maxTokens: task.maxTokens > 0 ? task.maxTokens : undefined,
      params: decodeJson<Record<string, unknown>>(task.paramsJson, {}),
      idempotencyKey: task.idempotencyKey,
      caller: task.caller || undefined,
      deadline: task.deadlineUnixMs > 0 ? task.deadlineUnixMs : undefined,
      get signal() {
        return signal();
      },
      progress(fraction, message = "") {
        send({ kind: "progress", progress: { taskId: task.taskId, fraction, message } });
      },
      reportUsage(usage) {
        const prompt = usage.promptTokens ?? 0;
        const completion = usage.completionTokens ?? 0;
        const total = usage.tokens ?? prompt + completion;
        pendingUsage.promptTokens += prompt;
        pendingUsage.completionTokens += completion;
        pendingUsage.totalTokens += total;
        tokens.push({ at: Date.now(), tokens: total });
      },
      async lock(resource, opts = {}) {
        const lease = await requestLock(resource, opts.ttl ?? 30_000, opts.wait ?? 0, task.taskId);
        state.leases.add(lease);
        return lease;
      },
      publish: (topic, data) => agent.publish(topic, data),
    };
    const done = (result: { output?: unknown; failure?: TaskFailure }) => {
      if (state.timer) clearTimeout(state.timer);
      running.delete(task.taskId);
      for (const lease of state.leases) lease.release().catch(() => {});
      // Lost the hub: the result cannot reach it (the hub retries the task elsewhere).
      if (state.reason?.code === "UNAVAILABLE") return;
      let output: ReturnType<typeof encodePayload> | null = null;
      // Output made after the deadline passed is not a success, whatever the handler returned.
      let failure =
        !result.failure && state.reason?.code === "DEADLINE_EXCEEDED"
          ? handlerFailure(state.reason)
          : result.failure;
      if (!failure) {
        try {
          output = encodePayload(result.output);
        } catch (e) {
          failure = taskFailure(
            "OUTPUT_INVALID",
            `output is not JSON-serialisable: ${(e as Error).message}`,
            { nonRetryable: true },
          );
        }
      }
      const reply = {
        taskId: task.taskId,
        output,
        failure: failure ? failureToWire(failure) : null,
        usage: pendingUsage,
      };
      send({
        kind: "result",
        // On a secured hub every result is signed with this agent's key: the hub refuses one
        // it cannot verify, so a caller never gets output nobody vouches for.
        result: signer
          ? { ...reply, signature: signer.sign(resultSignedFields(reply, null)) }
          : reply,
      });
      if (options.telemetry) reportTelemetry();
      if (stopping && running.size === 0) drained?.();
    };
    if (!entry) {
      done({
        failure: taskFailure("UNKNOWN_CAPABILITY", `agent does not serve ${task.capability}`),
      });
      return;
    }
    let input: unknown;
    try {
      input = decodePayload(task.input);
    } catch (e) {
      done({
        failure: taskFailure("INPUT_INVALID", (e as Error).message, { nonRetryable: true }),
      });
      return;
    }
    Promise.resolve()
      .then(() => entry.handler(input, ctx))
      .then(
        (output) => done({ output }),
        (thrown: unknown) => {
          const reason = state.reason;
          done({ failure: handlerFailure(reason ?? thrown) });
        },
      );
  }

  let drained: (() => void) | undefined;

  const agent: Agent = {
    get id() {
      return id;
    },
    get inFlight() {
      return running.size;
    },
    get connected() {
      return registered;
    },
    capability(spec, handler) {
      if (client) throw new ClawHubError("USAGE", "declare capabilities before start()");
      if (capabilities.has(spec.name))
        throw new ClawHubError("USAGE", `capability "${spec.name}" declared twice`);
      capabilities.set(spec.name, { spec, handler: handler as Handler<unknown> });
      return agent;
    },
    subscribe(topic, handler) {
      const set = subscriptions.get(topic) ?? new Set();
      if (!subscriptions.has(topic)) {
        subscriptions.set(topic, set);
        send({ kind: "subscribe", subscribe: { topic, unsubscribe: false } });
      }
      set.add(handler);
      return () => {
        set.delete(handler);
        if (set.size === 0) {
          subscriptions.delete(topic);
          send({ kind: "subscribe", subscribe: { topic, unsubscribe: true } });
        }
      };
    },
    publish(topic, data) {
      if (!send({ kind: "publish", publish: { topic, data: encodePayload(data) } }))
        throw new ClawHubError(
          "UNAVAILABLE",
          "not connected to the hub: the event was not published",
        );
    },
    start() {
      if (capabilities.size === 0)
        return Promise.reject(new ClawHubError("USAGE", "an agent needs at least one capability"));
      if (started || client || stopped)
        return Promise.reject(new ClawHubError("USAGE", "start() was already called"));
      started = true;
      if (options.handleSignals !== false) {
        process.once("SIGTERM", onSignal);
        process.once("SIGINT", onSignal);
      }
      return new Promise<void>((resolve, reject) => {
        firstRegistration = { resolve, reject };
        if (!options.enrollToken || tls) {
          if (tls) renewer = renewing(tls);
          connect();
          return;
        }
        enroll({ hub: addresses[0] as string, token: options.enrollToken }).then(
          (identity) => {
            tls = identity;
            signer = createSigner(identity.keyPem);
            renewer = renewing(identity);
            if (!options.id) id = identityName(identity.certPem) ?? id;
            connect();
          },
          (error: unknown) => {
            firstRegistration = undefined;
            process.off("SIGTERM", onSignal);
            process.off("SIGINT", onSignal);
            reject(error);
          },
        );
      });
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      renewer?.stop();
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      send({ kind: "drain", drain: {} });
      if (running.size > 0 && registered) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, options.drainTimeoutMs ?? 30_000).unref();
        });
      }
      for (const task of running.values())
        task.abort(new ClawHubError("CANCELLED", "the agent is stopping"));
      stopped = true;
      firstRegistration?.reject(
        new ClawHubError("CANCELLED", "the agent was stopped before it registered"),
      );
      firstRegistration = undefined;
      const s = stream;
      if (heartbeat) clearInterval(heartbeat);
      if (poll) clearInterval(poll);
      if (s) {
        // Let the last results flush before closing.
        batcher?.flush();
        await new Promise<void>((resolve) => {
          s.end();
          s.on("status", () => resolve());
          s.on("error", () => resolve());
          setTimeout(resolve, 1000).unref();
        });
      }
      registered = false;
      stream = undefined;
      client?.close();
      client = undefined;
    },
  };
  return agent;
}

/** The name of the SPIFFE identity a certificate carries (`.../agent/<name>`), if any. */
function identityName(certPem: string | undefined): string | undefined {
  if (!certPem) return undefined;
  try {
    const san = new X509Certificate(certPem).subjectAltName ?? "";
    return /URI:spiffe:\/\/[^/,\s]+\/agent\/([^,\s]+)/.exec(san)?.[1];
  } catch {
    return undefined;
  }
}
