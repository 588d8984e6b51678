import * as grpc from "@grpc/grpc-js";
import { ClawHubError } from "../errors/index.ts";
import {
  type Batcher,
  type CallerFrame,
  type CallerReply,
  callSignedFields,
  createStreamBatcher,
  decodePayload,
  encodeJson,
  encodePayload,
  errorFromWire,
  failureFromWire,
  fromGrpcError,
  hubAddresses,
  hubProtocol,
  payloadBytes,
  type WireAgentInfo,
  type WireCallRequest,
  type WireCallResponse,
  type WireCapabilityMatch,
  type WireFlowRequest,
  type WireHubEvent,
  type WireListRunsRequest,
  type WireListRunsResponse,
  type WireRunRequest,
  type WireRunView,
  type WireUsage,
  type WireValidateFlowResponse,
} from "../wire/index.ts";
import type { RunSummary, RunView } from "../workflow/index.ts";
import { enroll } from "./enroll.ts";
import { keepRenewed } from "./renew.ts";
import { type ClientTls, channelCredentials, channelOptions, createSigner } from "./tls.ts";

/** Options of {@link createHubClient}. */
export interface HubClientOptions {
  /**
   * `host:port` of the hub, or several (a list or `"h1:7070,h2:7070"`): calls go to one and move
   * to the next when it is unreachable. The CLI resolves `--hub` > `CLAWHUB_HUB` > config >
   * 127.0.0.1:7070.
   */
  hub: string | string[];
  /** Mutual TLS with a secured hub (its CA, this caller's certificate and key). */
  tls?: ClientTls;
  /**
   * A one-time enrollment token (`clawhub hub enroll <name> --kind caller`): the first request
   * waits while it is exchanged for a certificate (see {@link enroll}); a failed enrollment
   * fails every request with its reason.
   */
  enrollToken?: string;
}

/** Options of one call. */
export interface CallOptions {
  /** Deadline from now; the agent sees it as `ctx.deadline`. Default: the hub's (5 minutes). */
  timeoutMs?: number;
  labels?: Record<string, string>;
  params?: Record<string, unknown>;
  /** The same on every attempt; scoped to this client's connection by the hub. */
  idempotencyKey?: string;
  /** Attempts in all, counting the first (default: the hub's, 3). */
  maxAttempts?: number;
  /** How long one attempt may go without a result or progress (default: the capability's or hub's). */
  attemptTimeoutMs?: number;
  session?: string;
  minSimilarity?: number;
  signal?: AbortSignal;
  /** The agent's progress reports (fraction 0..1, or negative when unknown). */
  onProgress?: (progress: { fraction: number; message: string; agentId: string }) => void;
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

/** A run in `flows.list()` (the engine's shape). */
export type { RunSummary };

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
    /** A run by id or unique id prefix. */
    get(runId: string): Promise<RunView>;
    /** Newest first; `all` pages through every run. */
    list(options?: { limit?: number; pageToken?: string; all?: boolean }): Promise<RunSummary[]>;
    cancel(runId: string): Promise<RunView>;
    resume(runId: string): Promise<RunView>;
    /** Calls `onUpdate` on every change and resolves with the final view. */
    watch(runId: string, onUpdate?: (view: RunView) => void): Promise<RunView>;
  };
  close(): void;
}

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

interface WorkflowStub extends grpc.Client {
  ValidateFlow: Unary<Partial<WireFlowRequest>, WireValidateFlowResponse>;
  StartRun: Unary<WireFlowRequest, WireRunView>;
  GetRun: Unary<WireRunRequest, WireRunView>;
  ListRuns: Unary<WireListRunsRequest, WireListRunsResponse>;
  CancelRun: Unary<WireRunRequest, WireRunView>;
  ResumeRun: Unary<WireRunRequest, WireRunView>;
  WatchRun(request: WireRunRequest): grpc.ClientReadableStream<WireRunView>;
}

interface CallerStub extends grpc.Client {
  Call: Unary<Partial<WireCallRequest>, WireCallResponse>;
  Calls(): grpc.ClientDuplexStream<CallerFrame, CallerReply>;
  Discover: Unary<{ query: string; limit: number }, { matches: WireCapabilityMatch[] }>;
  ListAgents: Unary<Record<string, never>, { agents: WireAgentInfo[] }>;
  Events(request: { filter: string }): grpc.ClientReadableStream<WireHubEvent>;
}

