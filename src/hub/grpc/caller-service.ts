import { randomUUID } from "node:crypto";
import type * as grpc from "@grpc/grpc-js";
import type { AuditEvent } from "../../audit/index.ts";
import { ClawHubError, toClawHubError } from "../../errors/index.ts";
import type { SignedFields } from "../../identity/index.ts";
import { isName, TOPIC_PATTERN } from "../../schema/index.ts";
import {
  type CallerFrame,
  type CallerReply,
  callSignedFields,
  createOutbox,
  createStreamBatcher,
  encodePayload,
  errorToWire,
  failStream,
  payloadBytes,
  payloadDigest,
  unary,
  type WireAgentInfo,
  type WireCallRequest,
  type WireCallResponse,
  type WireCapabilityMatch,
  type WireHubEvent,
  type WireStreamCall,
} from "../../wire/index.ts";
import type { HubCore } from "../core.ts";
import type { CallInput } from "../dispatcher.ts";
import type { Peer } from "../security.ts";
import type { PeerIdentity } from "../types.ts";

/**
 * What a secured hub checks on callers: who they are (their certificate) and, with `verify`,
 * that each call is signed by them; `record` audits each call.
 */
export interface CallerGuard {
  identify(call: unknown): PeerIdentity;
  verify?: (
    peer: Peer,
    fields: SignedFields,
    signature: Uint8Array | undefined,
  ) => void | Promise<void>;
  record?: (event: AuditEvent) => void;
}

/** What a caller's signature covers for one call (identity/signing.ts). */
export const callFields = (req: WireCallRequest): SignedFields =>
  callSignedFields(req, req.signature);

/** An outbox's overflow handler: logs the slow consumer (`who`) and stops its stream. */
const dropSlowConsumer = (core: HubCore, who: string, stop: () => void) => (bytes: number) => {
  core.ctx.logConnection(
    "stream error",
    `hub: ${who} dropped: it stopped reading (${Math.ceil(bytes / 1048576)} MiB unsent, limit ${Math.round(core.ctx.config.maxPeerBufferBytes / 1048576)} MiB)`,
  );
  stop();
};

/** Calls one multiplexed stream may have running at once. */
export const MAX_CALLS_PER_STREAM = 10_000;
const MAX_FRAME_DEPTH = 1;

/** A CallRequest as the dispatcher takes it. */
function callInput(req: WireCallRequest, extra: Partial<CallInput>): CallInput {
  return {
    capability: req.capability || undefined,
    query: req.query || undefined,
    rawInput: req.input ?? encodePayload(null),
    labels: req.labels,
    rawParams: req.paramsJson,
    idempotencyKey: req.idempotencyKey || undefined,
    maxAttempts: req.maxAttempts || undefined,
    session: req.session || undefined,
    minSimilarity: req.minSimilarity || undefined,
    attemptTimeoutMs: req.attemptTimeoutMs || undefined,
    ...extra,
  };
}

