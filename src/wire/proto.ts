import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
// The light build (reflection, no .proto parser): the bundle carries hub.proto as JSON.
import protobuf from "protobufjs/light.js";
import type { WirePayload } from "./payload.ts";
import type { WireTensor } from "./tensor.ts";

/**
 * The hub's protocol, loaded at run time from `proto/clawhub/hub/v1/hub.proto` (one source:
 * no generated code). The interfaces below mirror the messages as @grpc/proto-loader returns
 * them with the options used here: camelCase fields, enums as strings, 64-bit as numbers,
 * defaults filled in, `kind` naming the set oneof member.
 */

export interface WireCapability {
  name: string;
  description: string;
  inputSchema: string;
  outputSchema: string;
  maxConcurrency: number;
  contextLimit: number;
  timeoutMs: number;
}

export interface WireTelemetry {
  inFlight: number;
  queueDepth: number;
  kvCacheUtilization: number;
  vramUsedBytes: number;
  vramTotalBytes: number;
  tokensPerSecond: number;
}

export interface WireUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/** The proto's TaskFailure (details as JSON bytes; see `failureToWire`/`failureFromWire`). */
export interface WireTaskFailure {
  type: string;
  message: string;
  nonRetryable: boolean;
  detailsJson: Uint8Array;
}

export interface WireRegister {
  agentId: string;
  name: string;
  labels: Record<string, string>;
  capabilities: WireCapability[];
  sdkVersion: string;
  queueLimit: number;
  telemetry: WireTelemetry | null;
}

export interface WireHeartbeat {
  telemetry: WireTelemetry | null;
}

export interface WireTaskProgress {
  taskId: string;
  fraction: number;
  message: string;
}

export interface WireTaskResult {
  taskId: string;
  output: WirePayload | null;
  failure: WireTaskFailure | null;
  usage: WireUsage | null;
  /** Required by a secured hub (see docs/security.md). */
  signature?: WireSignature | null;
}

/** A sender's signature over a request (identity/signing.ts defines what it covers). */
export interface WireSignature {
  timeUnixMs: number;
  nonce: string;
  signature: Uint8Array;
}

export interface WireLockRequest {
  requestId: string;
  resource: string;
  ttlMs: number;
  waitMs: number;
  taskId: string;
}

export interface WireUnlockRequest {
  resource: string;
  token: number;
}

export interface WirePublishRequest {
  topic: string;
  data: WirePayload | null;
}

export interface WireSubscribeRequest {
  topic: string;
  unsubscribe: boolean;
}

export type AgentMessage =
  | { kind: "register"; register: WireRegister }
  | { kind: "heartbeat"; heartbeat: WireHeartbeat }
  | { kind: "progress"; progress: WireTaskProgress }
  | { kind: "result"; result: WireTaskResult }
  | { kind: "lock"; lock: WireLockRequest }
  | { kind: "unlock"; unlock: WireUnlockRequest }
  | { kind: "publish"; publish: WirePublishRequest }
  | { kind: "subscribe"; subscribe: WireSubscribeRequest }
  | { kind: "drain"; drain: Record<string, never> }
  | { kind: "telemetry"; telemetry: WireTelemetry }
  | { kind: "batch"; batch: { messages: AgentMessage[] } };

export interface WireTask {
  taskId: string;
  capability: string;
  input: WirePayload | null;
  deadlineUnixMs: number;
  attempt: number;
  paramsJson: Uint8Array;
  idempotencyKey: string;
  maxTokens: number;
  /** The caller's identity on a secured hub. */
  caller?: string;
}

export interface WireRegistered {
  agentId: string;
  hubId: string;
  heartbeatIntervalMs: number;
}

export interface WireCancel {
  taskId: string;
  reason: string;
  /** DEADLINE_EXCEEDED or CANCELLED (empty from older hubs: CANCELLED). */
  code?: string;
}

export interface WireLockResponse {
  requestId: string;
  token: number;
  expiresAtUnixMs: number;
  error: WireTaskFailure | null;
}

export interface WireTopicEvent {
  topic: string;
  data: WirePayload | null;
  /** Who published it (an identity URI on a secured hub, else an agent id). */
  publisher?: string;
}

export type HubMessage =
  | { kind: "registered"; registered: WireRegistered }
  | { kind: "task"; task: WireTask }
  | { kind: "cancel"; cancel: WireCancel }
  | { kind: "lock"; lock: WireLockResponse }
  | { kind: "event"; event: WireTopicEvent }
  | { kind: "batch"; batch: { messages: HubMessage[] } };

