import type * as grpc from "@grpc/grpc-js";
import { toClawHubError } from "../../errors/index.ts";
import {
  type AgentMessage,
  createStreamBatcher,
  failStream,
  type HubMessage,
  payloadBytes,
} from "../../wire/index.ts";
import type { HubCore } from "../core.ts";
import type { AgentChannel, PeerIdentity } from "../types.ts";

/**
 * AgentService over gRPC: each `Connect` stream becomes an AgentChannel of the hub core.
 * Messages to the agent are batched per turn of the event loop (one frame carries many tasks).
 */
export function agentService(
  core: HubCore,
  identify?: (
    stream: grpc.ServerDuplexStream<AgentMessage, HubMessage>,
  ) => PeerIdentity | undefined,
): grpc.UntypedServiceImplementation {
  return {
    Connect(stream: grpc.ServerDuplexStream<AgentMessage, HubMessage>) {
      let open = true;
      const batcher = createStreamBatcher<HubMessage>(
        stream,
        (messages) => ({ kind: "batch", batch: { messages } }),
        () => open,
        (m) => (m.kind === "task" ? payloadBytes(m.task.input) : 0),
      );
      let identity: PeerIdentity | undefined;
      try {
        identity = identify?.(stream);
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
      const endpoint = core.connect(channel);
      stream.on("data", (message: AgentMessage) => endpoint.receive(message));
      const gone = (reason: string) => () => {
        // Dropping the session ends the hub's side of the stream (channel.end), then nothing more.
        endpoint.closed(reason);
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