/** CallerService over gRPC: unary and multiplexed calls, discovery, agents and hub events. */
export function callerService(
  core: HubCore,
  guard?: CallerGuard,
): {
  implementation: grpc.UntypedServiceImplementation;
  /** Ends every Events stream (the hub is closing). */
  close(): void;
} {
  const eventStreams = new Set<grpc.ServerWritableStream<{ filter: string }, WireHubEvent>>();
  /**
   * A secured hub checks the caller's signature before anything runs, and audits the call with
   * its outcome once it ends (digests only: inputs may be secret). Returns the call's identity
   * parts, or nothing on a plaintext hub.
   */
  const admit = async (
    req: WireCallRequest,
    call: unknown,
  ): Promise<Partial<CallInput> & { peer?: PeerIdentity }> => {
    if (!guard) return {};
    const peer = guard.identify(call);
    const fields = callFields(req);
    try {
      await guard.verify?.(peer as Peer, fields, req.signature?.signature);
    } catch (error) {
      guard.record?.({
        kind: "call",
        actor: peer.uri,
        capability: fields.capability,
        inputDigest: fields.digest,
        outcome: "refused",
        reason: toClawHubError(error).message,
      });
      throw error;
    }
    return { caller: peer.uri, scope: `identity:${peer.uri}`, peer };
  };
  const audited = (
    req: WireCallRequest,
    who: { peer?: PeerIdentity },
    outcome: Promise<WireCallResponse>,
  ): Promise<WireCallResponse> => {
    const record = guard?.record;
    if (!record || !who.peer) return outcome;
    const peer = who.peer;
    const base = {
      kind: "call",
      actor: peer.uri,
      capability: req.capability || `query:${req.query}`,
      inputDigest: payloadDigest(req.input),
      senderSignature: Buffer.from(req.signature?.signature ?? []).toString("base64"),
    };
    return outcome.then(
      (res) => {
        record({
          ...base,
          outcome: "ok",
          outputDigest: payloadDigest(res.output),
          details: { agent: res.agentId, taskId: res.taskId, attempts: res.attempts },
        });
        return res;
      },
      (error: unknown) => {
        const e = toClawHubError(error);
        record({ ...base, outcome: "failed", reason: `${e.code}: ${e.message}` });
        throw error;
      },
    );
  };
  const callStreams = new Set<() => void>();
  const implementation: grpc.UntypedServiceImplementation = {
    Call: unary<WireCallRequest, WireCallResponse>(async (req, call) => {
      const signal = new AbortController();
      call.on("cancelled", () => signal.abort());
      const deadline = call.getDeadline();
      const ms = deadline instanceof Date ? deadline.getTime() : deadline;
      const { peer, ...who } = await admit(req, call);
      return audited(
        req,
        { ...(peer ? { peer } : {}) },
        core.call(
          callInput(req, {
            // A caller's idempotency key is scoped to its connection, or its verified identity.
            scope: `peer:${call.getPeer()}`,
            deadline: Number.isFinite(ms) ? ms : undefined,
            signal: signal.signal,
            ...who,
          }),
        ),
      );
    }),

    Calls(stream: grpc.ServerDuplexStream<CallerFrame, CallerReply>) {
      const scope = `stream:${randomUUID()}`;
      const running = new Map<number, AbortController>();
      let open = true;
      const batcher = createStreamBatcher<CallerReply>(
        stream,
        (replies) => ({ kind: "batch", batch: { replies } }),
        () => open,
        (r) => (r.kind === "result" ? payloadBytes(r.result.response?.output) : 0),
        {
          maxBytes: core.ctx.config.maxPeerBufferBytes,
          // The caller stopped reading its results: its running calls are cancelled.
          onOverflow: dropSlowConsumer(core, `call stream from ${stream.getPeer()}`, () => stop()),
        },
      );
      const start = (c: WireStreamCall) => {
        const id = c.id;
        if (running.has(id) || !c.request) return;
        if (running.size >= MAX_CALLS_PER_STREAM) {
          batcher.push({
            kind: "result",
            result: {
              id,
              response: null,
              error: errorToWire(
                new ClawHubError(
                  "RESOURCE_EXHAUSTED",
                  `at most ${MAX_CALLS_PER_STREAM} calls per stream at once`,
                  {
                    details: { retryAfterMs: 100 },
                  },
                ),
              ),
            },
          });
          return;
        }
        const controller = new AbortController();
        running.set(id, controller);
        const refuse = (error: unknown) => {
          running.delete(id);
          batcher.push({
            kind: "result",
            result: { id, response: null, error: errorToWire(toClawHubError(error)) },
          });
        };
        // A plaintext hub admits at once; a secured one verifies the signature off the loop.
        if (!guard) run(c, id, controller, {});
        else
          admit(c.request, stream).then((identity) => {
            if (controller.signal.aborted)
              refuse(new ClawHubError("CANCELLED", "the call was cancelled"));
            else run(c, id, controller, identity);
          }, refuse);
      };
      const run = (
        c: WireStreamCall,
        id: number,
        controller: AbortController,
        identity: Awaited<ReturnType<typeof admit>>,
      ) => {
        if (!open || !c.request) return;
        const { peer, ...who } = identity;
        audited(
          c.request,
          { ...(peer ? { peer } : {}) },
          core.call(
            callInput(c.request, {
              scope,
              ...who,
              deadline: c.timeoutMs > 0 ? Date.now() + c.timeoutMs : undefined,
              signal: controller.signal,
              onProgress: c.progress
                ? (p) =>
                    batcher.push({
                      kind: "progress",
                      progress: {
                        id,
                        fraction: p.fraction,
                        message: p.message,
                        agentId: p.agentId,
                      },
                    })
                : undefined,
            }),
          ),
        )
          .then(
            (response) => batcher.push({ kind: "result", result: { id, response, error: null } }),
            (error: unknown) =>
              batcher.push({
                kind: "result",
                result: { id, response: null, error: errorToWire(toClawHubError(error)) },
              }),
          )
          .finally(() => running.delete(id));
      };
      const onFrame = (frame: CallerFrame, depth: number) => {
        switch (frame.kind) {
          case "call":
            start(frame.call);
            return;
          case "cancel":
            running.get(frame.cancel.id)?.abort();
            return;
          case "batch":
            if (depth < MAX_FRAME_DEPTH) for (const f of frame.batch.frames) onFrame(f, depth + 1);
            return;
        }
      };
      stream.on("data", (frame: CallerFrame) => onFrame(frame, 0));
      const stop = () => {
        if (!open) return;
        open = false;
        callStreams.delete(shutdown);
        batcher.clear();
        for (const controller of running.values()) controller.abort();
        running.clear();
      };
      // The hub is closing: the calls have failed by now; send those results, then end.
      const shutdown = () => {
        batcher.flush();
        try {
          stream.end();
        } catch {
          // Already gone.
        }
        stop();
      };
      callStreams.add(shutdown);
      stream.on("end", () => {
        // The caller is done sending: answer what runs, then close.
        const wait = () => {
          if (running.size === 0) {
            batcher.flush();
            try {
              stream.end();
            } catch {
              // Already gone.
            }
            stop();
          } else setTimeout(wait, 10).unref();
        };
        wait();
      });
      stream.on("error", stop);
      stream.on("cancelled", stop);
      stream.on("close", stop);
    },

    Discover: unary<{ query: string; limit: number }, { matches: WireCapabilityMatch[] }>(
      async (req) => {
        if (!req.query.trim()) throw new ClawHubError("INVALID_ARGUMENT", "discover needs a query");
        return {
          matches: await core.discover(req.query.slice(0, 512), { limit: req.limit || 10 }),
        };
      },
    ),

    ListAgents: unary<Record<string, never>, { agents: WireAgentInfo[] }>(async () => ({
      agents: core.agents(),
    })),

    Events(stream: grpc.ServerWritableStream<{ filter: string }, WireHubEvent>) {
      const filter = stream.request.filter.trim() || ">";
      if (!isName(TOPIC_PATTERN, filter)) {
        failStream(
          stream,
          new ClawHubError(
            "INVALID_ARGUMENT",
            `invalid event filter ${JSON.stringify(filter.slice(0, 100))}`,
          ),
        );
        return;
      }
      let may: (data: Record<string, unknown>) => boolean = () => true;
      if (guard) {
        let peer: PeerIdentity;
        try {
          peer = guard.identify(stream);
        } catch (error) {
          failStream(stream, error);
          return;
        }
        // Admins see every event; others the events of their own calls and runs, and the
        // hub's own (agents, breakers), which carry no caller's data.
        if (!peer.roles.includes("admin"))
          may = (data) =>
            data.caller === peer.uri ||
            data.owner === peer.uri ||
            (data.caller === undefined &&
              data.owner === undefined &&
              /^(agent|breaker)\./.test(String(data.kind)));
      }
      const unwatch = core.watchEvents(filter);
      const outbox = createOutbox<WireHubEvent>(stream, {
        maxBytes: core.ctx.config.maxPeerBufferBytes,
        onOverflow: dropSlowConsumer(core, `event stream to ${stream.getPeer()}`, () => stop()),
      });
      const sub = core.ctx.cp.subscribe<{ kind: string; at: number } & Record<string, unknown>>(
        `hub.events.${filter}`,
        (m) => {
          if (!may(m.data)) return;
          const json = Buffer.from(JSON.stringify(m.data));
          outbox.write({ kind: m.data.kind, atUnixMs: m.data.at, json }, json.byteLength);
        },
      );
      eventStreams.add(stream);
      let stopped = false;
      const stop = () => {
        if (stopped) return;
        stopped = true;
        sub.unsubscribe();
        unwatch();
        eventStreams.delete(stream);
      };
      stream.on("cancelled", stop);
      stream.on("close", stop);
    },
  };
  return {
    implementation,
    close() {
      for (const stream of eventStreams) stream.end();
      for (const shutdown of [...callStreams]) shutdown();
    },
  };
}