const decoder = new TextDecoder();
const jsonOf = (bytes: Uint8Array): unknown =>
  bytes && bytes.byteLength > 0 ? JSON.parse(decoder.decode(bytes)) : undefined;

/** A run view from its proto message. */
function runViewFromWire(w: WireRunView): RunView {
  return {
    runId: w.runId,
    name: w.name,
    status: w.status as RunView["status"],
    inputs: (jsonOf(w.inputsJson) ?? {}) as Record<string, unknown>,
    startedAt: w.startedAtUnixMs,
    endedAt: w.endedAtUnixMs || undefined,
    tokens: w.tokens,
    reason: w.reason || undefined,
    outputs: jsonOf(w.outputsJson),
    nodes: w.nodes.map((n) => ({
      id: n.id,
      status: n.status as RunView["nodes"][number]["status"],
      attempts: n.attempts,
      items: n.items >= 0 ? n.items : undefined,
      usedFallback: n.usedFallback,
      output: jsonOf(n.outputJson),
      error: failureFromWire(n.error),
      agents: n.agents,
      startedAt: n.startedAtUnixMs || undefined,
      endedAt: n.endedAtUnixMs || undefined,
    })),
  };
}

interface Pending {
  resolve(response: WireCallResponse): void;
  reject(error: ClawHubError): void;
  onProgress: CallOptions["onProgress"];
}

/**
 * Connects to a hub as a caller. Calls are multiplexed over one long-lived `Calls` stream (frames
 * batched per turn of the event loop), opened on first use and again after it breaks.
 */
