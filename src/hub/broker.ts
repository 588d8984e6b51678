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

type JsonPayload = { json: string; tensors: Array<Record<string, unknown>> } | null;

/** A payload in a JSON-safe form, for events that cross the control plane. */
function payloadToJson(payload: WirePayload | null): JsonPayload {
  if (!payload) return null;
  return {
    json: Buffer.from(payload.json).toString("base64"),
    tensors: payload.tensors.map((t) => ({ ...t, data: Buffer.from(t.data).toString("base64") })),
  };
}
function payloadFromJson(value: JsonPayload): WirePayload | null {
  if (!value) return null;
  return {
    json: Buffer.from(value.json, "base64"),
    tensors: value.tensors.map((t) => ({
      ...(t as unknown as WirePayload["tensors"][number]),
      data: Buffer.from(String(t.data), "base64"),
    })),
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
        // As NATS refuses a payload over max_payload: every subscriber would get a copy, and
        // the copies of an 8 MiB event held the event loop ~300 ms (docs/security.md).
        ctx.logConnection(
          "stream error",
          `hub: event on ${topic} from agent ${session.id} dropped: ${Math.ceil(bytes / 1024)} KiB, over the ${Math.round(ctx.config.maxEventBytes / 1024)} KiB limit`,
        );
        return;
      }
      ctx.cp
        .publish(`topics.${scoped(session, topic)}`, {
          topic,
          from: session.channel.identity?.uri ?? session.id,
          data: payloadToJson(data),
        })
        .catch(() => {});
    },

    subscribe(session, topic, unsubscribe) {
      if (!isName(TOPIC_PATTERN, topic)) return;
      session.subscriptions.get(topic)?.unsubscribe();
      session.subscriptions.delete(topic);
      if (unsubscribe || session.subscriptions.size >= MAX_SUBSCRIPTIONS) return;
      session.subscriptions.set(
        topic,
        ctx.cp.subscribe<{ topic: string; from?: string; data: JsonPayload }>(
          `topics.${scoped(session, topic)}`,
          (m) =>
            session.channel.send({
              kind: "event",
              event: {
                topic: m.data.topic,
                data: payloadFromJson(m.data.data),
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
