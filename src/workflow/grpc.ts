/**
 * WorkflowService over gRPC: the engine's operations as proto messages (RunView, NodeView,
 * RunSummary). The workflow document itself travels as JSON: its schema is the file format.
 */
import type * as grpc from "@grpc/grpc-js";
import { ClawHubError } from "../errors/index.ts";
import {
  createOutbox,
  DEFAULT_PEER_BUFFER_BYTES,
  failStream,
  failureToWire,
  unary,
  type WireFlowRequest,
  type WireListRunsRequest,
  type WireListRunsResponse,
  type WireRunRequest,
  type WireRunView,
  type WireValidateFlowResponse,
} from "../wire/index.ts";
import type { RunView, WorkflowEngine } from "./engine.ts";
import { type CapabilityInfo, validateWorkflowAsync, type WorkflowSpec } from "./spec.ts";

/** What the service needs besides the engine. */
export interface WorkflowServiceOptions {
  /** The engine, or undefined when workflows are turned off on this hub. */
  engine: WorkflowEngine | undefined;
  /** The capabilities connected now (validation is against them). */
  catalog(): ReadonlyMap<string, CapabilityInfo>;
  /** Checks a run's inputs against the workflow's `inputs` schema (throws SCHEMA_INVALID). */
  checkInputs(spec: WorkflowSpec, inputs: Record<string, unknown>): Promise<void>;
  /**
   * Who makes a request (secured hubs): a run belongs to the identity that started it, and only
   * it and admins see, watch, cancel or resume it (others get NOT_FOUND, as for no run at all).
   * Undefined: no identities (a plaintext development hub), every run is visible.
   */
  viewerOf?: (call: unknown) => { uri: string; admin: boolean } | undefined;
  /** Unsent bytes a run watcher may have before it is dropped (default 64 MiB). */
  maxPeerBufferBytes?: number;
}

const encoder = new TextEncoder();
const json = (value: unknown) =>
  value === undefined ? new Uint8Array(0) : encoder.encode(JSON.stringify(value));

/** A run view as its proto message. */
/** Bytes of a run view's JSON fields (what dominates its size on the wire). */
function wireViewBytes(v: WireRunView): number {
  let n = v.inputsJson.byteLength + v.outputsJson.byteLength + v.reason.length;
  for (const node of v.nodes) n += node.outputJson.byteLength + 128;
  return n;
}

export function runViewToWire(view: RunView): WireRunView {
  return {
    runId: view.runId,
    name: view.name,
    status: view.status,
    inputsJson: json(view.inputs),
    startedAtUnixMs: view.startedAt,
    endedAtUnixMs: view.endedAt ?? 0,
    tokens: view.tokens,
    reason: view.reason ?? "",
    outputsJson: json(view.outputs),
    nodes: view.nodes.map((n) => ({
      id: n.id,
      status: n.status,
      attempts: n.attempts,
      items: n.items ?? -1,
      usedFallback: n.usedFallback,
      outputJson: json(n.output),
      error: n.error ? failureToWire(n.error) : null,
      agents: n.agents,
      startedAtUnixMs: n.startedAt ?? 0,
      endedAtUnixMs: n.endedAt ?? 0,
    })),
  };
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  if (!bytes || bytes.byteLength === 0) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (error) {
    throw new ClawHubError("INVALID_ARGUMENT", `${what} is not valid JSON`, { cause: error });
  }
}