export function createHubClient(options: HubClientOptions): HubClient {
  const addresses = hubAddresses(options.hub);
  if (addresses.length === 0)
    throw new ClawHubError("USAGE", "createHubClient needs a hub address");
  if (options.enrollToken && !options.tls) {
    const { enrollToken, ...rest } = options;
    return deferredClient(
      enroll({ hub: addresses[0] as string, token: enrollToken }).then((tls) =>
        createHubClient({ ...rest, tls }),
      ),
    );
  }
  let current = 0;
  const protocol = hubProtocol();
  // A copy: renewal replaces the certificate in it, for channels made from then on.
  const tls = options.tls ? { ...options.tls } : undefined;
  const signer = tls ? createSigner(tls.keyPem) : undefined;
  const renewer = tls ? keepRenewed(addresses, tls) : undefined;
  let stub: CallerStub;
  let workflows: WorkflowStub | undefined;
  let what: string;
  let address: string;
  const open = () => {
    address = addresses[current % addresses.length] as string;
    stub = new protocol.CallerService(
      address,
      channelCredentials(tls),
      channelOptions(Boolean(tls)),
    ) as unknown as CallerStub;
    workflows = undefined;
    what = `a hub at ${address}`;
  };
  /** The workflow service's client, made on first use (it shares the caller's channel). */
  const wfStub = (): WorkflowStub => {
    workflows ??= new protocol.WorkflowService(address, channelCredentials(tls), {
      ...channelOptions(Boolean(tls)),
      channelOverride: stub.getChannel(),
    }) as unknown as WorkflowStub;
    return workflows;
  };
  open();
  /** Moves to the next hub of the list after a failure to reach this one. */
  const failover = (error: ClawHubError) => {
    if (addresses.length < 2 || error.code !== "NETWORK_ERROR") return;
    closeStream(error);
    stub.close();
    workflows?.close();
    current++;
    open();
  };

  /** One unary call on either service, cancellable through `signal`. */
  const unary = <Req, Res>(
    client: () => grpc.Client,
    method: () => Unary<Req, Res>,
    request: Req,
    callOptions: grpc.CallOptions = {},
    signal?: AbortSignal,
  ) =>
    new Promise<Res>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new ClawHubError("CANCELLED", "the call was cancelled"));
        return;
      }
      const pending = method().call(
        client(),
        request,
        new grpc.Metadata(),
        callOptions,
        (error, response) => {
          if (!error) return resolve(response);
          const e = fromGrpcError(error, what);
          failover(e);
          reject(e);
        },
      );
      signal?.addEventListener("abort", () => pending.cancel(), { once: true });
    });
  const onCaller = () => stub;
  const onWorkflows = () => wfStub();

  // ---- the multiplexed call stream --------------------------------------------------------

  let stream: grpc.ClientDuplexStream<CallerFrame, CallerReply> | undefined;
  let frames: Batcher<CallerFrame> | undefined;
  const pending = new Map<number, Pending>();
  let nextId = 1;

  function closeStream(error: ClawHubError): void {
    const s = stream;
    stream = undefined;
    frames?.clear();
    frames = undefined;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
    if (s) {
      try {
        s.cancel();
      } catch {
        // Already gone.
      }
    }
  }

  function onReply(reply: CallerReply, depth: number): void {
    switch (reply.kind) {
      case "batch":
        if (depth === 0) for (const r of reply.batch.replies) onReply(r, 1);
        return;
      case "progress": {
        const p = pending.get(reply.progress.id);
        p?.onProgress?.({
          fraction: reply.progress.fraction,
          message: reply.progress.message,
          agentId: reply.progress.agentId,
        });
        return;
      }
      case "result": {
        const { id, response, error } = reply.result;
        const p = pending.get(id);
        if (!p) return;
        pending.delete(id);
        if (error) p.reject(errorFromWire(error));
        else if (response) p.resolve(response);
        else p.reject(new ClawHubError("SERVER_ERROR", "the hub sent an empty result"));
        return;
      }
    }
  }

  function ensureStream(): Batcher<CallerFrame> {
    if (stream && frames) return frames;
    const s = stub.Calls();
    stream = s;
    const batch = createStreamBatcher<CallerFrame>(
      s,
      (list) => ({ kind: "batch", batch: { frames: list } }),
      () => stream === s,
      (f) => (f.kind === "call" ? payloadBytes(f.call.request?.input) : 0),
    );
    frames = batch;
    s.on("data", (reply: CallerReply) => onReply(reply, 0));
    const broken = (error?: unknown) => {
      if (stream !== s) return;
      const e = error
        ? fromGrpcError(error, what)
        : new ClawHubError("NETWORK_ERROR", `${what} closed the call stream`);
      stream = undefined;
      frames = undefined;
      for (const p of pending.values()) p.reject(e);
      pending.clear();
      failover(e);
    };
    s.on("error", broken);
    s.on("end", () => broken());
    return batch;
  }

  function streamCall(request: WireCallRequest, opts: CallOptions): Promise<WireCallResponse> {
    return new Promise<WireCallResponse>((resolve, reject) => {
      if (opts.signal?.aborted) {
        reject(new ClawHubError("CANCELLED", "the call was cancelled"));
        return;
      }
      const id = nextId++;
      const out = ensureStream();
      const onAbort = () => {
        if (!pending.has(id)) return;
        frames?.push({ kind: "cancel", cancel: { id } });
      };
      pending.set(id, {
        resolve(r) {
          opts.signal?.removeEventListener("abort", onAbort);
          resolve(r);
        },
        reject(e) {
          opts.signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
        onProgress: opts.onProgress,
      });
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      out.push({
        kind: "call",
        call: {
          id,
          // Signed as it is sent: each send has its own nonce (a secured hub refuses replays).
          request: signer
            ? { ...request, signature: signer.sign(callSignedFields(request, null)) }
            : request,
          timeoutMs: opts.timeoutMs !== undefined ? Math.max(1, Math.round(opts.timeoutMs)) : 0,
          progress: Boolean(opts.onProgress),
        },
      });
    });
  }

  // ---- the client -------------------------------------------------------------------------

  return {
    async call<T>(
      target: string | { capability: string } | { query: string },
      input: unknown,
      opts: CallOptions = {},
    ) {
      const t = typeof target === "string" ? { capability: target } : target;
      const request: WireCallRequest = {
        capability: "capability" in t ? t.capability : "",
        query: "query" in t ? t.query : "",
        input: encodePayload(input),
        labels: opts.labels ?? {},
        paramsJson: encodeJson(opts.params),
        idempotencyKey: opts.idempotencyKey ?? "",
        maxAttempts: opts.maxAttempts ?? 0,
        session: opts.session ?? "",
        minSimilarity: opts.minSimilarity ?? 0,
        attemptTimeoutMs: opts.attemptTimeoutMs ?? 0,
      };
      const res = await streamCall(request, opts);
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
      const res = await unary(onCaller, () => stub.Discover, { query, limit: opts.limit ?? 10 });
      return res.matches;
    },
    async agents() {
      const res = await unary(onCaller, () => stub.ListAgents, {});
      return res.agents;
    },
    events(handler, opts = {}) {
      const s = stub.Events({ filter: opts.filter ?? "" });
      s.on("data", (e: WireHubEvent) => {
        handler({
          kind: e.kind,
          at: e.atUnixMs,
          data: JSON.parse(Buffer.from(e.json).toString("utf8")) as Record<string, unknown>,
        });
      });
      // Ending the stream (cancel, hub gone) is the end of the events; nothing to report.
      s.on("error", () => {});
      return { stop: () => s.cancel() };
    },
    flows: {
      async validate(spec) {
        const r = await unary(onWorkflows, () => wfStub().ValidateFlow, {
          specJson: Buffer.from(JSON.stringify(spec ?? null)),
        });
        return { valid: true as const, name: r.name, nodes: r.nodes };
      },
      start: async (spec, inputs = {}) =>
        runViewFromWire(
          await unary(onWorkflows, () => wfStub().StartRun, {
            specJson: Buffer.from(JSON.stringify(spec ?? null)),
            inputsJson: Buffer.from(JSON.stringify(inputs)),
          }),
        ),
      get: async (runId) =>
        runViewFromWire(await unary(onWorkflows, () => wfStub().GetRun, { runId })),
      async list(opts = {}) {
        const out: RunSummary[] = [];
        let pageToken = opts.pageToken ?? "";
        do {
          const page = await unary(onWorkflows, () => wfStub().ListRuns, {
            limit: opts.limit ?? 100,
            pageToken,
          });
          for (const r of page.runs)
            out.push({
              runId: r.runId,
              name: r.name,
              status: r.status,
              createdAt: r.createdAtUnixMs,
              endedAt: r.endedAtUnixMs || null,
            });
          pageToken = page.nextPageToken;
        } while (opts.all && pageToken);
        return out;
      },
      cancel: async (runId) =>
        runViewFromWire(await unary(onWorkflows, () => wfStub().CancelRun, { runId })),
      resume: async (runId) =>
        runViewFromWire(await unary(onWorkflows, () => wfStub().ResumeRun, { runId })),
      watch(runId, onUpdate) {
        return new Promise<RunView>((resolve, reject) => {
          const s = wfStub().WatchRun({ runId });
          let last: RunView | undefined;
          s.on("data", (reply: WireRunView) => {
            last = runViewFromWire(reply);
            onUpdate?.(last);
          });
          s.on("error", (error) => reject(fromGrpcError(error, what)));
          s.on("end", () =>
            last
              ? resolve(last)
              : reject(new ClawHubError("SERVER_ERROR", "the run's watch ended without a view")),
          );
        });
      },
    },
    close() {
      renewer?.stop();
      closeStream(new ClawHubError("CANCELLED", "the client was closed"));
      workflows?.close();
      stub.close();
    },
  };
}