export interface WireCallRequest {
  capability: string;
  query: string;
  input: WirePayload | null;
  labels: Record<string, string>;
  paramsJson: Uint8Array;
  idempotencyKey: string;
  maxAttempts: number;
  session: string;
  minSimilarity: number;
  attemptTimeoutMs: number;
  /** Required by a secured hub. */
  signature?: WireSignature | null;
}

export interface WireCallResponse {
  output: WirePayload | null;
  taskId: string;
  agentId: string;
  capability: string;
  attempts: number;
  usage: WireUsage | null;
}

export interface WireStreamCall {
  id: number;
  request: WireCallRequest | null;
  timeoutMs: number;
  progress: boolean;
}

export type CallerFrame =
  | { kind: "call"; call: WireStreamCall }
  | { kind: "cancel"; cancel: { id: number } }
  | { kind: "batch"; batch: { frames: CallerFrame[] } };

export interface WireCallError {
  code: string;
  message: string;
  hint: string;
  detailsJson: Uint8Array;
  failure: WireTaskFailure | null;
}

export interface WireStreamResult {
  id: number;
  response: WireCallResponse | null;
  error: WireCallError | null;
}

export interface WireStreamProgress {
  id: number;
  fraction: number;
  message: string;
  agentId: string;
}

export type CallerReply =
  | { kind: "result"; result: WireStreamResult }
  | { kind: "progress"; progress: WireStreamProgress }
  | { kind: "batch"; batch: { replies: CallerReply[] } };

export interface WireCapabilityMatch {
  capability: WireCapability;
  score: number;
  similarity: number;
  agentIds: string[];
}

export interface WireAgentInfo {
  agentId: string;
  name: string;
  labels: Record<string, string>;
  capabilities: WireCapability[];
  telemetry: WireTelemetry | null;
  inFlight: number;
  queued: number;
  connectedAtUnixMs: number;
  lastHeartbeatUnixMs: number;
  draining: boolean;
}

export interface WireHubEvent {
  kind: string;
  atUnixMs: number;
  json: Uint8Array;
}

export interface WireNodeView {
  id: string;
  status: string;
  attempts: number;
  items: number;
  usedFallback: boolean;
  outputJson: Uint8Array;
  error: WireTaskFailure | null;
  agents: string[];
  startedAtUnixMs: number;
  endedAtUnixMs: number;
}

export interface WireRunView {
  runId: string;
  name: string;
  status: string;
  inputsJson: Uint8Array;
  startedAtUnixMs: number;
  endedAtUnixMs: number;
  tokens: number;
  reason: string;
  outputsJson: Uint8Array;
  nodes: WireNodeView[];
}

export interface WireRunSummary {
  runId: string;
  name: string;
  status: string;
  createdAtUnixMs: number;
  endedAtUnixMs: number;
}

export interface WireListRunsRequest {
  limit: number;
  pageToken: string;
}

export interface WireListRunsResponse {
  runs: WireRunSummary[];
  nextPageToken: string;
}

export interface WireFlowRequest {
  specJson: Uint8Array;
  inputsJson: Uint8Array;
}

export interface WireValidateFlowResponse {
  name: string;
  nodes: number;
}

export interface WireRunRequest {
  runId: string;
}

export interface WireEnrollResponse {
  certificatePem: string;
  caPem: string;
  identity: string;
  notAfterUnixMs: number;
  roles: string[];
  labels: Record<string, string>;
  trustDomain: string;
}

export interface WireEnrollRequest {
  token: string;
  csrPem: string;
}

export interface WireRenewRequest {
  csrPem: string;
}

export interface WireCreateEnrollmentResponse {
  token: string;
  identity: string;
  expiresAtUnixMs: number;
}

export interface WireRevokeRequest {
  identity: string;
}

export interface WireRevokeResponse {
  sessionsEnded: number;
}

export interface WireAuditLogRequest {
  export: boolean;
  sinceUnixMs: number;
  identity: string;
  capability: string;
}

export interface WireAuditLine {
  json: string;
}

export interface WireWhoAmIResponse {
  identity: string;
  roles: string[];
  labels: Record<string, string>;
  notAfterUnixMs: number;
}

export interface WireIdentityInfo {
  identity: string;
  kind: string;
  roles: string[];
  labels: Record<string, string>;
  status: string;
  notAfterUnixMs: number;
  sinceUnixMs: number;
}

export interface WireListIdentitiesResponse {
  identities: WireIdentityInfo[];
}

export interface WireCreateEnrollmentRequest {
  name: string;
  kind: string;
  roles: string[];
  labels: Record<string, string>;
  tokenTtlMs: number;
  certTtlMs: number;
  uses: number;
  capabilities: string[];
}

export type { WirePayload, WireTensor };

