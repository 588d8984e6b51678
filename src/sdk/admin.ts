import type * as grpc from "@grpc/grpc-js";
import { fromGrpcError, type WireListIdentitiesResponse } from "../wire/index.ts";
import { identityCall, identityClient } from "./identity-rpc.ts";
import { type ClientTls, channelCredentials } from "./tls.ts";

/** An identity as the hub lists it (`clawhub hub identities`). */
export interface HubIdentity {
  identity: string;
  kind: string;
  roles: string[];
  labels: Record<string, string>;
  /** active, expired, revoked, or pending (an enrollment token not redeemed yet). */
  status: string;
  /** When its last certificate (or a pending token) expires, ms since the epoch. */
  notAfter: number;
  since: number;
}

/** What an enrollment token is for. */
export interface EnrollmentRequest {
  name: string;
  kind: "agent" | "caller";
  roles?: string[];
  labels?: Record<string, string>;
  /** How long the token may be redeemed (default 15 minutes). */
  tokenTtlMs?: number;
  /** Life of each certificate issued with it (default the hub's, 15 minutes). */
  certTtlMs?: number;
  /** How many processes may redeem it (default 1). */
  uses?: number;
  /** Capability name patterns an agent may serve (`payments.*`, `text.>`); none: any. */
  capabilities?: string[];
}

/** The IdentityService of a secured hub, as its operator uses it. */
export interface HubAdmin {
  /** Mints a one-time enrollment token (admin role). */
  createEnrollment(
    request: EnrollmentRequest,
  ): Promise<{ token: string; identity: string; expiresAt: number }>;
  /** Revokes an identity: its sessions end at once, its certificates are refused (admin role). */
  revoke(identity: string): Promise<{ sessionsEnded: number }>;
  /** Every identity the hub issued a certificate to, and pending enrollments (admin role). */
  identities(): Promise<HubIdentity[]>;
  /**
   * The hub's audit entries, oldest first, filtered by time (ms since the epoch), by identity
   * (as actor or on whose behalf) and by capability (admin role).
   */
  auditLog(filter?: {
    since?: number;
    identity?: string;
    capability?: string;
  }): Promise<Array<Record<string, unknown> & { seq: number; time: number; kind: string }>>;
  /**
   * The whole audit log as JSON lines: the key line, every entry and checkpoint, and a final
   * signed checkpoint (what `clawhub audit verify` checks; admin role).
   */
  auditExport(): Promise<string>;
  /** Who this connection is, as the hub sees it. */
  whoAmI(): Promise<{
    identity: string;
    roles: string[];
    labels: Record<string, string>;
    notAfter: number;
  }>;
  close(): void;
}

/** Connects to a secured hub's IdentityService with an identity's certificate. */
export function createHubAdmin(options: { hub: string; tls: ClientTls }): HubAdmin {
  const client = identityClient(options.hub, channelCredentials(options.tls));
  const what = `the hub at ${options.hub}`;
  const unary = <Res>(method: string, request: unknown) =>
    identityCall<Res>(client, options.hub, method, request, 30_000);
  /** The AuditLog stream's lines. */
  const auditLines = (request: {
    export: boolean;
    sinceUnixMs: number;
    identity: string;
    capability: string;
  }) =>
    new Promise<string[]>((resolve, reject) => {
      const lines: string[] = [];
      const stream = (
        client as unknown as {
          AuditLog(
            req: unknown,
            options: grpc.CallOptions,
          ): grpc.ClientReadableStream<{ json: string }>;
        }
      ).AuditLog(request, { deadline: Date.now() + 120_000 });
      stream.on("data", (line: { json: string }) => lines.push(line.json));
      stream.on("error", (error: grpc.ServiceError) => reject(fromGrpcError(error, what)));
      stream.on("end", () => resolve(lines));
    });
  return {
    async auditLog(filter = {}) {
      const lines = await auditLines({
        export: false,
        sinceUnixMs: filter.since ?? 0,
        identity: filter.identity ?? "",
        capability: filter.capability ?? "",
      });
      return lines.map(
        (l) =>
          JSON.parse(l) as Record<string, unknown> & { seq: number; time: number; kind: string },
      );
    },
    async auditExport() {
      const lines = await auditLines({
        export: true,
        sinceUnixMs: 0,
        identity: "",
        capability: "",
      });
      return `${lines.join("\n")}\n`;
    },
    async createEnrollment(request) {
      const res = await unary<{ token: string; identity: string; expiresAtUnixMs: number }>(
        "CreateEnrollment",
        {
          name: request.name,
          kind: request.kind,
          roles: request.roles ?? [],
          labels: request.labels ?? {},
          tokenTtlMs: request.tokenTtlMs ?? 0,
          certTtlMs: request.certTtlMs ?? 0,
          uses: request.uses ?? 0,
          capabilities: request.capabilities ?? [],
        },
      );
      return { token: res.token, identity: res.identity, expiresAt: res.expiresAtUnixMs };
    },
    revoke: (identity) => unary<{ sessionsEnded: number }>("Revoke", { identity }),
    async identities() {
      const res = await unary<WireListIdentitiesResponse>("ListIdentities", {});
      return res.identities.map(({ notAfterUnixMs, sinceUnixMs, ...rest }) => ({
        ...rest,
        notAfter: notAfterUnixMs,
        since: sinceUnixMs,
      }));
    },
    async whoAmI() {
      const res = await unary<{
        identity: string;
        roles: string[];
        labels: Record<string, string>;
        notAfterUnixMs: number;
      }>("WhoAmI", {});
      return {
        identity: res.identity,
        roles: res.roles,
        labels: res.labels,
        notAfter: res.notAfterUnixMs,
      };
    },
    close: () => client.close(),
  };
}
