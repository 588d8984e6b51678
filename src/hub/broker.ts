/**
 * Locks and pub/sub for agents, over the control plane: leases held by a session (optionally
 * bound to one task, released when it ends), topic subscriptions relayed onto the agent's
 * channel, and events published by agents.
 */
import { createHash } from "node:crypto";
import { taskFailure, toClawHubError } from "../errors/index.ts";
import { isName, TOPIC, TOPIC_PATTERN } from "../schema/index.ts";
import {
  failureToWire,
  payloadBytes,
  type WireLockRequest,
  type WirePayload,
} from "../wire/index.ts";
import type { HubContext, Session } from "./types.ts";

/** Longest lock a lease may hold, and the default. */
export const MAX_LOCK_TTL_MS = 3_600_000;
const DEFAULT_LOCK_TTL_MS = 30_000;
const MAX_LOCK_WAIT_MS = 600_000;
/** Subscriptions one agent may hold. */
export const MAX_SUBSCRIPTIONS = 256;

/** The broker room's face. */
export interface Broker {
  lock(session: Session, request: WireLockRequest): void;
  unlock(session: Session, resource: string, token: number): void;
  publish(session: Session, topic: string, data: WirePayload | null): void;
  subscribe(session: Session, topic: string, unsubscribe: boolean): void;
  /** The task ended: release the leases bound to it. */
  releaseTask(session: Session, taskId: string): void;
  /** The agent is gone: release everything it held. */
  releaseSession(session: Session): void;
}

/** An event's header on the control plane; its payload's bytes travel beside it. */
interface EventHeader {
  topic: string;
  from: string;
  /** Null: no payload. Otherwise the JSON's length and each tensor's, in the bytes' order. */
  payload: { json: number; tensors: Array<Record<string, unknown> & { bytes: number }> } | null;
}

/**
 * An event for the control plane: a small JSON header, and the payload's JSON and tensors as one
 * buffer beside it. Base64 inside JSON, serialized once and parsed per subscriber, held the
 * loop twice as long for an 8 MiB event; bytes are copied once here and sliced per subscriber.
 */
function eventOf(topic: string, from: string, payload: WirePayload | null) {
  if (!payload) return { header: { topic, from, payload: null } satisfies EventHeader };
  const parts = [payload.json, ...payload.tensors.map((t) => t.data)];
  const header: EventHeader = {
    topic,
    from,
    payload: {
      json: payload.json.byteLength,
      tensors: payload.tensors.map(({ data, ...meta }) => ({ ...meta, bytes: data.byteLength })),
    },
  };
  return { header, bytes: Buffer.concat(parts) };
}
function payloadOf(header: EventHeader, bytes: Uint8Array | undefined): WirePayload | null {
  const p = header.payload;
  if (!p) return null;
  const all = bytes ?? new Uint8Array(0);
  let at = p.json;
  return {
    json: all.subarray(0, p.json),
    tensors: p.tensors.map(({ bytes: n, ...meta }) => {
      const data = all.subarray(at, at + n);
      at += n;
      return { ...(meta as unknown as WirePayload["tensors"][number]), data };
    }),
  };
}

/**
 * On a secured hub lock resources and topics are the identity's own: `doc.42` of one identity
 * is not `doc.42` of another, and `>` subscribes to its own topics only. Names under `shared.`
 * are shared explicitly (the policy issue decides who may use which). Identity names may hold
 * dots, so the namespace is a digest of the identity, not its name.
 */
export const SHARED_PREFIX = "shared.";
function scoped(session: Session, name: string): string {
  const uri = session.channel.identity?.uri;
  if (!uri || name.startsWith(SHARED_PREFIX)) return name;
  return `id-${createHash("sha256").update(uri).digest("hex").slice(0, 24)}.${name}`;
}

