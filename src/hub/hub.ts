/**
 * The hub's composition root: the core's rooms (core.ts), the workflow engine, and the gRPC
 * services that put them on the network.
 */
import { createHash, X509Certificate } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { type ControlPlane, createMemoryControlPlane } from "../control-plane/index.ts";
import { ClawHubError } from "../errors/index.ts";
import { decodePayload, failStream, hubProtocol, type WireAgentInfo } from "../wire/index.ts";
import {
  type CapabilityInfo,
  createWorkflowEngine,
  type WorkflowEngine,
  type WorkflowEngineOptions,
  workflowService,
} from "../workflow/index.ts";
import type { CapabilityMatch } from "./capabilities.ts";
import { createHubCore, type HubCore, type HubCoreOptions } from "./core.ts";
import type { CallInput } from "./dispatcher.ts";
import { agentService } from "./grpc/agent-service.ts";
import { callerService } from "./grpc/caller-service.ts";
import { requireIdentity } from "./grpc/guard.ts";
import { identityService } from "./grpc/identity-service.ts";
import { startGrpcServer } from "./grpc/server.ts";
import { describeProblems } from "./schema.ts";
import type { HubSecurity } from "./security.ts";
import type { CallOutcome, PeerIdentity } from "./types.ts";

/** Options of {@link createHub}. Every limit is explicit; docs/hub.md lists the defaults. */
export interface HubOptions extends Omit<HubCoreOptions, "controlPlane"> {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 7070; 0 picks a free port. */
  port?: number;
  /** Default: a fresh in-process control plane. */
  controlPlane?: ControlPlane;
  /** Workflow engine settings (breakers, bulkheads, retention); false: no WorkflowService. */
  workflows?:
    | false
    | Pick<
        WorkflowEngineOptions,
        "breaker" | "bulkhead" | "retainRunsMs" | "maxJournalBytes" | "limits"
      >;
  /**
   * How long a workflow task waits for an agent serving its capability to connect (after a hub
   * restart agents need a moment to reconnect). Default 30 s.
   */
  capabilityWaitMs?: number;
  /**
   * Mutual TLS: the hub's certificate and key (issued by `caPem`'s CA), and the attested
   * identity of each verified peer. Agents and callers must present a certificate of that CA;
   * an agent registers under its own identity with its attested labels. Without it the hub is
   * plaintext (loopback development only).
   */
  tls?: HubTls;
  /**
   * A secured hub ({@link createHubSecurity}): mutual TLS with certificates of its own CA,
   * enrollment by one-time token on the same port (IdentityService: no certificate needed to
   * enroll), an enrolled identity checked on every RPC, renewal and revocation. Takes the
   * place of `tls`.
   */
  security?: HubSecurity;
}

/** The hub's side of mutual TLS. */
export interface HubTls {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** What enrollment attested for a verified certificate's identity; undefined refuses it. */
  attest(uri: string): PeerIdentity | undefined;
}

/** The identity a peer's certificate names, as its enrollment attested it. */
function peerIdentity(
  tls: HubTls,
  revoked: ReadonlySet<string>,
  call: { getAuthContext?: () => { sslPeerCertificate?: { raw?: Buffer } } },
): PeerIdentity {
  const raw = call.getAuthContext?.().sslPeerCertificate?.raw;
  if (!raw) throw new ClawHubError("UNAUTHENTICATED", "no client certificate");
  const san = new X509Certificate(raw).subjectAltName ?? "";
  const uri = /URI:(spiffe:\/\/[^,\s]+)/.exec(san)?.[1];
  if (!uri) throw new ClawHubError("UNAUTHENTICATED", "the client certificate names no identity");
  if (revoked.has(uri)) throw new ClawHubError("UNAUTHENTICATED", `${uri} is revoked`);
  const identity = tls.attest(uri);
  if (!identity) throw new ClawHubError("UNAUTHENTICATED", `${uri} is not enrolled with this hub`);
  return identity;
}

/** A running hub: gRPC server plus the same operations in process. */
export interface Hub {
  readonly id: string;
  /** `host:port` it listens on. */
  readonly address: string;
  readonly port: number;
  /** The hub below its transport (rooms, in-process calls). */
  readonly core: HubCore;
  call(input: CallInput): Promise<CallOutcome>;
  discover(query: string, options?: { limit?: number }): Promise<CapabilityMatch[]>;
  agents(): WireAgentInfo[];
  /** Resolves when capabilities registered so far are searchable by meaning. */
  idle(): Promise<void>;
  /** What is known of each connected capability (schemas, context limit). */
  catalog(): Map<string, CapabilityInfo>;
  /** The workflow engine (runs are journaled in the control plane). */
  readonly workflows: WorkflowEngine | undefined;
  /**
   * Revokes an identity (secured hubs): its agent sessions end at once, and its certificate is
   * refused from then on, also after a restart (the list is kept in the control plane).
   */
  revoke(uri: string): Promise<{ sessionsEnded: number }>;
  /** Stops accepting, ends every agent stream and call, and stops the server. */
  close(): Promise<void>;
}

