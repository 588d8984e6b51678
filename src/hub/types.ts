/**
 * The hub's shared types: what every room (sessions, capabilities, dispatcher, broker) reads and
 * writes, kept in one file so the rooms import it and never each other.
 */
import type { AuditEvent } from "../audit/index.ts";
import type { ControlPlane, Lease, Subscription } from "../control-plane/index.ts";
import type { ClawHubError } from "../errors/index.ts";
import type { Breaker } from "../resilience/index.ts";
import type {
  HubMessage,
  WireCapability,
  WirePayload,
  WireTelemetry,
  WireUsage,
} from "../wire/index.ts";
import type { RoutingWeights } from "./routing.ts";
import type { SchemaCache, SchemaProblem, Validator } from "./schema.ts";

/**
 * The hub's side of one agent connection, between the dispatcher and the transport (as nats.js
 * keeps its protocol apart from sockets): a gRPC stream, an in-memory pair in tests, or, in a
 * cluster, an agent connected to another hub node.
 */
export interface AgentChannel {
  /** Queues a message for the agent; the transport may batch what is sent in one turn. */
  send(message: HubMessage): void;
  /** Closes the connection from the hub's side; `error` tells the agent why (refusals). */
  end(error?: ClawHubError): void;
  /** What the transport knows of the peer, for logs. */
  readonly peer: string;
  /**
   * The peer's verified identity (mTLS: from its certificate, with what its enrollment attested);
   * absent on an insecure hub.
   */
  readonly identity?: PeerIdentity | undefined;
}

/** A peer as its certificate and enrollment prove it. */
export interface PeerIdentity {
  uri: string;
  kind: "agent" | "caller" | "hub";
  name: string;
  roles: readonly string[];
  /** Attested at enrollment; the only labels routing and policy see. */
  labels: Readonly<Record<string, string>>;
  /** Capability name patterns an agent may serve, attested at enrollment; absent or empty: any. */
  capabilities?: readonly string[];
}

/** One capability as one agent serves it. */
export interface CapabilityEntry {
  spec: WireCapability;
  validateInput: Validator;
  validateOutput: Validator;
  /** Frees the compiled schemas (when the agent goes). */
  release(): void;
  /** Tasks of this capability running on the agent (the hub's count). */
  running: number;
  /** The agent's circuit for this capability (src/resilience, cockatiel). */
  breaker: Breaker;
  /** EWMA of the observed time from dispatch to result, ms; 0 before the first result. */
  latencyMs: number;
  /** EWMA of failed attempts (errors and attempt timeouts), 0..1. */
  failureRate: number;
}

/** A connected agent. */
export interface Session {
  id: string;
  name: string;
  labels: Record<string, string>;
  capabilities: Map<string, CapabilityEntry>;
  channel: AgentChannel;
  queueLimit: number;
  telemetry: WireTelemetry;
  connectedAt: number;
  lastHeartbeat: number;
  lastDispatchAt: number;
  draining: boolean;
  /** Attempts sent to the agent and not yet answered, by attempt id. */
  running: Map<string, Attempt>;
  /** Attempts placed on the agent, waiting for a free slot. */
  queue: Attempt[];
  /** Input bytes of the attempts running on or queued for this agent. */
  heldBytes: number;
  leases: Map<string, { lease: Lease; taskId: string }>;
  subscriptions: Map<string, Subscription>;
  gone: boolean;
}

/** One attempt of a call on one agent. */
export interface Attempt {
  id: string;
  /** 1 on the first attempt of the logical call (a workflow's retries count too). */
  number: number;
  call: CallState;
  session: Session;
  capability: string;
  /** When it was sent to the agent (0 while queued). */
  sentAt: number;
  /** When the agent last showed it works on it (sent, or progress): the attempt timeout runs from here. */
  aliveAt: number;
  /** The last progress that moved it on (fraction and message), so a repeat is not news. */
  lastProgress: string | undefined;
  settle: ((outcome: "ok" | Error) => void) | undefined;
}

/** Progress of a call, as the agent reports it. */
export type ProgressListener = (progress: {
  fraction: number;
  message: string;
  agentId: string;
}) => void;

/** A call from admission to its result. */
export interface CallState {
  targets: Array<{ name: string; similarity: number }>;
  input: WirePayload;
  /** Bytes of `input` (JSON and tensors), counted against the byte limits. */
  bytes: number;
  inputValue: { parsed: boolean; value: unknown };
  /** Each input validator's answer for this input, kept across attempts (it cannot change). */
  checked: Map<Validator, SchemaProblem[]>;
  params: Uint8Array;
  idempotencyKey: string;
  labels: Record<string, string>;
  session: string;
  /** Who asked, on a secured hub. */
  caller: string | undefined;
  maxAttempts: number;
  /** Attempts before this call (a workflow's earlier attempts of the same step). */
  attemptBase: number;
  attempts: number;
  deadline: number;
  attemptTimeoutMs: number;
  maxTokens: number;
  tried: Set<string>;
  current: Attempt | undefined;
  usage: WireUsage;
  done: boolean;
  /** The call's one timer (deadline or attempt timeout, whichever comes first) and when it fires. */
  timer: NodeJS.Timeout | undefined;
  wakeAt: number;
  lastError: ClawHubError | undefined;
  onProgress: ProgressListener | undefined;
  resolve(outcome: CallOutcome): void;
  reject(error: ClawHubError): void;
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

/** The hub's settings, resolved once from its options (docs/hub.md lists the defaults). */
export interface HubConfig {
  hubId: string;
  /** This hub node's name: agent records in the control plane say which node holds them. */
  node: string;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  queueLimit: number;
  defaultTimeoutMs: number;
  attemptTimeoutMs: number;
  maxAttempts: number;
  minSimilarity: number;
  /** A call by meaning goes only to capabilities within this much similarity of the best. */
  routeMargin: number;
  weights: RoutingWeights;
  breaker: { failures: number; cooldownMs: number };
  /** Input bytes held for unfinished calls, in all and per agent. */
  maxQueuedBytes: number;
  maxAgentQueuedBytes: number;
  /** Unsent bytes one peer may have before it is dropped as a slow consumer. */
  maxPeerBufferBytes: number;
  /** Largest topic event payload relayed; larger ones are dropped and logged. */
  maxEventBytes: number;
}

/** What every room is given: settings, clock, ids, log, events and the shared state. */
export interface HubContext {
  config: HubConfig;
  cp: ControlPlane;
  now(): number;
  newId(): string;
  log(line: string): void;
  /** A line about a connection (rate-limited per kind: strangers can connect at will). */
  logConnection(kind: "connection" | "stream error", line: string): void;
  /** A hub event (`agent.connected`, `task.completed`...) for Events streams. */
  emit(kind: string, data: Record<string, unknown>): void;
  /** Whether anyone listens for events of this kind (hot-path events are skipped otherwise). */
  wants(kind: string): boolean;
  /** Appends to the audit trail (secured hubs). */
  audit?: ((event: AuditEvent) => void) | undefined;
  sessions: Map<string, Session>;
  schemas: SchemaCache;
  /** Set once the hub is closing: nothing new is accepted. */
  closing: boolean;
}
