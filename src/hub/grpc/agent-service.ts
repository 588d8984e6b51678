import type * as grpc from "@grpc/grpc-js";
import type { AuditEvent } from "../../audit/index.ts";
import { toClawHubError } from "../../errors/index.ts";
import {
  type AgentMessage,
  createStreamBatcher,
  failStream,
  type HubMessage,
  payloadBytes,
  resultDigest,
  type WireTaskResult,
} from "../../wire/index.ts";
import type { AgentEndpoint, HubCore } from "../core.ts";
import type { Peer } from "../security.ts";
import type { AgentChannel, PeerIdentity } from "../types.ts";

/**
 * How a secured hub checks what an agent sends: who it is (its certificate) and, with
 * `results`, that each result is signed by the agent's key.
 */
export interface AgentGuard {
  identify(stream: unknown): PeerIdentity;
  results?: ResultGuard;
}

/** Checks result signatures and audits them. */
export interface ResultGuard {
  /** Rejects with UNAUTHENTICATED when a result's signature does not hold. */
  verifyResult(peer: Peer, result: WireTaskResult): Promise<void>;
  record(event: AuditEvent): void;
}

/**
 * A result whose signature does not verify becomes a retryable failure (another agent gets
 * the task), and the refusal is audited: the caller never sees output nobody vouches for.
 * Results are verified off the event loop and delivered when checked; other messages (and the
 * other messages of a batch) go on at once, in order.
 */
function deliverChecked(
  guard: ResultGuard,
  peer: Peer,
  message: AgentMessage,
  deliver: (message: AgentMessage) => void,
  depth = 0,
): void {
  if (message.kind === "batch" && depth === 0) {
    for (const m of message.batch.messages) deliverChecked(guard, peer, m, deliver, 1);
    return;
  }
  if (message.kind !== "result") {
    deliver(message);
    return;
  }
  const result = message.result;
  guard.verifyResult(peer, result).then(
    () => {
      guard.record({
        kind: "task.result",
        actor: peer.uri,
        outcome: result.failure ? "failed" : "ok",
        outputDigest: resultDigest(result),
        senderSignature: Buffer.from(result.signature?.signature ?? []).toString("base64"),
        details: { taskId: result.taskId },
      });
      deliver(message);
    },
    (error: unknown) => {
      const reason = toClawHubError(error).message;
      guard.record({
        kind: "task.result",
        actor: peer.uri,
        outcome: "refused",
        reason,
        details: { taskId: result.taskId },
      });
      deliver({
        kind: "result",
        result: {
          taskId: result.taskId,
          output: null,
          usage: result.usage,
          failure: {
            type: "UNAUTHENTICATED",
            message: `result refused: ${reason}`,
            nonRetryable: false,
            detailsJson: new Uint8Array(),
          },
        },
      });
    },
  );
}

/**
 * AgentService over gRPC: each `Connect` stream becomes an AgentChannel of the hub core.
 * Messages to the agent are batched per turn of the event loop (one frame carries many tasks).
 */
export function agentService(core: HubCore, guard?: AgentGuard): grpc.UntypedServiceImplementation {
  return {
    Connect(stream: grpc.ServerDuplexStream<AgentMessage, HubMessage>) {
      let open = true;
      let endpoint: AgentEndpoint | undefined;
      const batcher = createStreamBatcher<HubMessage>(
        stream,
        (messages) => ({ kind: "batch", batch: { messages } }),
        () => open,
        (m) =>
          m.kind === "task"
            ? payloadBytes(m.task.input)
            : m.kind === "event"
              ? payloadBytes(m.event.data)
              : 0,
        {
          maxBytes: core.ctx.config.maxPeerBufferBytes,
          // Its session goes: queued tasks move to other agents, what it held is freed.
          onOverflow: (bytes) => {
            open = false;
            batcher.clear();
            endpoint?.closed(
              `stopped reading: ${Math.ceil(bytes / 1048576)} MiB unsent (limit ${Math.round(core.ctx.config.maxPeerBufferBytes / 1048576)} MiB)`,
            );
          },
        },
      );
      let identity: PeerIdentity | undefined;
      try {
        identity = guard?.identify(stream);
      } catch (error) {
        failStream(stream, toClawHubError(error));
        return;
      }
      const channel: AgentChannel = {
        peer: stream.getPeer(),
        identity,
        send(message) {
          if (open) batcher.push(message);
        },
        end(error) {
          if (!open) return;
          batcher.flush();
          open = false;
          if (error) failStream(stream, error);
          else {
            try {
              stream.end();
            } catch {
              // Already ended.
            }
          }
        },
      };
      const ep = core.connect(channel);
      endpoint = ep;
      const peer = identity as Peer | undefined;
      const results = guard?.results;
      stream.on(
        "data",
        results && peer
          ? (message: AgentMessage) =>
              deliverChecked(results, peer, message, (m) => {
                if (open) ep.receive(m);
              })
          : (message: AgentMessage) => ep.receive(message),
      );
      const gone = (reason: string) => () => {
        // Dropping the session ends the hub's side of the stream (channel.end), then nothing more.
        ep.closed(reason);
        open = false;
        batcher.clear();
      };
      stream.on("end", gone("disconnected"));
      stream.on("error", gone("stream error"));
      stream.on("cancelled", gone("connection lost"));
      stream.on("close", gone("connection closed"));
    },
  };
}
