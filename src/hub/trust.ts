/**
 * Who may talk to the hub, wired for its gRPC services: on a secured hub ({@link HubSecurity})
 * every RPC's peer is identified from its certificate, calls and results are signature-checked
 * and audited, IdentityService is served, and a revocation ends the identity's sessions and
 * streams; with the lower-level `tls` option, the identity comes from `attest`. Without either,
 * nothing is checked (plaintext, loopback development).
 */
import { createHash, X509Certificate } from "node:crypto";
import type * as grpc from "@grpc/grpc-js";
import type { ControlPlane } from "../control-plane/index.ts";
import { ClawHubError } from "../errors/index.ts";
import { failStream, resultSignedFields } from "../wire/index.ts";
import type { HubCore } from "./core.ts";
import type { AgentGuard } from "./grpc/agent-service.ts";
import type { CallerGuard } from "./grpc/caller-service.ts";
import { requireIdentity } from "./grpc/guard.ts";
import { identityService } from "./grpc/identity-service.ts";
import type { HubSecurity } from "./security.ts";
import type { PeerIdentity } from "./types.ts";

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

/** The trust wiring of one hub (see the module comment). */
export interface HubTrust {
  /** Who a call's peer is, verified; undefined on a plaintext hub. */
  identify: ((call: unknown) => PeerIdentity) | undefined;
  callerGuard: CallerGuard | undefined;
  agentGuard: AgentGuard | undefined;
  /** Puts the identity check in front of every method of a service (and tracks its streams). */
  secured(impl: grpc.UntypedServiceImplementation): grpc.UntypedServiceImplementation;
  /** Server credentials; undefined: plaintext. */
  credentials: grpc.ServerCredentials | undefined;
  /** IdentityService, on a secured hub. */
  identityService: grpc.UntypedServiceImplementation | undefined;
  /** Revokes an identity and ends its agent sessions and caller streams at once. */
  revoke(uri: string, actor?: string): Promise<{ sessionsEnded: number }>;
}

/** Wires a hub's trust from its `tls` or `security` option. */
export async function createHubTrust(options: {
  core: HubCore;
  controlPlane: ControlPlane;
  tls?: HubTls;
  security?: HubSecurity;
}): Promise<HubTrust> {
  const { core, tls, security } = options;
  const cp = options.controlPlane;
  if (tls && security) throw new ClawHubError("USAGE", "createHub takes tls or security, not both");
  // Revoked identities (`tls` mode), kept in the control plane (hub.revoked.<sha256 of the URI>).
  const revoked = new Set<string>();
  // Caller streams (Calls, Events...) by identity: a revocation ends them too.
  const openStreams = new Map<string, Set<NodeJS.EventEmitter>>();
  if (tls)
    for (const key of await cp.kv.keys("hub.revoked")) {
      const entry = (await cp.kv.get(key))?.value as { uri?: unknown } | undefined;
      if (typeof entry?.uri === "string") revoked.add(entry.uri);
    }
  const identify: ((call: unknown) => PeerIdentity) | undefined = security
    ? (call) => security.identify(call)
    : tls
      ? (call) => peerIdentity(tls, revoked, call as Parameters<typeof peerIdentity>[2])
      : undefined;
  // A secured hub checks every call's and every result's signature against the sender's
  // certificate, and audits each decision (docs/hub.md, "Identity and audit").
  if (security) core.ctx.audit = (event) => security.record(event);

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
    core.ctx.log(
      `hub: revoked ${uri}${actor ? ` by ${actor}` : ""}; ${sessionsEnded} session(s) ended`,
    );
    return { sessionsEnded: sessionsEnded + streams.length };
  }

  return {
    identify,
    callerGuard:
      identify &&
      (security
        ? {
            identify,
            verify: (peer, fields, signature) => security.verify(peer, fields, signature),
            record: (event) => security.record(event),
          }
        : { identify }),
    agentGuard:
      identify &&
      (security
        ? {
            identify,
            results: {
              verifyResult: (peer, result) =>
                security.verify(
                  peer,
                  resultSignedFields(result, result.signature),
                  result.signature?.signature,
                ),
              record: (event) => security.record(event),
            },
          }
        : { identify }),
    secured: (impl) =>
      identify
        ? requireIdentity(impl, identify, (uri, stream) => {
            const set = openStreams.get(uri) ?? new Set();
            set.add(stream);
            openStreams.set(uri, set);
            const forget = () => {
              set.delete(stream);
              if (set.size === 0) openStreams.delete(uri);
            };
            for (const event of ["close", "finish", "cancelled", "error"])
              stream.once(event, forget);
          })
        : impl,
    credentials: security
      ? security.serverCredentials()
      : tls
        ? (await import("@grpc/grpc-js")).ServerCredentials.createSsl(
            Buffer.from(tls.caPem),
            [{ cert_chain: Buffer.from(tls.certPem), private_key: Buffer.from(tls.keyPem) }],
            true,
          )
        : undefined,
    identityService: security
      ? identityService(security, (uri, actor) => revoke(uri, actor))
      : undefined,
    revoke,
  };
}
