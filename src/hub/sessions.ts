/**
 * Agent sessions: registration (with its limits), telemetry and heartbeats, the sweep that
 * drops silent agents, and the agent records kept in the control plane.
 */
import { ClawHubError } from "../errors/index.ts";
import { createBreaker } from "../resilience/index.ts";
import { AGENT_ID, CAPABILITY_NAME, checkName, subjectMatches } from "../schema/index.ts";
import type { WireAgentInfo, WireRegister, WireTelemetry } from "../wire/index.ts";
import type { SchemaRef } from "./schema.ts";
import type { AgentChannel, CapabilityEntry, HubContext, Session } from "./types.ts";

/** Most capabilities one agent registers. */
export const MAX_CAPABILITIES = 256;
/** Most labels one agent carries. */
export const MAX_LABELS = 64;
const MAX_LABEL_LENGTH = 256;
const MAX_DESCRIPTION_LENGTH = 4096;

/** The sessions room's face. */
export interface Sessions {
  /**
   * Registers an agent on a channel (rejects with INVALID_ARGUMENT for a bad registration).
   * Asynchronous: its schemas compile on the work pool. `stillWanted` is asked once they have:
   * false (the stream ended meanwhile) releases them and rejects with CANCELLED.
   */
  register(
    channel: AgentChannel,
    registration: WireRegister,
    stillWanted?: () => boolean,
  ): Promise<Session>;
  /** Removes an agent: the `onGone` hook re-routes its work and frees what it held. */
  /** Ends a session; `error`, when given, is what its agent is told. */
  drop(session: Session, reason: string, error?: ClawHubError): void;
  /** Drops every session of an identity (revoked): returns how many. */
  dropIdentity(uri: string, reason: string): number;
  heartbeat(session: Session, telemetry: WireTelemetry | null): void;
  /** New telemetry between heartbeats (sent when it changes materially). */
  telemetry(session: Session, telemetry: WireTelemetry): void;
  /** Drops agents silent for longer than the heartbeat timeout. */
  sweep(): void;
  list(): WireAgentInfo[];
  /** Removes agent records a previous process of this node left in the control plane. */
  forgetStale(): Promise<number>;
  close(reason: string): void;
}

/** Options of {@link createSessions}. */
export interface SessionsOptions {
  /** A new session's capabilities are served (index them). */
  onRegistered(session: Session): void;
  /** A session is gone: move its work elsewhere, release what it held. */
  onGone(session: Session, reason: string): void;
}

const zeroTelemetry = (): WireTelemetry => ({
  inFlight: 0,
  queueDepth: 0,
  kvCacheUtilization: 0,
  vramUsedBytes: 0,
  vramTotalBytes: 0,
  tokensPerSecond: 0,
});

/** Telemetry with every field a finite, non-negative number (it is the agent's word). */
function cleanTelemetry(t: WireTelemetry | null | undefined): WireTelemetry {
  const n = (v: unknown, max = Number.MAX_SAFE_INTEGER) =>
    typeof v === "number" && Number.isFinite(v) ? Math.min(max, Math.max(0, v)) : 0;
  if (!t) return zeroTelemetry();
  return {
    inFlight: n(t.inFlight),
    queueDepth: n(t.queueDepth),
    kvCacheUtilization: n(t.kvCacheUtilization, 1),
    vramUsedBytes: n(t.vramUsedBytes),
    vramTotalBytes: n(t.vramTotalBytes),
    tokensPerSecond: n(t.tokensPerSecond),
  };
}

const agentKey = (id: string) => `hub.agents.${id}`;