export function createBroker(ctx: HubContext): Broker {
  return {
    lock(session, req) {
      const reply = (body: {
        token?: number;
        expiresAtUnixMs?: number;
        error?: ReturnType<typeof failureToWire>;
      }) =>
        session.channel.send({
          kind: "lock",
          lock: {
            requestId: req.requestId,
            token: body.token ?? 0,
            expiresAtUnixMs: body.expiresAtUnixMs ?? 0,
            error: body.error ?? null,
          },
        });
      if (!isName(TOPIC, req.resource)) {
        reply({
          error: failureToWire(
            taskFailure(
              "INVALID_ARGUMENT",
              `invalid lock resource ${JSON.stringify(req.resource.slice(0, 100))}`,
              {
                nonRetryable: true,
              },
            ),
          ),
        });
        return;
      }
      const ttlMs = Math.min(MAX_LOCK_TTL_MS, Math.max(100, req.ttlMs || DEFAULT_LOCK_TTL_MS));
      ctx.cp.locks
        .acquire(scoped(session, req.resource), {
          owner: `${session.id}/${req.taskId || "agent"}`,
          ttlMs,
          waitMs: Math.min(req.waitMs, MAX_LOCK_WAIT_MS),
        })
        .then(
          (lease) => {
            const bound = req.taskId && !session.running.has(req.taskId);
            if (session.gone || bound) {
              lease.release().catch(() => {});
              reply({
                error: failureToWire(
                  taskFailure("CANCELLED", "the task or agent ended before the lock was granted", {
                    nonRetryable: true,
                  }),
                ),
              });
              return;
            }
            session.leases.set(`${req.resource}#${lease.token}`, { lease, taskId: req.taskId });
            reply({ token: lease.token, expiresAtUnixMs: lease.expiresAt });
          },
          (error: unknown) => {
            const e = toClawHubError(error);
            reply({
              error: failureToWire(
                taskFailure(e.code, e.message, {
                  nonRetryable: e.code !== "CONFLICT",
                  details: e.details,
                }),
              ),
            });
          },
        );
    },

    unlock(session, resource, token) {
      const key = `${resource}#${token}`;
      const held = session.leases.get(key);
      if (!held) return;
      session.leases.delete(key);
      held.lease.release().catch(() => {});
    },

    publish(session, topic, data) {
      if (!isName(TOPIC, topic)) return;
      const bytes = payloadBytes(data);
      if (bytes > ctx.config.maxEventBytes) {
        // As NATS refuses a payload over max_payload: every subscriber gets a frame of its
        // own, so an event's cost grows with its size times its readers (docs/security.md).
        ctx.logConnection(
          "stream error",
          `hub: event on ${topic} from agent ${session.id} dropped: ${Math.ceil(bytes / 1024)} KiB, over the ${Math.round(ctx.config.maxEventBytes / 1024)} KiB limit`,
        );
        return;
      }
      const event = eventOf(topic, session.channel.identity?.uri ?? session.id, data);
      ctx.cp.publish(`topics.${scoped(session, topic)}`, event.header, event.bytes).catch(() => {});
    },

    subscribe(session, topic, unsubscribe) {
      if (!isName(TOPIC_PATTERN, topic)) return;
      session.subscriptions.get(topic)?.unsubscribe();
      session.subscriptions.delete(topic);
      if (unsubscribe || session.subscriptions.size >= MAX_SUBSCRIPTIONS) return;
      session.subscriptions.set(
        topic,
        ctx.cp.subscribe<EventHeader>(`topics.${scoped(session, topic)}`, (m) =>
          session.channel.send({
            kind: "event",
            event: {
              topic: m.data.topic,
              data: payloadOf(m.data, m.bytes),
              publisher: m.data.from ?? "",
            },
          }),
        ),
      );
    },

    releaseTask(session, taskId) {
      for (const [key, held] of session.leases) {
        if (held.taskId === taskId) {
          session.leases.delete(key);
          held.lease.release().catch(() => {});
        }
      }
    },

    releaseSession(session) {
      for (const { lease } of session.leases.values()) lease.release().catch(() => {});
      session.leases.clear();
      for (const sub of session.subscriptions.values()) sub.unsubscribe();
      session.subscriptions.clear();
    },
  };
}
