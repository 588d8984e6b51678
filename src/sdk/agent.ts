import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { subjectMatches } from "../control-plane/index.ts";
import { ClawHubError, isClawHubError } from "../errors/index.ts";
import {
  type AgentMessage,
  CHANNEL_OPTIONS,
  decodeJson,
  decodePayload,
  encodePayload,
  fromGrpcError,
  type HubMessage,
  hubAddress,
  hubProtocol,
  type WireTask,
  type WireTelemetry,
} from "../wire/index.ts";

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
  /** Largest input it takes, in tokens (workflows split bigger inputs). */
  contextLimit?: number;
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
  /** 1 on the first attempt; retries of the same call count up. */
  attempt: number;
  /** The call's parameters (temperature, prompt suffix...). */
  params: Record<string, unknown>;
  /** The same on every attempt of one call: key side effects on it. */
  idempotencyKey: string;
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
  /** `host:port` of the hub. */
  hub: string;
  name: string;
  /** Stable across restarts lets the hub see a reconnect as the same agent. Default: random. */
  id?: string;
  labels?: Record<string, string>;
  /** Tasks the hub may queue for this agent beyond those running (default: the hub's). */
  queueLimit?: number;
  /** Extra telemetry sent with each heartbeat (KV-cache and VRAM use of a model server). */
  telemetry?: () => Partial<
    Pick<WireTelemetry, "kvCacheUtilization" | "vramUsedBytes" | "vramTotalBytes" | "queueDepth">
  >;
  /** Reconnect backoff: first delay and cap, in ms (default 100 and 5000). */
  reconnect?: { initialMs?: number; maxMs?: number };
  /** Drain and stop on SIGTERM and SIGINT (default true). */
  handleSignals?: boolean;
  /** How long `stop()` waits for running tasks before aborting them (default 30 s). */
  drainTimeoutMs?: number;
  logger?: (line: string) => void;
}

/** A connected (or connecting) agent. */
export interface Agent {
  readonly id: string;
  /** Adds a capability; call before `start()`. */
  capability<I = unknown>(spec: CapabilitySpec, handler: Handler<I>): Agent;
  /** Receives events published on topics matching `topic` (`*` one token, final `>` the rest). */
  subscribe(topic: string, handler: (data: unknown, topic: string) => void): () => void;
  publish(topic: string, data: unknown): void;
  /** Connects and registers; resolves once registered, retries while the hub is unreachable. */
  start(): Promise<void>;
  /** Drains: no new tasks, running ones finish (up to drainTimeoutMs), then disconnects. */
  stop(): Promise<void>;
  /** Tasks running now. */
  readonly inFlight: number;
  readonly connected: boolean;
}

/** A task failure with a code and whether another attempt (on another agent) may succeed. */
export function taskError(
  code: string,
  message: string,
  options: { retryable?: boolean } = {},
): Error & { code: string; retryable: boolean } {
  return Object.assign(new Error(message), { code, retryable: options.retryable ?? false });
}

const SDK_VERSION = "0.1.0";

interface Running {
  controller: AbortController;
  timer: NodeJS.Timeout | undefined;
  leases: Set<AgentLease>;
}

/**
 * Creates an agent: declare capabilities, then `start()`. Tasks arrive on one bidirectional
 * gRPC stream; the agent reconnects with exponential backoff (and re-registers, re-subscribes)
 * whenever the stream drops, and drains on SIGTERM.
 */
