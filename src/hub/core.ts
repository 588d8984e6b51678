/**
 * The hub without a transport: its rooms wired together, and `connect(channel)`, which turns
 * an AgentChannel into an endpoint the transport feeds with agent messages. Tests drive it with
 * in-memory channels; the gRPC services (grpc/) and, in a cluster, remote channels use the same.
 */
import { randomUUID } from "node:crypto";
import type { ControlPlane } from "../control-plane/index.ts";
import { ClawHubError, toClawHubError } from "../errors/index.ts";
import { createWorkPool, type WorkPool } from "../sandbox/index.ts";
import { subjectMatches } from "../schema/index.ts";
import type { Embedder } from "../search/index.ts";
import { type AgentMessage, DEFAULT_PEER_BUFFER_BYTES, type WireAgentInfo } from "../wire/index.ts";
import type { CapabilityInfo } from "../workflow/index.ts";
import { type Broker, createBroker } from "./broker.ts";
import { type Capabilities, type CapabilityMatch, createCapabilities } from "./capabilities.ts";
import { type CallInput, createDispatcher, type Dispatcher } from "./dispatcher.ts";
import { createLogLimiter } from "./log-limit.ts";
import { DEFAULT_ROUTING_WEIGHTS, type RoutingWeights } from "./routing.ts";
import { createSchemaCache } from "./schema.ts";
import { createSessions, type Sessions } from "./sessions.ts";
import type { AgentChannel, CallOutcome, HubConfig, HubContext, Session } from "./types.ts";

/** Settings of the hub core (every limit explicit; docs/hub.md lists the defaults). */
export interface HubCoreOptions {
  controlPlane: ControlPlane;
  /** Capabilities are found by meaning with it; without one, lexically only. */
  embedder?: Embedder | undefined;
  /** This node's name in agent records (default "local"). */
  node?: string;
  /** How often agents send heartbeats (told at registration). Default 2000 ms. */
  heartbeatIntervalMs?: number;
  /** An agent silent this long is dropped. Default 3 heartbeat intervals. */
  heartbeatTimeoutMs?: number;
  /** Tasks queued per agent beyond its running ones, unless the agent asks for fewer. Default 32. */
  queueLimit?: number;
  /** Deadline of calls that carry none. Default 5 minutes. */
  defaultTimeoutMs?: number;
  /** How long an attempt may go without a result or progress, unless the call or capability says. Default 60 s. */
  attemptTimeoutMs?: number;
  /** Attempts per call unless the call says otherwise (counting the first). Default 3. */
  maxAttempts?: number;
  /** Lowest similarity a capability needs to serve a call by query. Default 0.3. */
  minSimilarity?: number;
  /** A call by query routes only within this much similarity of the best match. Default 0.05. */
  routeMargin?: number;
  weights?: Partial<RoutingWeights>;
  /** Consecutive failures of one agent's capability that open its circuit, and for how long. */
  breaker?: { failures?: number; cooldownMs?: number };
  /** Input bytes held for unfinished calls: in all (default 256 MiB) and per agent (default 64 MiB). */
  maxQueuedBytes?: number;
  maxAgentQueuedBytes?: number;
  /**
   * Where untrusted CPU work runs (schema compilation): worker threads with a time and memory
   * budget per job. Default: a pool of its own, closed with the hub.
   */
  pool?: WorkPool;
  /**
   * Bytes the hub has written to one peer (agent, caller or event stream) that it has not read:
   * past this the peer is dropped as a slow consumer. Default 64 MiB.
   */
  maxPeerBufferBytes?: number;
  /** Largest topic event payload an agent may publish (default 1 MiB, NATS's max_payload). */
  maxEventBytes?: number;
  /** Compiled schema validators held in all (bytes of source; default 64 MiB). */
  maxSchemaBytes?: number;
  now?: () => number;
  newId?: () => string;
  logger?: (line: string) => void;
}

/** What a transport feeds with one agent's messages. */
export interface AgentEndpoint {
  receive(message: AgentMessage): void;
  /** The connection ended (the agent closed it, or the network lost it). */
  closed(reason: string): void;
}

