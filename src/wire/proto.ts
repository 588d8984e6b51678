import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
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

export interface WireTaskError {
  code: string;
  message: string;
  retryable: boolean;
}

export interface WireRegister {
  agentId: string;
  name: string;
  labels: Record<string, string>;
  capabilities: WireCapability[];
  sdkVersion: string;
  queueLimit: number;
}

export type AgentMessage =
  | { kind: "register"; register: WireRegister }
  | { kind: "heartbeat"; heartbeat: { telemetry: WireTelemetry | null } }
  | { kind: "progress"; progress: { taskId: string; fraction: number; message: string } }
  | {
      kind: "result";
      result: {
        taskId: string;
        output: WirePayload | null;
        error: WireTaskError | null;
        usage: WireUsage | null;
      };
    }
  | {
      kind: "lock";
      lock: { requestId: string; resource: string; ttlMs: number; waitMs: number; taskId: string };
    }
  | { kind: "unlock"; unlock: { resource: string; token: number } }
  | { kind: "publish"; publish: { topic: string; data: WirePayload | null } }
  | { kind: "subscribe"; subscribe: { topic: string; unsubscribe: boolean } }
  | { kind: "drain"; drain: Record<string, never> };

export interface WireTask {
  taskId: string;
  capability: string;
  input: WirePayload | null;
  deadlineUnixMs: number;
  attempt: number;
  paramsJson: Uint8Array;
  idempotencyKey: string;
}

export type HubMessage =
  | {
      kind: "registered";
      registered: { agentId: string; hubId: string; heartbeatIntervalMs: number };
    }
  | { kind: "task"; task: WireTask }
  | { kind: "cancel"; cancel: { taskId: string; reason: string } }
  | {
      kind: "lock";
      lock: {
        requestId: string;
        token: number;
        expiresAtUnixMs: number;
        error: WireTaskError | null;
      };
    }
  | { kind: "event"; event: { topic: string; data: WirePayload | null } };

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
}

export interface WireCallResponse {
  output: WirePayload | null;
  taskId: string;
  agentId: string;
  capability: string;
  attempts: number;
  usage: WireUsage | null;
}

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
}

let loaded: HubProtocol | undefined;

/** Loads the protocol once per process. */
export function hubProtocol(): HubProtocol {
  if (loaded) return loaded;
  const definition = protoLoader.loadSync(protoPath(), {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
    arrays: true,
    objects: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    clawhub: { hub: { v1: HubProtocol } };
  };
  loaded = pkg.clawhub.hub.v1;
  return loaded;
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
    .replace(/^(grpc|https?):\/\//, "")
    .replace(/\/+$/, "");
  if (/^\d+$/.test(trimmed)) return `127.0.0.1:${trimmed}`;
  return trimmed;
}
