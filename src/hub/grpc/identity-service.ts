import type * as grpc from "@grpc/grpc-js";
import { ClawHubError } from "../../errors/index.ts";
import {
  failStream,
  unary,
  type WireCreateEnrollmentRequest,
  type WireEnrollResponse,
  type WireListIdentitiesResponse,
} from "../../wire/index.ts";
import type { HubSecurity, Peer } from "../security.ts";

/** The admin role: enroll, revoke, read the audit trail (the policy issue adds finer roles). */
export const ADMIN_ROLE = "admin";

const admin = (peer: Peer) => {
  if (!peer.roles.includes(ADMIN_ROLE))
    throw new ClawHubError("FORBIDDEN", `${peer.uri} does not have the ${ADMIN_ROLE} role`);
  return peer;
};

const MAX_PEM = 16 * 1024;
const pem = (value: unknown, what: string) => {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_PEM)
    throw new ClawHubError("INVALID_ARGUMENT", `${what} is missing or larger than 16 KiB`);
  return value;
};

/**
 * IdentityService: Enroll (by token, no certificate), and for enrolled identities Renew and
 * WhoAmI; CreateEnrollment, Revoke and AuditLog for admins.
 */
export function identityService(
  security: HubSecurity,
  revoke: (uri: string, actor: string) => Promise<{ sessionsEnded: number }>,
): grpc.UntypedServiceImplementation {
  return {
    Enroll: unary<{ token: string; csrPem: string }, WireEnrollResponse>(async (req) =>
      security.redeem(String(req.token).slice(0, 200), pem(req.csrPem, "the CSR")),
    ),
    Renew: unary<{ csrPem: string }, WireEnrollResponse>(async (req, call) =>
      security.renew(security.identify(call), pem(req.csrPem, "the CSR")),
    ),
    WhoAmI: unary<
      Record<string, never>,
      {
        identity: string;
        roles: string[];
        labels: Record<string, string>;
        notAfterUnixMs: number;
      }
    >(async (_req, call) => {
      const peer = security.identify(call);
      return {
        identity: peer.uri,
        roles: [...peer.roles],
        labels: { ...peer.labels },
        notAfterUnixMs: peer.notAfter,
      };
    }),
    CreateEnrollment: unary<
      WireCreateEnrollmentRequest,
      { token: string; identity: string; expiresAtUnixMs: number }
    >(async (req, call) => {
      const peer = admin(security.identify(call));
      if (req.kind !== "agent" && req.kind !== "caller")
        throw new ClawHubError("INVALID_ARGUMENT", "kind must be agent or caller");
      const created = await security.createEnrollment({
        name: req.name,
        kind: req.kind,
        roles: req.roles,
        labels: req.labels,
        tokenTtlMs: req.tokenTtlMs,
        certTtlMs: req.certTtlMs,
        uses: req.uses,
        capabilities: req.capabilities,
        actor: peer.uri,
      });
      return {
        token: created.token,
        identity: created.identity,
        expiresAtUnixMs: created.expiresAt,
      };
    }),
    Revoke: unary<{ identity: string }, { sessionsEnded: number }>(async (req, call) => {
      const peer = admin(security.identify(call));
      if (!/^spiffe:\/\/[^/]+\/(agent|caller)\/[^/]+$/.test(req.identity))
        throw new ClawHubError(
          "INVALID_ARGUMENT",
          "revoke takes an identity: spiffe://<domain>/agent/<name> or .../caller/<name>",
        );
      return revoke(req.identity, peer.uri);
    }),
    ListIdentities: unary<Record<string, never>, WireListIdentitiesResponse>(async (_req, call) => {
      admin(security.identify(call));
      return {
        identities: (await security.identities()).map((r) => ({
          identity: r.identity,
          kind: r.kind,
          roles: r.roles,
          labels: r.labels,
          status: r.status,
          notAfterUnixMs: r.notAfter,
          sinceUnixMs: r.since,
        })),
      };
    }),
    AuditLog(
      stream: grpc.ServerWritableStream<
        { export: boolean; sinceUnixMs: number; identity: string; capability: string },
        { json: string }
      >,
    ) {
      (async () => {
        admin(security.identify(stream));
        const req = stream.request;
        if (req.export) {
          for (const line of (await security.audit.export()).split("\n"))
            if (line) stream.write({ json: line });
        } else {
          for (const line of await security.audit.lines()) {
            if (line.type !== "entry") continue;
            if (req.sinceUnixMs && line.time < req.sinceUnixMs) continue;
            if (req.identity && line.actor !== req.identity && line.onBehalfOf !== req.identity)
              continue;
            if (req.capability && line.capability !== req.capability) continue;
            stream.write({ json: JSON.stringify(line) });
          }
        }
        stream.end();
      })().catch((error: unknown) => failStream(stream, error));
    },
  };
}