/** The hub's in-process surface, below any transport. */
export interface HubCore {
  readonly id: string;
  readonly ctx: HubContext;
  readonly sessions: Sessions;
  readonly capabilities: Capabilities;
  readonly dispatcher: Dispatcher;
  readonly broker: Broker;
  /** Serves one agent connection. */
  connect(channel: AgentChannel): AgentEndpoint;
  call(input: CallInput): Promise<CallOutcome>;
  discover(query: string, options?: { limit?: number }): Promise<CapabilityMatch[]>;
  agents(): WireAgentInfo[];
  catalog(): Map<string, CapabilityInfo>;
  /** Registers interest in hub events matching a pattern (hot-path events are sent only then). */
  watchEvents(pattern: string): () => void;
  close(reason?: string): void;
}

/** Deepest batch nesting accepted (a batch of batches is already more than senders make). */
const MAX_BATCH_DEPTH = 1;
/** Most messages one batch may carry. */
const MAX_BATCH_MESSAGES = 4096;

export function createHubCore(options: HubCoreOptions): HubCore {
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 2000;
  const config: HubConfig = {
    hubId: (options.newId ?? randomUUID)(),
    node: options.node ?? "local",
    heartbeatIntervalMs,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 3 * heartbeatIntervalMs,
    queueLimit: options.queueLimit ?? 32,
    defaultTimeoutMs: options.defaultTimeoutMs ?? 300_000,
    attemptTimeoutMs: options.attemptTimeoutMs ?? 60_000,
    maxAttempts: options.maxAttempts ?? 3,
    minSimilarity: options.minSimilarity ?? 0.3,
    routeMargin: options.routeMargin ?? 0.05,
    weights: { ...DEFAULT_ROUTING_WEIGHTS, ...options.weights },
    breaker: {
      failures: options.breaker?.failures ?? 5,
      cooldownMs: options.breaker?.cooldownMs ?? 10_000,
    },
    maxQueuedBytes: options.maxQueuedBytes ?? 256 * 1024 * 1024,
    maxAgentQueuedBytes: options.maxAgentQueuedBytes ?? 64 * 1024 * 1024,
    maxPeerBufferBytes: options.maxPeerBufferBytes ?? DEFAULT_PEER_BUFFER_BYTES,
    maxEventBytes: options.maxEventBytes ?? 1024 * 1024,
  };
  const cp = options.controlPlane;
  const now = options.now ?? Date.now;
  const eventPatterns = new Map<string, number>();
  const pool = options.pool ?? createWorkPool();
  const log = options.logger ?? (() => {});
  const connectionLog = createLogLimiter({ write: log, now });
  const ctx: HubContext = {
    config,
    cp,
    now,
    newId: options.newId ?? randomUUID,
    log,
    logConnection: (kind, line) => connectionLog.log(kind, line),
    emit(kind, data) {
      cp.publish(`hub.events.${kind}`, { kind, at: now(), ...data }).catch(() => {});
    },
    wants(kind) {
      for (const pattern of eventPatterns.keys()) if (subjectMatches(pattern, kind)) return true;
      return false;
    },
    sessions: new Map<string, Session>(),
    schemas: createSchemaCache({
      pool,
      ...(options.maxSchemaBytes !== undefined ? { maxBytes: options.maxSchemaBytes } : {}),
    }),
    closing: false,
  };
  const capabilities = createCapabilities(ctx, { embedder: options.embedder });
  const broker = createBroker(ctx);
  const dispatcher = createDispatcher(ctx, {
    capabilities,
    onAttemptEnded: (session, attemptId) => broker.releaseTask(session, attemptId),
  });
  const sessions = createSessions(ctx, {
    onRegistered: (session) => capabilities.add(session),
    onGone(session, reason) {
      capabilities.remove(session);
      broker.releaseSession(session);
      dispatcher.lost(session, reason);
    },
  });

  function onMessage(session: Session, message: AgentMessage, depth: number): void {
    switch (message.kind) {
      case "heartbeat":
        sessions.heartbeat(session, message.heartbeat.telemetry);
        return;
      case "telemetry":
        sessions.telemetry(session, message.telemetry);
        return;
      case "result":
        dispatcher.onResult(session, message.result);
        return;
      case "progress":
        dispatcher.onProgress(
          session,
          message.progress.taskId,
          message.progress.fraction,
          message.progress.message,
        );
        return;
      case "lock":
        broker.lock(session, message.lock);
        return;
      case "unlock":
        broker.unlock(session, message.unlock.resource, message.unlock.token);
        return;
      case "publish":
        broker.publish(session, message.publish.topic, message.publish.data);
        return;
      case "subscribe":
        broker.subscribe(session, message.subscribe.topic, message.subscribe.unsubscribe);
        return;
      case "drain":
        dispatcher.drain(session);
        return;
      case "batch":
        if (depth >= MAX_BATCH_DEPTH) return;
        for (const m of message.batch.messages.slice(0, MAX_BATCH_MESSAGES)) {
          if (session.gone) return;
          onMessage(session, m, depth + 1);
        }
        return;
      case "register":
        return; // a second register on one stream is ignored
    }
  }

  return {
    id: config.hubId,
    ctx,
    sessions,
    capabilities,
    dispatcher,
    broker,
    connect(channel) {
      let session: Session | undefined;
      let ended = false;
      // Messages that arrive while the registration's schemas compile, handled after it in order
      // (bounded: an agent waits for `registered` before it sends much).
      let early: AgentMessage[] | undefined;
      const fail = (error: unknown) => {
        const e = toClawHubError(error);
        if (ended && e.code === "CANCELLED") return;
        ctx.logConnection("stream error", `hub: agent stream from ${channel.peer}: ${e.message}`);
        if (!session && !ended) {
          ended = true;
          early = undefined;
          channel.end(e);
        }
      };
      return {
        receive(message) {
          if (ended) return;
          try {
            if (early) {
              if (early.length >= MAX_BATCH_MESSAGES)
                throw new ClawHubError(
                  "LIMIT_EXCEEDED",
                  `more than ${MAX_BATCH_MESSAGES} messages before the registration was answered`,
                );
              early.push(message);
              return;
            }
            if (!session) {
              // A batch may carry the registration first (an SDK flushing one turn's messages).
              const first = message.kind === "batch" ? message.batch.messages[0] : message;
              if (first?.kind !== "register")
                throw new ClawHubError(
                  "INVALID_ARGUMENT",
                  "the first message of an agent stream must be register",
                );
              const queued: AgentMessage[] =
                message.kind === "batch" ? message.batch.messages.slice(1, MAX_BATCH_MESSAGES) : [];
              early = queued;
              sessions
                .register(channel, first.register, () => !ended)
                .then(
                  (registered) => {
                    ctx.audit?.({
                      kind: "agent.registered",
                      actor: channel.identity?.uri ?? registered.id,
                      outcome: "accepted",
                      details: {
                        agentId: registered.id,
                        capabilities: [...registered.capabilities.keys()].join(","),
                      },
                    });
                    session = registered;
                    early = undefined;
                    for (const m of queued) {
                      if (registered.gone) return;
                      onMessage(registered, m, 1);
                    }
                  },
                  (error: unknown) => {
                    ctx.audit?.({
                      kind: "agent.registered",
                      actor: channel.identity?.uri ?? (first.register.agentId || "unknown"),
                      outcome: "refused",
                      reason: toClawHubError(error).message,
                    });
                    fail(error);
                  },
                );
              return;
            }
            onMessage(session, message, 0);
          } catch (error) {
            fail(error);
          }
        },
        closed(reason) {
          ended = true;
          early = undefined;
          if (session) sessions.drop(session, reason);
        },
      };
    },
    call: (input) => dispatcher.call(input),
    discover: (query, opts) => capabilities.discover(query, opts),
    agents: () => sessions.list(),
    catalog: () => capabilities.catalog(),
    watchEvents(pattern) {
      eventPatterns.set(pattern, (eventPatterns.get(pattern) ?? 0) + 1);
      let stopped = false;
      return () => {
        if (stopped) return;
        stopped = true;
        const n = (eventPatterns.get(pattern) ?? 1) - 1;
        if (n <= 0) eventPatterns.delete(pattern);
        else eventPatterns.set(pattern, n);
      };
    },
    close(reason = "the hub is shutting down") {
      ctx.closing = true;
      capabilities.close();
      dispatcher.close(reason);
      sessions.close("hub shutting down");
      if (!options.pool) pool.close().catch(() => {});
      connectionLog.close();
    },
  };
}