/** A client whose connection is made once `ready` resolves (after enrollment). */
function deferredClient(ready: Promise<HubClient>): HubClient {
  ready.catch(() => {}); // each request reports the failure
  return {
    call: (target, input, options) => ready.then((c) => c.call(target, input, options)),
    discover: (query, options) => ready.then((c) => c.discover(query, options)),
    agents: () => ready.then((c) => c.agents()),
    events(handler, options) {
      let stopped = false;
      let inner: { stop(): void } | undefined;
      ready.then(
        (c) => {
          if (!stopped) inner = c.events(handler, options);
        },
        () => {},
      );
      return {
        stop() {
          stopped = true;
          inner?.stop();
        },
      };
    },
    flows: {
      validate: (spec) => ready.then((c) => c.flows.validate(spec)),
      start: (spec, inputs) => ready.then((c) => c.flows.start(spec, inputs)),
      get: (runId) => ready.then((c) => c.flows.get(runId)),
      list: (options) => ready.then((c) => c.flows.list(options)),
      cancel: (runId) => ready.then((c) => c.flows.cancel(runId)),
      resume: (runId) => ready.then((c) => c.flows.resume(runId)),
      watch: (runId, onUpdate) => ready.then((c) => c.flows.watch(runId, onUpdate)),
    },
    close() {
      ready.then(
        (c) => c.close(),
        () => {},
      );
    },
  };
}