export function createSessions(ctx: HubContext, options: SessionsOptions): Sessions {
  const { config, sessions } = ctx;

  async function compile(reg: WireRegister): Promise<Map<string, CapabilityEntry>> {
    const names = new Set<string>();
    for (const spec of reg.capabilities) {
      checkName(CAPABILITY_NAME, spec.name);
      if (names.has(spec.name))
        throw new ClawHubError("INVALID_ARGUMENT", `capability "${spec.name}" registered twice`);
      names.add(spec.name);
      if (spec.description.length > MAX_DESCRIPTION_LENGTH)
        throw new ClawHubError(
          "INVALID_ARGUMENT",
          `capability "${spec.name}": the description is longer than ${MAX_DESCRIPTION_LENGTH} characters`,
        );
    }
    // Every schema compiles before any is kept: one bad schema releases the others.
    const compiled = await Promise.allSettled(
      reg.capabilities.flatMap((spec) => [
        ctx.schemas.compile(spec.inputSchema, `capability "${spec.name}" input schema`),
        ctx.schemas.compile(spec.outputSchema, `capability "${spec.name}" output schema`),
      ]),
    );
    const failed = compiled.find((c) => c.status === "rejected");
    if (failed) {
      for (const c of compiled) if (c.status === "fulfilled") c.value.release();
      throw failed.reason;
    }
    const refs = compiled.map((c) => (c as PromiseFulfilledResult<SchemaRef>).value);
    const capabilities = new Map<string, CapabilityEntry>();
    reg.capabilities.forEach((spec, i) => {
      const input = refs[2 * i] as SchemaRef;
      const output = refs[2 * i + 1] as SchemaRef;
      capabilities.set(spec.name, {
        spec: {
          ...spec,
          maxConcurrency: Math.min(10_000, Math.max(1, spec.maxConcurrency || 1)),
        },
        validateInput: input.validate,
        validateOutput: output.validate,
        release() {
          input.release();
          output.release();
        },
        running: 0,
        breaker: createBreaker({
          failures: config.breaker.failures,
          halfOpenAfterMs: config.breaker.cooldownMs,
          now: ctx.now,
        }),
        latencyMs: 0,
        failureRate: 0,
      });
    });
    return capabilities;
  }

  function record(session: Session) {
    ctx.cp.kv
      .put(agentKey(session.id), {
        hubId: config.hubId,
        node: config.node,
        name: session.name,
        labels: session.labels,
        capabilities: [...session.capabilities.keys()],
        connectedAt: session.connectedAt,
      })
      .catch(() => {});
  }

  const room: Sessions = {
    async register(channel, reg, stillWanted = () => true) {
      if (ctx.closing) throw new ClawHubError("UNAVAILABLE", "the hub is shutting down");
      checkName(AGENT_ID, reg.agentId);
      if (!reg.name.trim() || reg.name.length > 128)
        throw new ClawHubError("INVALID_ARGUMENT", "an agent needs a name of 1-128 characters");
      if (reg.capabilities.length === 0 || reg.capabilities.length > MAX_CAPABILITIES)
        throw new ClawHubError(
          "INVALID_ARGUMENT",
          `an agent registers 1-${MAX_CAPABILITIES} capabilities, got ${reg.capabilities.length}`,
        );
      const labels = Object.entries(reg.labels);
      if (labels.length > MAX_LABELS)
        throw new ClawHubError("INVALID_ARGUMENT", `at most ${MAX_LABELS} labels`);
      if (labels.some(([k, v]) => k.length > MAX_LABEL_LENGTH || v.length > MAX_LABEL_LENGTH))
        throw new ClawHubError(
          "INVALID_ARGUMENT",
          `label keys and values are at most ${MAX_LABEL_LENGTH} characters`,
        );
      const proven = channel.identity;
      if (proven) {
        // On a secured hub the certificate decides: an agent registers under its own identity's
        // name, and only with the labels its enrollment attested.
        if (proven.kind !== "agent")
          throw new ClawHubError("FORBIDDEN", `${proven.uri} is not an agent identity`);
        if (reg.agentId !== proven.name)
          throw new ClawHubError(
            "FORBIDDEN",
            `agent id "${reg.agentId}" belongs to another identity; this connection is ${proven.uri}`,
          );
        const allowed = proven.capabilities ?? [];
        if (allowed.length > 0)
          for (const spec of reg.capabilities)
            if (!allowed.some((pattern) => subjectMatches(pattern, spec.name)))
              throw new ClawHubError(
                "FORBIDDEN",
                `${proven.uri} may not serve "${spec.name}" (enrolled for ${allowed.join(", ")})`,
                { hint: "Enroll the agent with --capability for what it serves." },
              );
        for (const [k, v] of labels)
          if (proven.labels[k] !== v)
            throw new ClawHubError(
              "FORBIDDEN",
              `label ${k}=${v} was not attested for ${proven.uri} (labels come from enrollment)`,
            );
      }
      const capabilities = await compile(reg);
      if (ctx.closing || !stillWanted()) {
        for (const entry of capabilities.values()) entry.release();
        throw new ClawHubError(
          ctx.closing ? "UNAVAILABLE" : "CANCELLED",
          ctx.closing ? "the hub is shutting down" : "the stream ended while it registered",
        );
      }
      // Two connections of one agent id: the newer replaces the older once, and the older is
      // told why with CONFLICT, on which the SDK stops instead of reconnecting. A reconnect after
      // a network blip is the newer connection (the older stream is dead anyway); two processes
      // sharing an id no longer evict each other in a loop (one stops, its operator sees why).
      const previous = sessions.get(reg.agentId);
      if (previous)
        room.drop(
          previous,
          `replaced by a newer connection of ${proven ? proven.uri : `agent id ${reg.agentId}`} from ${channel.peer}`,
          new ClawHubError(
            "CONFLICT",
            `replaced by a newer connection of ${proven ? proven.uri : `agent id "${reg.agentId}"`} (from ${channel.peer}): two processes must not share one agent identity`,
            {
              hint: "Give each process its own identity (`clawhub hub enroll <name>`) or agent id.",
            },
          ),
        );
      const at = ctx.now();
      const session: Session = {
        id: reg.agentId,
        name: reg.name,
        labels: proven ? { ...proven.labels } : { ...reg.labels },
        capabilities,
        channel,
        queueLimit: Math.min(config.queueLimit, reg.queueLimit || config.queueLimit),
        telemetry: cleanTelemetry(reg.telemetry),
        connectedAt: at,
        lastHeartbeat: at,
        lastDispatchAt: 0,
        draining: false,
        running: new Map(),
        queue: [],
        heldBytes: 0,
        leases: new Map(),
        subscriptions: new Map(),
        gone: false,
      };
      sessions.set(session.id, session);
      options.onRegistered(session);
      record(session);
      channel.send({
        kind: "registered",
        registered: {
          agentId: session.id,
          hubId: config.hubId,
          heartbeatIntervalMs: config.heartbeatIntervalMs,
        },
      });
      ctx.emit("agent.connected", {
        agentId: session.id,
        name: session.name,
        capabilities: [...capabilities.keys()],
      });
      ctx.logConnection(
        "connection",
        `hub: agent ${session.name} (${session.id}) connected from ${channel.peer} with ${capabilities.size} capabilities`,
      );
      return session;
    },

    dropIdentity(uri, reason) {
      let n = 0;
      for (const session of [...sessions.values()])
        if (session.channel.identity?.uri === uri) {
          room.drop(session, reason);
          n++;
        }
      return n;
    },
    drop(session, reason, error) {
      if (session.gone) return;
      session.gone = true;
      if (sessions.get(session.id) === session) sessions.delete(session.id);
      for (const entry of session.capabilities.values()) entry.release();
      try {
        session.channel.end(error);
      } catch {
        // The connection is already gone.
      }
      if (!sessions.has(session.id)) ctx.cp.kv.delete(agentKey(session.id)).catch(() => {});
      ctx.emit("agent.disconnected", { agentId: session.id, reason });
      ctx.logConnection("connection", `hub: agent ${session.name} (${session.id}) gone: ${reason}`);
      options.onGone(session, reason);
    },

    heartbeat(session, telemetry) {
      session.lastHeartbeat = ctx.now();
      if (telemetry) session.telemetry = cleanTelemetry(telemetry);
    },

    telemetry(session, telemetry) {
      session.telemetry = cleanTelemetry(telemetry);
    },

    sweep() {
      const limit = ctx.now() - config.heartbeatTimeoutMs;
      for (const session of [...sessions.values()]) {
        if (session.lastHeartbeat < limit)
          room.drop(session, `missed heartbeats for ${config.heartbeatTimeoutMs} ms`);
      }
    },

    list() {
      return [...sessions.values()]
        .map(
          (s): WireAgentInfo => ({
            agentId: s.id,
            name: s.name,
            labels: s.labels,
            capabilities: [...s.capabilities.values()].map((c) => c.spec),
            telemetry: s.telemetry,
            inFlight: s.running.size,
            queued: s.queue.length,
            connectedAtUnixMs: s.connectedAt,
            lastHeartbeatUnixMs: s.lastHeartbeat,
            draining: s.draining,
          }),
        )
        .sort((a, b) => a.name.localeCompare(b.name) || a.agentId.localeCompare(b.agentId));
    },

    async forgetStale() {
      let removed = 0;
      for (const key of await ctx.cp.kv.keys("hub.agents")) {
        const entry = await ctx.cp.kv.get<{ hubId?: string; node?: string }>(key);
        const value = entry?.value;
        // Records of this node written by an earlier process are stale: its agents reconnect.
        if (
          !value ||
          (value.hubId !== config.hubId && (value.node ?? config.node) === config.node)
        ) {
          await ctx.cp.kv.delete(key).catch(() => {});
          removed++;
        }
      }
      return removed;
    },

    close(reason) {
      for (const session of [...sessions.values()]) room.drop(session, reason);
    },
  };
  return room;
}
