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
import type { RunView } from "../workflow/index.ts";

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
  /** Workflows run by the hub: specs are objects as parsed from YAML/JSON (or built with `workflow()`). */
  flows: {
    validate(spec: unknown): Promise<{ valid: true; name: string; nodes: number }>;
    start(spec: unknown, inputs?: Record<string, unknown>): Promise<RunView>;
    get(runId: string): Promise<RunView>;
    list(): Promise<RunSummary[]>;
    cancel(runId: string): Promise<RunView>;
    resume(runId: string): Promise<RunView>;
    /** Calls `onUpdate` on every change and resolves with the final view. */
    watch(runId: string, onUpdate?: (view: RunView) => void): Promise<RunView>;
  };
  close(): void;
}

/** A run in `flows.list()`. */
export interface RunSummary {
  runId: string;
  name: string;
  status: string;
  createdAt: number;
  endedAt: number | null;
}

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

type JsonUnary<Req> = Unary<Req, { json: Uint8Array }>;
interface WorkflowStub extends grpc.Client {
  ValidateFlow: JsonUnary<{ specJson: Uint8Array }>;
  StartRun: JsonUnary<{ specJson: Uint8Array; inputsJson: Uint8Array }>;
  GetRun: JsonUnary<{ runId: string }>;
  ListRuns: JsonUnary<{ runId: string }>;
  CancelRun: JsonUnary<{ runId: string }>;
  ResumeRun: JsonUnary<{ runId: string }>;
  WatchRun(request: { runId: string }): grpc.ClientReadableStream<{ json: Uint8Array }>;
}

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
  const wf = new (hubProtocol().WorkflowService)(
    address,
    grpc.credentials.createInsecure(),
    CHANNEL_OPTIONS,
  ) as unknown as WorkflowStub;
  const parse = <T>(reply: { json: Uint8Array }) =>
    JSON.parse(Buffer.from(reply.json).toString("utf8")) as T;
  const bytes = (value: unknown) => Buffer.from(JSON.stringify(value ?? null));

  /** One unary call on either service, cancellable through `signal`. */
  const unary = <Req, Res>(
    client: grpc.Client,
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
        client,
        request,
        new grpc.Metadata(),
        callOptions,
        (error, response) => (error ? reject(fromGrpcError(error, what)) : resolve(response)),
      );
      signal?.addEventListener("abort", () => pending.cancel(), { once: true });
    });
  const wfCall = async <T, Req>(method: JsonUnary<Req>, request: Req): Promise<T> =>
    parse<T>(await unary(wf, method, request));

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
      const res = await unary(stub, stub.Call, request, callOptions, opts.signal);
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
      const res = await unary(stub, stub.Discover, { query, limit: opts.limit ?? 10 });
      return res.matches;
    },
    async agents() {
      const res = await unary(stub, stub.ListAgents, {});
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
    flows: {
      validate: (spec) => wfCall(wf.ValidateFlow, { specJson: bytes(spec) }),
      start: (spec, inputs = {}) =>
        wfCall(wf.StartRun, { specJson: bytes(spec), inputsJson: bytes(inputs) }),
      get: (runId) => wfCall(wf.GetRun, { runId }),
      list: () => wfCall(wf.ListRuns, { runId: "" }),
      cancel: (runId) => wfCall(wf.CancelRun, { runId }),
      resume: (runId) => wfCall(wf.ResumeRun, { runId }),
      watch(runId, onUpdate) {
        return new Promise<RunView>((resolve, reject) => {
          const stream = wf.WatchRun({ runId });
          let last: RunView | undefined;
          stream.on("data", (reply: { json: Uint8Array }) => {
            last = parse<RunView>(reply);
            onUpdate?.(last);
          });
          stream.on("error", (error) => reject(fromGrpcError(error, what)));
          stream.on("end", () =>
            last
              ? resolve(last)
              : reject(new ClawHubError("SERVER_ERROR", "the run's watch ended without a view")),
          );
        });
      },
    },
    close() {
      stub.close();
      wf.close();
    },
  };
}