export function workflowService(
  options: WorkflowServiceOptions,
): grpc.UntypedServiceImplementation {
  const needEngine = () => {
    if (!options.engine)
      throw new ClawHubError("UNAVAILABLE", "workflows are turned off on this hub");
    return options.engine;
  };
  const viewer = (call: unknown) => options.viewerOf?.(call);
  /** The run if this viewer may see it. */
  const visible = (view: RunView | undefined, who: ReturnType<typeof viewer>) =>
    view && (!who || who.admin || view.owner === who.uri) ? view : undefined;
  /** Resolves a run id the viewer may act on (NOT_FOUND otherwise). */
  const ownedId = async (engine: WorkflowEngine, runId: string, call: unknown) => {
    const id = await engine.resolveId(runId);
    const who = viewer(call);
    if (who && !who.admin && !visible(await engine.get(id), who))
      throw new ClawHubError("NOT_FOUND", `no run ${runId}`, {
        hint: "`clawhub runs list` shows the runs.",
      });
    return id;
  };
  const found = (view: RunView | undefined, runId: string) => {
    if (!view)
      throw new ClawHubError("NOT_FOUND", `no run ${runId}`, {
        hint: "`clawhub runs list` shows the runs.",
      });
    return runViewToWire(view);
  };
  return {
    ValidateFlow: unary<WireFlowRequest, WireValidateFlowResponse>(async (req) => {
      const spec = await validateWorkflowAsync(
        parseJson(req.specJson, "the workflow"),
        options.catalog(),
      );
      return { name: spec.name, nodes: spec.nodes.length };
    }),
    StartRun: unary<WireFlowRequest, WireRunView>(async (req, call) => {
      const engine = needEngine();
      const spec = await validateWorkflowAsync(
        parseJson(req.specJson, "the workflow"),
        options.catalog(),
      );
      const inputs = (parseJson(req.inputsJson, "the inputs") ?? {}) as Record<string, unknown>;
      if (!inputs || typeof inputs !== "object" || Array.isArray(inputs))
        throw new ClawHubError("INVALID_ARGUMENT", "the inputs are a JSON object");
      await options.checkInputs(spec, inputs);
      // Without identities, a caller is its address (limits on running runs are per caller).
      const peer = (call as { getPeer?: () => string }).getPeer?.() ?? "";
      return runViewToWire(
        await engine.start(spec, inputs, {
          owner: viewer(call)?.uri,
          caller: `address:${peer.replace(/:\d+$/, "")}`,
        }),
      );
    }),
    GetRun: unary<WireRunRequest, WireRunView>(async (req, call) => {
      const engine = needEngine();
      const id = await ownedId(engine, req.runId, call);
      return found(await engine.get(id), id);
    }),
    ListRuns: unary<WireListRunsRequest, WireListRunsResponse>(async (req, call) => {
      const who = viewer(call);
      const page = await needEngine().list({
        limit: req.limit,
        pageToken: req.pageToken,
        owner: who && !who.admin ? who.uri : undefined,
      });
      return {
        runs: page.runs.map((r) => ({
          runId: r.runId,
          name: r.name,
          status: r.status,
          createdAtUnixMs: r.createdAt,
          endedAtUnixMs: r.endedAt ?? 0,
        })),
        nextPageToken: page.nextPageToken,
      };
    }),
    CancelRun: unary<WireRunRequest, WireRunView>(async (req, call) => {
      const engine = needEngine();
      return runViewToWire(await engine.cancel(await ownedId(engine, req.runId, call)));
    }),
    ResumeRun: unary<WireRunRequest, WireRunView>(async (req, call) => {
      const engine = needEngine();
      const view = await engine.resume(await ownedId(engine, req.runId, call));
      // Only a running run (or one that was running when its hub stopped) can go on; a finished
      // or cancelled one is not silently reprinted as if it had been resumed.
      if (view.status !== "running")
        throw new ClawHubError(
          "CONFLICT",
          `run ${view.runId} is ${view.status}: it cannot be resumed`,
          {
            hint: "Start it again with `clawhub run <flow>`; `clawhub runs show` shows how it ended.",
            details: { status: view.status },
          },
        );
      return runViewToWire(view);
    }),
    WatchRun(stream: grpc.ServerWritableStream<WireRunRequest, WireRunView>) {
      (async () => {
        const engine = needEngine();
        const runId = await ownedId(engine, stream.request.runId, stream);
        const view = await engine.get(runId);
        if (!view) throw new ClawHubError("NOT_FOUND", `no run ${runId}`);
        if (view.status !== "running") {
          stream.write(runViewToWire(view));
          stream.end();
          return;
        }
        await engine.resume(runId);
        let ended = false;
        let stop: () => void = () => {};
        // A watcher that stops reading is dropped, not buffered for (see wire/outbox.ts).
        const outbox = createOutbox<WireRunView>(stream, {
          maxBytes: options.maxPeerBufferBytes ?? DEFAULT_PEER_BUFFER_BYTES,
          onOverflow: () => {
            ended = true;
            stop();
          },
        });
        const send = (v: RunView) => {
          const wire = runViewToWire(v);
          outbox.write(wire, wireViewBytes(wire));
        };
        const finish = () => {
          if (ended) return;
          ended = true;
          stop();
          stream.end();
        };
        try {
          stop = engine.watch(runId, (v) => {
            if (ended) return;
            send(v);
            if (v.status !== "running") finish();
          });
        } catch {
          // It ended in the meantime: its journal has the final view.
          const last = await engine.get(runId);
          if (last) stream.write(runViewToWire(last));
          stream.end();
          return;
        }
        stream.on("cancelled", () => {
          ended = true;
          stop();
        });
        // The run may have moved (or ended) before the watch was in place.
        const current = await engine.get(runId);
        if (!ended && current) {
          send(current);
          if (current.status !== "running") finish();
        }
      })().catch((error: unknown) => failStream(stream, error));
    },
  };
}
