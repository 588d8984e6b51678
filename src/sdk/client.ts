import * as grpc from "@grpc/grpc-js";
import { ClawHubError } from "../errors/index.ts";
import {
  CHANNEL_OPTIONS,
  decodePayload,
  encodeJson,
  encodePayload,
  fromGrpcError,
  hubAddress,
  hubProtocol,
  type WireAgentInfo,
  type WireCallRequest,
  type WireCallResponse,
  type WireCapabilityMatch,
  type WireHubEvent,
  type WireUsage,
} from "../wire/index.ts";

/** Options of {@link createHubClient}. */
export interface HubClientOptions {
  /** `host:port` of the hub (the CLI resolves `--hub` > `CLAWHUB_HUB` > config > 127.0.0.1:7070). */
  hub: string;
}

/** Options of one call. */
export interface CallOptions {
  /** Deadline from now; the agent sees it as `ctx.deadline`. Default: the hub's (5 minutes). */
  timeoutMs?: number;
  labels?: Record<string, string>;
  params?: Record<string, unknown>;
  idempotencyKey?: string;
  /** Attempts in all, counting the first (default: the hub's, 3). */
  maxAttempts?: number;
  session?: string;
  minSimilarity?: number;
  signal?: AbortSignal;
}

/** The result of a call. */
export interface CallResult<T = unknown> {
  output: T;
  taskId: string;
  agentId: string;
  capability: string;
  attempts: number;
  usage: WireUsage;
}

/** A capability found by meaning. */
export type CapabilityMatch = WireCapabilityMatch;
/** An agent as the hub sees it. */
export type AgentInfo = WireAgentInfo;
/** An event of the hub (agent.connected, task.completed...). */
export interface HubEvent {
  kind: string;
  at: number;
  data: Record<string, unknown>;
}

/** A caller's connection to a hub: call capabilities, discover them, list agents, watch events. */
export interface HubClient {
  /** Calls a capability by name, or by meaning with `{ query }`. */
  call<T = unknown>(
    target: string | { capability: string } | { query: string },
    input: unknown,
    options?: CallOptions,
  ): Promise<CallResult<T>>;
  discover(query: string, options?: { limit?: number }): Promise<CapabilityMatch[]>;
  agents(): Promise<AgentInfo[]>;
  /** Streams hub events whose kind matches `filter` (`task.>`, `agent.connected`; default all). */
  events(handler: (event: HubEvent) => void, options?: { filter?: string }): { stop(): void };
  close(): void;
}

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

interface CallerStub extends grpc.Client {
  Call: Unary<Partial<WireCallRequest>, WireCallResponse>;
  Discover: Unary<{ query: string; limit: number }, { matches: WireCapabilityMatch[] }>;
  ListAgents: Unary<Record<string, never>, { agents: WireAgentInfo[] }>;
  Events(request: { filter: string }): grpc.ClientReadableStream<WireHubEvent>;
}

/** Connects to a hub as a caller (no agent registration). */
export function createHubClient(options: HubClientOptions): HubClient {
  const address = hubAddress(options.hub);
  const { CallerService } = hubProtocol();
  const stub = new CallerService(
    address,
    grpc.credentials.createInsecure(),
    CHANNEL_OPTIONS,
  ) as unknown as CallerStub;
  const what = `a hub at ${address}`;

  const unary = <Req, Res>(
    method: Unary<Req, Res>,
    request: Req,
    callOptions: grpc.CallOptions = {},
    signal?: AbortSignal,
  ) =>
    new Promise<Res>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new ClawHubError("CANCELLED", "the call was cancelled"));
        return;
      }
      const pending = method.call(
        stub,
        request,
        new grpc.Metadata(),
        callOptions,
        (error, response) => (error ? reject(fromGrpcError(error, what)) : resolve(response)),
      );
      signal?.addEventListener("abort", () => pending.cancel(), { once: true });
    });

  return {
    async call<T>(
      target: string | { capability: string } | { query: string },
      input: unknown,
      opts: CallOptions = {},
    ) {
      const t = typeof target === "string" ? { capability: target } : target;
      const request: Partial<WireCallRequest> = {
        capability: "capability" in t ? t.capability : "",
        query: "query" in t ? t.query : "",
        input: encodePayload(input),
        labels: opts.labels ?? {},
        paramsJson: encodeJson(opts.params),
        idempotencyKey: opts.idempotencyKey ?? "",
        maxAttempts: opts.maxAttempts ?? 0,
        session: opts.session ?? "",
        minSimilarity: opts.minSimilarity ?? 0,
      };
      const callOptions: grpc.CallOptions =
        opts.timeoutMs !== undefined ? { deadline: new Date(Date.now() + opts.timeoutMs) } : {};
      const res = await unary(stub.Call, request, callOptions, opts.signal);
      return {
        output: decodePayload(res.output) as T,
        taskId: res.taskId,
        agentId: res.agentId,
        capability: res.capability,
        attempts: res.attempts,
        usage: res.usage ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
      };
    },
    async discover(query, opts = {}) {
      const res = await unary(stub.Discover, { query, limit: opts.limit ?? 10 });
      return res.matches;
    },
    async agents() {
      const res = await unary(stub.ListAgents, {});
      return res.agents;
    },
    events(handler, opts = {}) {
      const stream = stub.Events({ filter: opts.filter ?? "" });
      stream.on("data", (e: WireHubEvent) => {
        handler({
          kind: e.kind,
          at: e.atUnixMs,
          data: JSON.parse(Buffer.from(e.json).toString("utf8")) as Record<string, unknown>,
        });
      });
      // Ending the stream (cancel, hub gone) is the end of the events; nothing to report.
      stream.on("error", () => {});
      return { stop: () => stream.cancel() };
    },
    close() {
      stub.close();
    },
  };
}