function protoPath(): string {
  // src/wire/proto.ts and dist/wire/proto.js both sit two levels under the package root.
  const path = fileURLToPath(new URL("../../proto/clawhub/hub/v1/hub.proto", import.meta.url));
  if (!existsSync(path)) throw new Error(`hub protocol definition missing: ${path}`);
  return path;
}

type ServiceCtor = grpc.ServiceClientConstructor;

/** The loaded services: constructors for clients and definitions for the server. */
export interface HubProtocol {
  AgentService: ServiceCtor;
  CallerService: ServiceCtor;
  WorkflowService: ServiceCtor;
  IdentityService: ServiceCtor;
}

let loaded: HubProtocol | undefined;

/** How decoded messages look (see the interfaces above): proto-loader's conventions. */
const TO_OBJECT: protobuf.IConversionOptions = {
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  arrays: true,
  objects: true,
};

/**
 * A grpc-js service definition straight from protobufjs reflection: the serialisers that
 * @grpc/proto-loader would build, without the descriptor protos it also generates (most of a
 * CLI start's time) and that nothing here uses.
 */
function serviceDefinition(service: protobuf.Service): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const serialize = (type: protobuf.Type) => (value: unknown) =>
    Buffer.from(type.encode(type.fromObject(value as Record<string, unknown>)).finish());
  const deserialize = (type: protobuf.Type) => (bytes: Buffer) =>
    type.toObject(type.decode(bytes), TO_OBJECT);
  for (const method of service.methodsArray) {
    method.resolve();
    const req = method.resolvedRequestType as protobuf.Type;
    const res = method.resolvedResponseType as protobuf.Type;
    definition[method.name] = {
      path: `/${service.fullName.replace(/^\./, "")}/${method.name}`,
      requestStream: Boolean(method.requestStream),
      responseStream: Boolean(method.responseStream),
      requestSerialize: serialize(req),
      requestDeserialize: deserialize(req),
      responseSerialize: serialize(res),
      responseDeserialize: deserialize(res),
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    };
  }
  return definition as grpc.ServiceDefinition;
}

/**
 * The bundled CLI (scripts/build.ts) carries hub.proto as protobufjs JSON, made from the file at
 * build time: the same definition, without parsing its text at every start.
 */
declare const __CLAWHUB_HUB_PROTO_JSON__: string | undefined;

/** Loads the protocol once per process. */
export function hubProtocol(): HubProtocol {
  if (loaded) return loaded;
  const bundled =
    typeof __CLAWHUB_HUB_PROTO_JSON__ === "string" ? __CLAWHUB_HUB_PROTO_JSON__ : undefined;
  // From sources, the full build parses the .proto file (required here, so bundles leave it out).
  const root = bundled
    ? protobuf.Root.fromJSON(JSON.parse(bundled) as protobuf.INamespace)
    : (createRequire(import.meta.url)("protobufjs") as typeof protobuf).loadSync(protoPath());
  // Each service is built when first used: a CLI command needs one, not three.
  const built = new Map<string, ServiceCtor>();
  const ctor = (name: string) => {
    let c = built.get(name);
    if (!c) {
      const service = root.lookupService(`clawhub.hub.v1.${name}`);
      c = grpc.makeGenericClientConstructor(serviceDefinition(service), name);
      built.set(name, c);
    }
    return c;
  };
  const protocol = {
    get AgentService() {
      return ctor("AgentService");
    },
    get CallerService() {
      return ctor("CallerService");
    },
    get WorkflowService() {
      return ctor("WorkflowService");
    },
    get IdentityService() {
      return ctor("IdentityService");
    },
  };
  loaded = protocol;
  return protocol;
}

/**
 * Channel options shared by hub and clients: large messages (tensors), keepalive so a dead peer
 * is noticed within seconds even when the stream is idle.
 */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
  "grpc.max_send_message_length": 64 * 1024 * 1024,
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 5_000,
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.http2.min_ping_interval_without_data_ms": 5_000,
};

/** Normalises `host:port`, `http://host:port` or a bare port to grpc-js's `host:port`. */
export function hubAddress(hub: string): string {
  const trimmed = hub
    .trim()
    .replace(/^(grpcs?|https?):\/\//, "")
    .replace(/\/+$/, "");
  if (/^\d+$/.test(trimmed)) return `127.0.0.1:${trimmed}`;
  return trimmed;
}

/** Hub addresses from a list or a comma-separated string (`h1:7070,h2:7070`), normalised. */
export function hubAddresses(hub: string | readonly string[]): string[] {
  const list = typeof hub === "string" ? hub.split(",") : hub;
  return list
    .map((h) => h.trim())
    .filter(Boolean)
    .map(hubAddress);
}
