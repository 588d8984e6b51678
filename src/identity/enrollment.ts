/**
 * Enrollment: an operator mints a one-time token for a named identity with the roles and labels
 * attested for it; whoever holds the token exchanges it, with a CSR, for a short-lived
 * certificate. Tokens are stored only as sha256 hashes, expire, and have a use count. What
 * routing and policy rely on (roles, labels) comes from this record, never from the agent, and
 * is written into the certificate (see ATTESTATION_OID).
 *
 * A token reads `che_<secret>.<pin>`: the pin is the sha256 of the hub CA's certificate, so a
 * new agent, which has no CA to trust yet, checks the hub it talks to before it sends the secret.
 */
import { createHash, randomBytes } from "node:crypto";
import { ClawHubError } from "../errors/index.ts";
import { isName, TOPIC_PATTERN } from "../schema/index.ts";
import type { CertificateAuthority, IssuedCertificate } from "./ca.ts";
import { type IdentityKind, type SpiffeId, spiffeId } from "./spiffe.ts";

/** What an enrollment attests about an identity. */
export interface Attestation {
  identity: SpiffeId;
  roles: string[];
  labels: Record<string, string>;
  /** Capability name patterns an agent may serve; empty: any. */
  capabilities: string[];
}

/** A stored enrollment (the token itself is never stored). */
export interface EnrollmentRecord {
  tokenHash: string;
  identity: string;
  kind: IdentityKind;
  name: string;
  roles: string[];
  labels: Record<string, string>;
  /** Capability name patterns an agent may serve (absent or empty: any). */
  capabilities?: string[];
  certTtlMs: number;
  expiresAt: number;
  usesLeft: number;
  createdAt: number;
}

/** Where enrollments live: the control plane's KV in the hub, a Map in tests. */
export interface EnrollmentStore {
  get(tokenHash: string): Promise<EnrollmentRecord | undefined>;
  /** Writes the record if it is still at `expectedUses` (compare-and-set); false when raced. */
  update(record: EnrollmentRecord, expectedUses: number): Promise<boolean>;
  put(record: EnrollmentRecord): Promise<void>;
  delete(tokenHash: string): Promise<void>;
}

/** An in-memory store (tests, single process). */
export function createMemoryEnrollmentStore(): EnrollmentStore {
  const map = new Map<string, EnrollmentRecord>();
  return {
    get: async (h) => {
      const r = map.get(h);
      return r && { ...r };
    },
    async update(record, expectedUses) {
      const current = map.get(record.tokenHash);
      if (!current || current.usesLeft !== expectedUses) return false;
      map.set(record.tokenHash, { ...record });
      return true;
    },
    put: async (r) => {
      map.set(r.tokenHash, { ...r });
    },
    delete: async (h) => {
      map.delete(h);
    },
  };
}

const ROLE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const LABEL_KEY = /^[a-z0-9][a-z0-9._/-]{0,62}$/;
const hash = (token: string) => createHash("sha256").update(token).digest("hex");

/** Enrollment over a CA and a store. */
export function createEnrollment(options: {
  ca: CertificateAuthority;
  store: EnrollmentStore;
  now?: () => number;
  random?: (bytes: number) => Buffer;
}) {
  const { ca, store } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? randomBytes;
  return {
    /** Mints a token for `name` (shown once). */
    async create(input: {
      name: string;
      kind: IdentityKind;
      roles?: string[];
      labels?: Record<string, string>;
      /** Capability name patterns (`payments.*`, `text.>`) the agent may serve; none: any. */
      capabilities?: string[];
      /** How long the token may be redeemed (default 15 minutes). */
      tokenTtlMs?: number;
      /** How long each certificate lives (default 15 minutes). */
      certTtlMs?: number;
      uses?: number;
    }): Promise<{ token: string; identity: string; expiresAt: number }> {
      const identity = spiffeId(ca.trustDomain, input.kind, input.name);
      const roles = [...new Set(input.roles ?? [])];
      for (const r of roles)
        if (!ROLE.test(r))
          throw new ClawHubError("INVALID_ARGUMENT", `invalid role ${JSON.stringify(r)}`);
      const labels = { ...(input.labels ?? {}) };
      for (const [k, v] of Object.entries(labels))
        if (!LABEL_KEY.test(k) || typeof v !== "string" || v.length > 256)
          throw new ClawHubError("INVALID_ARGUMENT", `invalid label ${JSON.stringify(k)}`);
      const capabilities = [...new Set(input.capabilities ?? [])];
      for (const c of capabilities)
        if (!isName(TOPIC_PATTERN, c))
          throw new ClawHubError(
            "INVALID_ARGUMENT",
            `invalid capability pattern ${JSON.stringify(c)} (a name, with * for one word or > for the rest)`,
          );
      const uses = input.uses ?? 1;
      if (!Number.isInteger(uses) || uses < 1 || uses > 1000)
        throw new ClawHubError("INVALID_ARGUMENT", "uses must be a whole number from 1 to 1000");
      const secret = `che_${random(24).toString("base64url")}`;
      const token = `${secret}.${ca.fingerprint}`;
      const expiresAt = now() + (input.tokenTtlMs ?? 15 * 60_000);
      await store.put({
        tokenHash: hash(secret),
        identity: identity.uri,
        kind: identity.kind,
        name: identity.name,
        roles,
        labels,
        ...(capabilities.length > 0 ? { capabilities } : {}),
        certTtlMs: input.certTtlMs ?? 15 * 60_000,
        expiresAt,
        usesLeft: uses,
        createdAt: now(),
      });
      return { token, identity: identity.uri, expiresAt };
    },

    /**
     * Exchanges a token and a CSR for a certificate and the attestation it carries. Every
     * refusal is the same UNAUTHENTICATED, whether the token never existed, expired or is used up.
     */
    async redeem(token: string, csrPem: string): Promise<IssuedCertificate & Attestation> {
      const refused = () =>
        new ClawHubError("UNAUTHENTICATED", "enrollment token invalid, expired or used up");
      const parsed = parseEnrollmentToken(token);
      if (!parsed || parsed.pin !== ca.fingerprint) throw refused();
      const h = hash(parsed.secret);
      for (let attempt = 0; attempt < 5; attempt++) {
        const record = await store.get(h);
        if (!record || record.expiresAt <= now() || record.usesLeft < 1) throw refused();
        // One use per redemption, even under concurrent redemptions of the same token.
        if (!(await store.update({ ...record, usesLeft: record.usesLeft - 1 }, record.usesLeft)))
          continue;
        if (record.usesLeft - 1 === 0) await store.delete(h);
        const identity = spiffeId(ca.trustDomain, record.kind, record.name);
        const issued = await ca.issue({
          csrPem,
          identity,
          ttlMs: record.certTtlMs,
          roles: record.roles,
          labels: record.labels,
          capabilities: record.capabilities ?? [],
        });
        return {
          ...issued,
          roles: record.roles,
          labels: record.labels,
          capabilities: record.capabilities ?? [],
        };
      }
      throw refused();
    },
  };
}

/** The parts of an enrollment token, or undefined when it is not one. */
export function parseEnrollmentToken(token: unknown): { secret: string; pin: string } | undefined {
  if (typeof token !== "string") return undefined;
  const m = /^(che_[A-Za-z0-9_-]{20,64})\.([A-Za-z0-9_-]{43})$/.exec(token.trim());
  return m ? { secret: m[1] as string, pin: m[2] as string } : undefined;
}
