import * as http2 from "node:http2";
import { type ClawHubError, isClawHubError } from "../../src/errors/index.ts";
import { createHub, type Hub, type HubOptions } from "../../src/hub/index.ts";
import {
  type Agent,
  type AgentOptions,
  createAgent,
  createHubClient,
  type HubClient,
} from "../../src/sdk/index.ts";
import { hubProtocol } from "../../src/wire/index.ts";

/** A hub on a free loopback port, with helpers that stop everything they started. */
export interface HubSandbox {
  hub: Hub;
  client: HubClient;
  agent(options: Omit<AgentOptions, "hub">): Agent;
  /** Starts a hub on the same port again (after `hub.close()`). */
  restart(options?: HubOptions): Promise<Hub>;
  close(): Promise<void>;
}

export async function createHubSandbox(options: HubOptions = {}): Promise<HubSandbox> {
  let hub = await createHub({ port: 0, heartbeatIntervalMs: 200, ...options });
  const port = hub.port;
  const client = createHubClient({ hub: hub.address });
  const agents: Agent[] = [];
  return {
    get hub() {
      return hub;
    },
    client,
    agent(opts) {
      const agent = createAgent({
        hub: `127.0.0.1:${port}`,
        handleSignals: false,
        reconnect: { initialMs: 50, maxMs: 200 },
        ...opts,
      });
      agents.push(agent);
      return agent;
    },
    async restart(extra = {}) {
      hub = await createHub({ port, heartbeatIntervalMs: 200, ...options, ...extra });
      return hub;
    },
    async close() {
      await Promise.all(agents.map((a) => a.stop()));
      client.close();
      await hub.close();
    },
  };
}

/** Resolves when `check` holds (polled every 10 ms), or rejects after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The ClawHubError a promise rejects with (anything else, or success, fails the test). */
export async function rejection(promise: Promise<unknown>): Promise<ClawHubError> {
  try {
    await promise;
  } catch (error) {
    if (isClawHubError(error)) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}

/** A promise to resolve from outside: holds handlers until a test releases them. */
export function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

/**
 * An AgentService.Connect stream over bare HTTP/2 (no grpc-js), for a peer that really stops
 * reading: grpc-js keeps reading into its own buffer while its stream is paused, so only here
 * does the hub's side see HTTP/2 flow control push back.
 */
export function stalledAgentStream(address: string) {
  const session = http2.connect(`http://${address}`);
  session.on("error", () => {});
  const stream = session.request({
    ":method": "POST",
    ":path": "/clawhub.hub.v1.AgentService/Connect",
    "content-type": "application/grpc",
    te: "trailers",
  });
  const serialize = hubProtocol().AgentService.service.Connect?.requestSerialize as (
    message: unknown,
  ) => Buffer;
  // The HTTP/2 code the hub reset the stream with (grpc-js reports ENHANCE_YOUR_CALM as
  // RESOURCE_EXHAUSTED), or undefined when it ended normally.
  const ended = new Promise<number | undefined>((resolve) => {
    // A paused stream emits no "close" until read: a reset shows as "aborted" or "error".
    for (const event of ["aborted", "error", "close"])
      stream.once(event, () => resolve(stream.rstCode || undefined));
  });
  return {
    write(message: unknown) {
      const body = serialize(message);
      const frame = Buffer.alloc(5 + body.length);
      frame.writeUInt32BE(body.length, 1);
      body.copy(frame, 5);
      stream.write(frame);
    },
    /** Stops reading: no more flow-control window is given to the hub. */
    stall() {
      stream.pause();
    },
    /** Resolves with the HTTP/2 code the hub reset the stream with, if any. */
    ended,
    close() {
      stream.close();
      session.close();
    },
  };
}