export function createAgent(options: AgentOptions): Agent {
  const id = options.id ?? randomUUID();
  const log = options.logger ?? (() => {});
  const capabilities = new Map<string, { spec: CapabilitySpec; handler: Handler<unknown> }>();
  const subscriptions = new Map<string, Set<(data: unknown, topic: string) => void>>();
  const running = new Map<string, Running>();
  const pendingLocks = new Map<
    string,
    { resolve(l: AgentLease): void; reject(e: Error): void; resource: string }
  >();
  const initialMs = options.reconnect?.initialMs ?? 100;
  const maxMs = options.reconnect?.maxMs ?? 5000;
  const address = hubAddress(options.hub);
  const { AgentService } = hubProtocol();
  let client: grpc.Client | undefined;
  let stream: grpc.ClientDuplexStream<AgentMessage, HubMessage> | undefined;
  let registered = false;
  let stopping = false;
  let stopped = false;
  let heartbeat: NodeJS.Timeout | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let delay = initialMs;
  let tokens: Array<{ at: number; tokens: number }> = [];
  let firstRegistration: { resolve(): void; reject(e: Error): void } | undefined;

  const send = (message: AgentMessage) => {
    if (!stream || !registered) return false;
    stream.write(message);
    return true;
  };

  const telemetry = (): WireTelemetry => {
    const cutoff = Date.now() - 10_000;
    tokens = tokens.filter((t) => t.at >= cutoff);
    const extra = options.telemetry?.() ?? {};
    return {
      inFlight: running.size,
      queueDepth: extra.queueDepth ?? 0,
      kvCacheUtilization: extra.kvCacheUtilization ?? 0,
      vramUsedBytes: extra.vramUsedBytes ?? 0,
      vramTotalBytes: extra.vramTotalBytes ?? 0,
      tokensPerSecond: tokens.reduce((a, t) => a + t.tokens, 0) / 10,
    };
  };

  const onSignal = () => {
    log(`agent ${options.name}: draining on signal`);
    agent.stop().catch(() => {});
  };

  function connect(): void {
    if (stopped) return;
    client = new AgentService(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    const s = (
      client as unknown as { Connect(): grpc.ClientDuplexStream<AgentMessage, HubMessage> }
    ).Connect();
    stream = s;
    registered = false;
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
        })),
        sdkVersion: SDK_VERSION,
        queueLimit: options.queueLimit ?? 0,
      },
    } as AgentMessage);
    s.on("data", (message: HubMessage) => onMessage(message));
    let ended = false;
    const lost = (error?: unknown) => {
      if (ended || stream !== s) return;
      ended = true;
      disconnected(error);
    };
    s.on("error", lost);
    s.on("end", () => lost());
    s.on("status", (status: grpc.StatusObject) => {
      if (status.code !== grpc.status.OK) lost(Object.assign(new Error(status.details), status));
      else lost();
    });
  }

  function disconnected(error?: unknown): void {
    const wasRegistered = registered;
    registered = false;
    stream = undefined;
    if (heartbeat) clearInterval(heartbeat);
    heartbeat = undefined;
    client?.close();
    client = undefined;
    // Results of running tasks cannot reach the hub any more; it retries them elsewhere.
    for (const task of running.values())
      task.controller.abort(new ClawHubError("UNAVAILABLE", "connection to the hub lost"));
    for (const pending of pendingLocks.values())
      pending.reject(new ClawHubError("UNAVAILABLE", "connection to the hub lost"));
    pendingLocks.clear();
    if (stopped) return;
    const e = error ? fromGrpcError(error, `a hub at ${address}`) : undefined;
    // A refusal of the registration itself will not pass by retrying.
    if (
      !wasRegistered &&
      e &&
      (e.code === "INVALID_ARGUMENT" || e.code === "UNAUTHENTICATED" || e.code === "FORBIDDEN")
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
    const wait = Math.round(delay * (0.8 + Math.random() * 0.4));
    delay = Math.min(maxMs, delay * 2);
    log(
      `agent ${options.name}: hub ${address} unreachable${e ? ` (${e.message})` : ""}; retrying in ${wait} ms`,
    );
    reconnectTimer = setTimeout(connect, wait);
  }

  function onMessage(message: HubMessage): void {
    switch (message.kind) {
      case "registered": {
        registered = true;
        delay = initialMs;
        if (heartbeat) clearInterval(heartbeat);
        heartbeat = setInterval(
          () => send({ kind: "heartbeat", heartbeat: { telemetry: telemetry() } }),
          Math.max(50, message.registered.heartbeatIntervalMs || 2000),
        );
        heartbeat.unref();
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
          ?.controller.abort(
            new ClawHubError("CANCELLED", message.cancel.reason || "cancelled by the hub"),
          );
        return;
      case "lock": {
        const { requestId, token, expiresAtUnixMs, error } = message.lock;
        const pending = pendingLocks.get(requestId);
        if (!pending) return;
        pendingLocks.delete(requestId);
        if (error) {
          pending.reject(
            new ClawHubError(error.code === "CONFLICT" ? "CONFLICT" : "INTERNAL", error.message),
          );
          return;
        }
        pending.resolve(makeLease(pending.resource, token, expiresAtUnixMs));
        return;
      }
      case "event": {
        const { topic, data } = message.event;
        let value: unknown;
        let decoded = false;
        for (const [pattern, handlers] of subscriptions) {
          if (!subjectMatches(pattern, topic)) continue;
          if (!decoded) {
            value = decodePayload(data);
            decoded = true;
          }
          for (const handler of handlers) {
            try {
              handler(value, topic);
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
    const controller = new AbortController();
    const state: Running = { controller, timer: undefined, leases: new Set() };
    running.set(task.taskId, state);
    if (task.deadlineUnixMs > 0) {
      state.timer = setTimeout(
        () => controller.abort(new ClawHubError("DEADLINE_EXCEEDED", "the task's deadline passed")),
        Math.max(0, task.deadlineUnixMs - Date.now()),
      );
      state.timer.unref();
    }
    const ctx: TaskContext = {
      taskId: task.taskId,
      capability: task.capability,
      agentId: id,
      attempt: task.attempt,
      params: decodeJson<Record<string, unknown>>(task.paramsJson, {}),
      idempotencyKey: task.idempotencyKey,
      deadline: task.deadlineUnixMs > 0 ? task.deadlineUnixMs : undefined,
      signal: controller.signal,
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
    const pendingUsage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
    const done = (result: {
      output?: unknown;
      error?: { code: string; message: string; retryable: boolean };
    }) => {
      if (state.timer) clearTimeout(state.timer);
      running.delete(task.taskId);
      for (const lease of state.leases) lease.release().catch(() => {});
      if (
        controller.signal.aborted &&
        isClawHubError(controller.signal.reason) &&
        controller.signal.reason.code === "UNAVAILABLE"
      )
        return;
      let output: ReturnType<typeof encodePayload> | null = null;
      let error = result.error ?? null;
      if (!error) {
        try {
          output = encodePayload(result.output);
        } catch (e) {
          error = {
            code: "OUTPUT_INVALID",
            message: `output is not JSON-serialisable: ${(e as Error).message}`,
            retryable: false,
          };
        }
      }
      send({ kind: "result", result: { taskId: task.taskId, output, error, usage: pendingUsage } });
      if (stopping && running.size === 0) drained?.();
    };
    if (!entry) {
      done({
        error: {
          code: "UNKNOWN_CAPABILITY",
          message: `agent does not serve ${task.capability}`,
          retryable: true,
        },
      });
      return;
    }
    let input: unknown;
    try {
      input = decodePayload(task.input);
    } catch (e) {
      done({ error: { code: "INPUT_INVALID", message: (e as Error).message, retryable: false } });
      return;
    }
    Promise.resolve()
      .then(() => entry.handler(input, ctx))
      .then(
        (output) => done({ output }),
        (thrown: unknown) => {
          const reason = controller.signal.aborted ? controller.signal.reason : undefined;
          const e = (reason ?? thrown) as {
            code?: unknown;
            message?: unknown;
            retryable?: unknown;
          };
          const code = typeof e?.code === "string" ? e.code : "HANDLER_ERROR";
          // Unknown failures are worth another attempt elsewhere; declared ones say so themselves,
          // and input errors never are.
          const retryable =
            typeof e?.retryable === "boolean"
              ? e.retryable
              : !(isClawHubError(e) && (e.category === "usage" || e.category === "user"));
          done({ error: { code, message: String(e?.message ?? thrown), retryable } });
        },
      );
  }

  let drained: (() => void) | undefined;

  const agent: Agent = {
    id,
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
      if (client || stopped)
        return Promise.reject(new ClawHubError("USAGE", "start() was already called"));
      if (options.handleSignals !== false) {
        process.once("SIGTERM", onSignal);
        process.once("SIGINT", onSignal);
      }
      return new Promise<void>((resolve, reject) => {
        firstRegistration = { resolve, reject };
        connect();
      });
    },
    async stop() {
      if (stopping) return;
      stopping = true;
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
        task.controller.abort(new ClawHubError("CANCELLED", "the agent is stopping"));
      stopped = true;
      firstRegistration?.reject(
        new ClawHubError("CANCELLED", "the agent was stopped before it registered"),
      );
      firstRegistration = undefined;
      const s = stream;
      if (heartbeat) clearInterval(heartbeat);
      if (s) {
        // Let the last results flush before closing.
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