/**
 * Starts a hub: agents connect over gRPC and register capabilities; callers' tasks are routed
 * to them by name or meaning and by load (routing.ts), with bounded per-agent queues,
 * deadlines, cancellation, and retries on another agent when one fails or dies.
 */
export async function createHub(options: HubOptions = {}): Promise<Hub> {
  const now = options.now ?? Date.now;
  const ownControlPlane = !options.controlPlane;
  const cp = options.controlPlane ?? createMemoryControlPlane({ now });
  // One breaker setting for both layers: the hub's per-agent circuits and the workflows'.
  const wfBreaker = options.workflows ? options.workflows.breaker : undefined;
  const core = createHubCore({
    ...options,
    controlPlane: cp,
    breaker: {
      ...((options.breaker?.failures ?? wfBreaker?.failures)
        ? { failures: options.breaker?.failures ?? wfBreaker?.failures }
        : {}),
      ...((options.breaker?.cooldownMs ?? wfBreaker?.halfOpenAfterMs)
        ? { cooldownMs: options.breaker?.cooldownMs ?? wfBreaker?.halfOpenAfterMs }
        : {}),
    },
  });
  const log = core.ctx.log;
  const capabilityWaitMs = options.capabilityWaitMs ?? 30_000;

  const workflows =
    options.workflows === false
      ? undefined
      : createWorkflowEngine({
          ...options.workflows,
          breaker: {
            failures: core.ctx.config.breaker.failures,
            halfOpenAfterMs: core.ctx.config.breaker.cooldownMs,
            ...options.workflows?.breaker,
          },
          controlPlane: cp,
          now,
          newId: core.ctx.newId,
          logger: log,
          emit: (kind, data) => core.ctx.emit(kind, data),
          runner: {
            async call(req) {
              if (req.capability) {
                const until = Math.min(
                  req.deadline ?? Number.POSITIVE_INFINITY,
                  now() + capabilityWaitMs,
                );
                await core.capabilities.waitFor(req.capability, until, req.signal);
              }
              const outcome = await core.call({
                capability: req.capability,
                query: req.query,
                input: req.input,
                params: req.params,
                idempotencyKey: req.idempotencyKey,
                attemptBase: req.attempt - 1,
                maxTokens: req.maxTokens,
                deadline: req.deadline,
                signal: req.signal,
                // The workflow's own retry policy decides about further attempts.
                maxAttempts: 1,
                caller: req.caller,
              });
              return {
                output: decodePayload(outcome.output),
                tokens: outcome.usage.totalTokens,
                agentId: outcome.agentId,
              };
            },
            contextLimits() {
              const out: Record<string, number> = {};
              for (const [name, info] of core.catalog())
                if (info.contextLimit) out[name] = info.contextLimit;
              return out;
            },
          },
        });

  const protocol = hubProtocol();
  const tls = options.tls;
  const security = options.security;
  if (tls && security) throw new ClawHubError("USAGE", "createHub takes tls or security, not both");
  // Revoked identities, kept in the control plane (hub.revoked.<sha256 of the URI>).
  const revoked = new Set<string>();
  // Caller streams (Calls, Events...) by identity: a revocation ends them too.
  const openStreams = new Map<string, Set<NodeJS.EventEmitter>>();
  if (tls)
    for (const key of await cp.kv.keys("hub.revoked")) {
      const entry = (await cp.kv.get(key))?.value as { uri?: unknown } | undefined;
      if (typeof entry?.uri === "string") revoked.add(entry.uri);
    }
  /** Who a call's peer is (secured hubs), verified from its certificate; throws otherwise. */
  const identify: ((call: unknown) => PeerIdentity) | undefined = security
    ? (call) => security.identify(call)
    : tls
      ? (call) => peerIdentity(tls, revoked, call as Parameters<typeof peerIdentity>[2])
      : undefined;
  // Request signatures and the audit trail join when the SDK signs (docs/hub.md).
  const callers = callerService(core, identify ? { identify } : undefined);
  // On a secured hub every caller and workflow RPC needs an enrolled identity, not only a
  // certificate of the CA.
  const secured = (impl: grpc.UntypedServiceImplementation) =>
    identify
      ? requireIdentity(impl, identify, (uri, stream) => {
          const set = openStreams.get(uri) ?? new Set();
          set.add(stream);
          openStreams.set(uri, set);
          const forget = () => {
            set.delete(stream);
            if (set.size === 0) openStreams.delete(uri);
          };
          for (const event of ["close", "finish", "cancelled", "error"]) stream.once(event, forget);
        })
      : impl;
  async function revoke(uri: string, actor?: string) {
    if (security) await security.revoke(uri, actor);
    else {
      revoked.add(uri);
      await cp.kv.put(`hub.revoked.${createHash("sha256").update(uri).digest("hex")}`, { uri });
    }
    const streams = [...(openStreams.get(uri) ?? [])];
    for (const stream of streams)
      failStream(stream, new ClawHubError("UNAUTHENTICATED", `${uri} is revoked`));
    openStreams.delete(uri);
    const sessionsEnded = core.sessions.dropIdentity(uri, `identity ${uri} revoked`);
    log(`hub: revoked ${uri}${actor ? ` by ${actor}` : ""}; ${sessionsEnded} session(s) ended`);
    return { sessionsEnded: sessionsEnded + streams.length };
  }
  const server = await startGrpcServer({
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 7070,
    ...(security
      ? { credentials: security.serverCredentials() }
      : tls
        ? {
            credentials: grpc.ServerCredentials.createSsl(
              Buffer.from(tls.caPem),
              [{ cert_chain: Buffer.from(tls.certPem), private_key: Buffer.from(tls.keyPem) }],
              true,
            ),
          }
        : {}),
    services: [
      [protocol.AgentService.service, agentService(core, identify ? { identify } : undefined)],
      [protocol.CallerService.service, secured(callers.implementation)],
      [
        protocol.WorkflowService.service,
        secured(
          workflowService({
            engine: workflows,
            catalog: () => core.catalog(),
            maxPeerBufferBytes: core.ctx.config.maxPeerBufferBytes,
            ...(identify
              ? {
                  viewerOf: (call: unknown) => {
                    const peer = identify(call);
                    return { uri: peer.uri, admin: peer.roles.includes("admin") };
                  },
                }
              : {}),
            async checkInputs(spec, inputs) {
              if (!spec.inputs) return;
              const schema = await core.ctx.schemas.compile(
                JSON.stringify(spec.inputs),
                `workflow "${spec.name}" inputs`,
              );
              try {
                const problems = schema.validate(inputs);
                if (problems.length > 0)
                  throw new ClawHubError(
                    "SCHEMA_INVALID",
                    `inputs do not match the workflow's inputs schema: ${describeProblems(problems)}`,
                    { details: { errors: problems } },
                  );
              } finally {
                schema.release();
              }
            },
          }),
        ),
      ],
      ...(security
        ? ([
            [
              protocol.IdentityService.service,
              identityService(security, (uri, actor) => revoke(uri, actor)),
            ],
          ] as Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation]>)
        : []),
    ],
  });
  const sweeper = setInterval(
    () => core.sessions.sweep(),
    Math.max(50, Math.min(core.ctx.config.heartbeatIntervalMs, 1000)),
  );
  sweeper.unref();
  const stale = await core.sessions.forgetStale();
  if (stale > 0) log(`hub: removed ${stale} agent record(s) left by an earlier process`);
  // Runs the journal shows as running continue; their tasks wait for agents to reconnect.
  if (workflows) {
    const resumed = await workflows.recover();
    if (resumed.length > 0) log(`hub: resumed ${resumed.length} workflow run(s) from the journal`);
  }
  let closed = false;

  return {
    id: core.id,
    address: server.address,
    port: server.port,
    core,
    call: (input) => core.call(input),
    discover: (query, opts) => core.discover(query, opts),
    agents: () => core.agents(),
    idle: () => core.capabilities.idle(),
    catalog: () => core.catalog(),
    workflows,
    revoke: (uri) => revoke(uri),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      await workflows?.close();
      core.close();
      // Let the failed calls' results reach their streams before those end.
      await new Promise((resolve) => setImmediate(resolve));
      callers.close();
      await server.close();
      if (ownControlPlane) await cp.close();
    },
  };
}

/** Decodes a call's output payload (tensors restored). */
export function outputOf(outcome: CallOutcome): unknown {
  return decodePayload(outcome.output);
}
