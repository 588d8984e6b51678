/**
 * The hub's composition root: the core's rooms (core.ts), the workflow engine, who may talk to
 * them (trust.ts), and the gRPC services that put them on the network.
 */
import type * as grpc from "@grpc/grpc-js";
import { type ControlPlane, createMemoryControlPlane } from "../control-plane/index.ts";
import { ClawHubError } from "../errors/index.ts";
import { decodePayload, hubProtocol, type WireAgentInfo } from "../wire/index.ts";
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
import { startGrpcServer } from "./grpc/server.ts";
import { describeProblems } from "./schema.ts";
import type { HubSecurity } from "./security.ts";
import { createHubTrust, type HubTls } from "./trust.ts";
import type { CallOutcome } from "./types.ts";

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
  const trust = await createHubTrust({
    core,
    controlPlane: cp,
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.security ? { security: options.security } : {}),
  });
  const { identify, secured, revoke } = trust;
  const callers = callerService(core, trust.callerGuard);
  const server = await startGrpcServer({
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 7070,
    ...(trust.credentials ? { credentials: trust.credentials } : {}),
    services: [
      [protocol.AgentService.service, agentService(core, trust.agentGuard)],
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
      ...(trust.identityService
        ? ([[protocol.IdentityService.service, trust.identityService]] as Array<
            [grpc.ServiceDefinition, grpc.UntypedServiceImplementation]
          >)
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
