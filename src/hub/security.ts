/**
 * A secured hub's trust: its CA and enrollments, who each connection is (verified from its
 * certificate on every RPC), renewals, revocations, request signatures with replay protection,
 * and the audit trail. Everything a second hub node or a restarted hub needs is kept in the
 * control plane (enrollments, revocations, renewals, the audit log) or in the certificate itself
 * (the attested roles and labels); the CA and audit keys stay in the hub's data directory.
 */
import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import {
  type AuditEvent,
  type AuditLine,
  auditKey,
  createAuditLog,
  createFileAuditSink,
} from "../audit/index.ts";
import type { ControlPlane } from "../control-plane/index.ts";
import { ClawHubError } from "../errors/index.ts";
import {
  createEnrollment,
  createKeyAndCsr,
  createReplayGuard,
  type EnrollmentRecord,
  type EnrollmentStore,
  type IdentityKind,
  MAX_LEAF_TTL_MS,
  openCertificateAuthority,
  type SignedFields,
  spiffeId,
  type VerifiedCertificate,
  verifySignedFieldsAsync,
} from "../identity/index.ts";
import { writePrivateFile } from "../schema/index.ts";
import type { WireEnrollResponse } from "../wire/index.ts";
import type { PeerIdentity } from "./types.ts";

/** Options of {@link createHubSecurity}. */
export interface HubSecurityOptions {
  /** Where the CA (`ca.crt.pem`, `ca.key.pem`) and the audit key (`audit.key.pem`) live. */
  dir: string;
  /** Default `clawhub.local`. */
  trustDomain?: string;
  controlPlane: ControlPlane;
  /** This hub node's name in its certificate (`spiffe://<domain>/hub/<node>`). Default `hub`. */
  node?: string;
  now?: () => number;
  /** Certificate life of an enrollment that names none. Default 15 minutes. */
  certTtlMs?: number;
  /** Life of the hub's own certificate, renewed at two thirds. Default 24 hours. */
  hubCertTtlMs?: number;
  /** How far a signed request's time may be from the hub's. Default 60 s. */
  signatureWindowMs?: number;
  /** Audit entries between signed checkpoints. Default 100. */
  auditCheckpointEvery?: number;
  /** A checkpoint is also signed this often while entries were added since the last. Default 60 s. */
  auditCheckpointMs?: number;
  /**
   * Where the audit log's segment files live (default `<dir>/audit`), the size at which a
   * segment closes (default 8 MiB) and the bytes kept in all (default 1 GiB; the oldest
   * segments go first).
   */
  audit?: { dir?: string; segmentBytes?: number; maxBytes?: number };
}

/** A verified peer: its identity, attestations and the key its signatures must verify with. */
export type Peer = PeerIdentity &
  Pick<VerifiedCertificate, "publicKey" | "keyId" | "notAfter"> & {
    /** The life its certificate was issued with (a renewal gets the same). */
    lifeMs: number;
    /** When its certificate was issued (a revocation after it ends the identity). */
    issuedAt: number;
  };

/** An identity as `clawhub hub identities` lists it. */
export interface IdentityRecord {
  identity: string;
  kind: IdentityKind;
  roles: string[];
  labels: Record<string, string>;
  /**
   * `active` (a certificate valid now), `expired` (its last certificate ran out), `revoked`,
   * `pending` (an enrollment token not redeemed yet; `notAfter` is the token's expiry).
   */
  status: "active" | "expired" | "revoked" | "pending";
  /** When its last certificate (or a pending token) expires. */
  notAfter: number;
  /** When it first got a certificate (or the enrollment was made). */
  since: number;
}

/** A certificate issued by {@link HubSecurity.issueLocal}, as a client process holds it. */
export interface LocalIdentity {
  identity: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  trustDomain: string;
  roles: string[];
  labels: Record<string, string>;
  notAfter: number;
}

/** What enrollment, renewal and the admin RPCs return. */
export type EnrollResult = WireEnrollResponse;

/** The security of one hub. */
export interface HubSecurity {
  readonly trustDomain: string;
  readonly caPem: string;
  /** What enrollment tokens pin. */
  readonly caFingerprint: string;
  /** Mutual TLS for the hub's port: a client certificate is requested, checked per RPC. */
  serverCredentials(): grpc.ServerCredentials;
  /** The verified identity of a call's peer; UNAUTHENTICATED with the reason otherwise. */
  identify(call: unknown): Peer;
  createEnrollment(input: {
    name: string;
    kind: IdentityKind;
    roles?: string[];
    labels?: Record<string, string>;
    /** Capability name patterns an agent may serve (none: any). */
    capabilities?: string[];
    tokenTtlMs?: number;
    certTtlMs?: number;
    uses?: number;
    /** Who asked (audit). */
    actor?: string;
  }): Promise<{ token: string; identity: string; expiresAt: number }>;
  redeem(token: string, csrPem: string): Promise<EnrollResult>;
  renew(peer: Peer, csrPem: string): Promise<EnrollResult>;
  /** Records a revocation (the hub ends the identity's sessions). */
  revoke(uri: string, actor?: string): Promise<void>;
  /**
   * Issues a certificate straight from the CA, without a token: for the hub's own operator (the
   * local admin identity, made on start) and tests. The key is made here and returned.
   */
  issueLocal(input: {
    name: string;
    kind: IdentityKind;
    roles?: string[];
    labels?: Record<string, string>;
    ttlMs?: number;
  }): Promise<LocalIdentity>;
  /** Identities the hub issued certificates to, and enrollments not redeemed yet. */
  identities(): Promise<IdentityRecord[]>;
  /**
   * Checks a sender's signature (on libuv's thread pool) and refuses a replay, a revoked or an
   * expired identity; rejects with UNAUTHENTICATED otherwise.
   */
  verify(
    peer: Peer,
    fields: SignedFields,
    signature: Uint8Array | string | undefined,
  ): Promise<void>;
  readonly audit: ReturnType<typeof createAuditLog>;
  /** Appends an audit event without waiting (the chain keeps the order of calls). */
  record(event: AuditEvent): void;
  close(): Promise<void>;
}

const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const DEFAULT_CERT_TTL_MS = 15 * 60_000;

/** Opens a hub's security in `dir` (creating the CA and audit key on first start). */
export async function createHubSecurity(options: HubSecurityOptions): Promise<HubSecurity> {
  const now = options.now ?? Date.now;
  const kv = options.controlPlane.kv;
  const ca = await openCertificateAuthority({
    dir: options.dir,
    now,
    ...(options.trustDomain ? { trustDomain: options.trustDomain } : {}),
  });
  const enrollment = createEnrollment({ ca, store: kvEnrollmentStore(options.controlPlane), now });
  const guard = createReplayGuard({ windowMs: options.signatureWindowMs ?? 60_000, now });
  const defaultCertTtl = options.certTtlMs ?? DEFAULT_CERT_TTL_MS;

  // Revocations: an identity's certificates issued before it are refused.
  const revokedAt = new Map<string, number>();
  for (const key of await kv.keys("hub.revoked.")) {
    const v = (await kv.get(key))?.value as { uri?: unknown; at?: unknown } | undefined;
    if (typeof v?.uri === "string") revokedAt.set(v.uri, typeof v.at === "number" ? v.at : 0);
  }
  // Renewals: a connection opened with a certificate since renewed (same key) stays valid.
  const renewedUntil = new Map<string, { uri: string; notAfter: number }>();
  for (const key of await kv.keys("hub.renewed.")) {
    const v = (await kv.get(key))?.value as { uri?: unknown; notAfter?: unknown } | undefined;
    if (typeof v?.uri === "string" && typeof v.notAfter === "number" && v.notAfter > now())
      renewedUntil.set(key.slice("hub.renewed.".length), { uri: v.uri, notAfter: v.notAfter });
  }

  const auditSink = await openAuditSink(options);
  const audit = createAuditLog({
    sink: auditSink,
    key: await loadAuditKey(options.dir),
    now,
    checkpointEvery: options.auditCheckpointEvery ?? 100,
  });
  let auditTail: Promise<unknown> = Promise.resolve();
  let unsigned = 0;
  const record = (event: AuditEvent) => {
    unsigned++;
    auditTail = audit.append(event).catch(() => undefined);
  };
  // Signed heads periodically too, so a quiet hub's last entries are covered within a minute.
  const checkpoints = setInterval(() => {
    if (unsigned === 0) return;
    unsigned = 0;
    audit.checkpoint().catch(() => undefined);
  }, options.auditCheckpointMs ?? 60_000);
  checkpoints.unref();

  // The hub's own certificate, renewed at two thirds of its life through the provider, so new
  // handshakes get the new one and open connections carry on.
  const hubTtl = options.hubCertTtlMs ?? 86_400_000;
  const hubIdentity = spiffeId(ca.trustDomain, "hub", options.node ?? "hub");
  const identityListeners = new Set<(u: { certificate: Buffer; privateKey: Buffer }) => void>();
  let hubCert: { certificate: Buffer; privateKey: Buffer } | undefined;
  const issueHubCert = async () => {
    const { keyPem, csrPem } = await createKeyAndCsr(hubIdentity.name);
    const issued = await ca.issue({ csrPem, identity: hubIdentity, ttlMs: hubTtl });
    // The CA goes along in the chain: an enrolling agent pins it before it trusts anything.
    hubCert = {
      certificate: Buffer.from(`${issued.certificatePem.trim()}\n${ca.certificatePem}\n`),
      privateKey: Buffer.from(keyPem),
    };
    for (const listener of identityListeners) listener(hubCert);
  };
  await issueHubCert();
  const hubRenewal = setInterval(
    () => {
      issueHubCert().catch(() => undefined);
    },
    Math.max(1000, Math.floor((hubTtl * 2) / 3)),
  );
  hubRenewal.unref();
  const caBuffer = Buffer.from(ca.certificatePem);

  const certOfCall = new WeakMap<object, VerifiedCertificate>();
  /** A stream opened before a revocation, or past its certificate's life, signs no more. */
  const stillValid = (peer: Peer) => {
    const revoked = revokedAt.get(peer.uri);
    if (revoked !== undefined && peer.issuedAt <= revoked)
      throw new ClawHubError("UNAUTHENTICATED", `${peer.uri} is revoked`);
    const until = Math.max(peer.notAfter, renewedUntil.get(peer.keyId)?.notAfter ?? 0);
    if (now() > until)
      throw new ClawHubError(
        "UNAUTHENTICATED",
        `the certificate of ${peer.uri} expired at ${new Date(until).toISOString()}`,
        { hint: "Certificates renew at two thirds of their life; enroll again." },
      );
  };
  // Verified certificates by their bytes: one chain check per certificate, not per RPC.
  const verified = new Map<string, VerifiedCertificate>();
  const verifyCert = (raw: Buffer): VerifiedCertificate => {
    const id = createHash("sha256").update(raw).digest("base64url");
    let cert = verified.get(id);
    if (!cert) {
      cert = ca.verify(new X509Certificate(raw).toString(), { allowExpired: true });
      if (verified.size >= 10_000) verified.delete(verified.keys().next().value as string);
      verified.set(id, cert);
    }
    return cert;
  };

  // Identities issued a certificate, kept in the control plane for `hub identities`.
  const identityKey = (uri: string) => `hub.identity.${sha(uri)}`;
  interface Issued {
    identity: string;
    kind: IdentityKind;
    roles: string[];
    labels: Record<string, string>;
    notAfter: number;
    since: number;
    /** When its last certificate was issued (a revocation after it ends the identity). */
    issuedAt: number;
  }
  const noteIssued = async (issued: Omit<Issued, "since" | "issuedAt">) => {
    const prior = (await kv.get<Issued>(identityKey(issued.identity)))?.value;
    await kv.put(identityKey(issued.identity), {
      ...issued,
      since: prior?.since ?? now(),
      issuedAt: now(),
      notAfter: Math.max(issued.notAfter, prior?.notAfter ?? 0),
    });
  };

  const response = (
    issued: { certificatePem: string; notAfter: number; identity: { uri: string } },
    roles: string[],
    labels: Record<string, string>,
  ): EnrollResult => ({
    certificatePem: issued.certificatePem,
    caPem: ca.certificatePem,
    identity: issued.identity.uri,
    notAfterUnixMs: issued.notAfter,
    roles,
    labels,
    trustDomain: ca.trustDomain,
  });

  return {
    trustDomain: ca.trustDomain,
    caPem: ca.certificatePem,
    caFingerprint: ca.fingerprint,
    serverCredentials() {
      const provider = {
        // Listeners are answered on the next microtask: grpc-js registers its watcher only after
        // adding the listener, so an answer given at once is lost and every connection dropped
        // ("unloaded credentials", grpc-js 1.14).
        addCaCertificateListener(listener: (u: { caCertificate: Buffer }) => void) {
          queueMicrotask(() => listener({ caCertificate: caBuffer }));
        },
        removeCaCertificateListener() {},
        addIdentityCertificateListener(
          listener: (u: { certificate: Buffer; privateKey: Buffer }) => void,
        ) {
          identityListeners.add(listener);
          queueMicrotask(() => {
            if (hubCert && identityListeners.has(listener)) listener(hubCert);
          });
        },
        removeIdentityCertificateListener(
          listener: (u: { certificate: Buffer; privateKey: Buffer }) => void,
        ) {
          identityListeners.delete(listener);
        },
      };
      // Requested, not required, at the TLS layer: Enroll is reached without a certificate;
      // every other method checks one (identify) before its handler runs.
      return grpc.experimental.createCertificateProviderServerCredentials(
        provider,
        provider,
        false,
      );
    },
    identify(call) {
      // The certificate of a call object is read once: getPeerCertificate builds the whole
      // certificate object each time (a tenth of the hub's time when asked per call frame).
      // Expiry and revocation are still checked below on every use.
      let cert = typeof call === "object" && call ? certOfCall.get(call) : undefined;
      if (!cert) {
        const raw = (
          call as { getAuthContext?: () => { sslPeerCertificate?: { raw?: Buffer } } }
        ).getAuthContext?.().sslPeerCertificate?.raw;
        if (!raw || raw.length === 0)
          throw new ClawHubError("UNAUTHENTICATED", "no client certificate", {
            hint: "Enroll first: `clawhub hub login --token che_...`, or createAgent({ enrollToken }).",
          });
        cert = verifyCert(raw);
        if (typeof call === "object" && call) certOfCall.set(call, cert);
      }
      const { uri } = cert.identity;
      const t = now();
      if (t > cert.notAfter) {
        const renewed = renewedUntil.get(cert.keyId);
        if (!renewed || renewed.uri !== uri || renewed.notAfter < t)
          throw new ClawHubError(
            "UNAUTHENTICATED",
            `the certificate of ${uri} expired at ${new Date(cert.notAfter).toISOString()}`,
            { hint: "Certificates renew at two thirds of their life; enroll again." },
          );
      }
      const revoked = revokedAt.get(uri);
      if (revoked !== undefined && cert.issuedAt <= revoked)
        throw new ClawHubError("UNAUTHENTICATED", `${uri} is revoked`);
      if (cert.identity.kind === "hub" && cert.identity.name === hubIdentity.name)
        throw new ClawHubError("UNAUTHENTICATED", "a hub's own certificate is not a client");
      return {
        uri,
        kind: cert.identity.kind,
        name: cert.identity.name,
        roles: cert.roles,
        labels: cert.labels,
        capabilities: cert.capabilities,
        publicKey: cert.publicKey,
        keyId: cert.keyId,
        notAfter: Math.max(cert.notAfter, renewedUntil.get(cert.keyId)?.notAfter ?? 0),
        lifeMs: cert.notAfter - (cert.issuedAt || cert.notBefore),
        issuedAt: cert.issuedAt || cert.notBefore,
      };
    },
    async createEnrollment(input) {
      if (input.kind !== "agent" && input.kind !== "caller")
        throw new ClawHubError("INVALID_ARGUMENT", "an enrollment is for an agent or a caller");
      const created = await enrollment.create({
        name: input.name,
        kind: input.kind,
        roles: input.roles ?? [],
        labels: input.labels ?? {},
        capabilities: input.capabilities ?? [],
        certTtlMs: input.certTtlMs || defaultCertTtl,
        ...(input.tokenTtlMs ? { tokenTtlMs: input.tokenTtlMs } : {}),
        ...(input.uses ? { uses: input.uses } : {}),
      });
      record({
        kind: "enrollment.created",
        ...(input.actor ? { actor: input.actor } : {}),
        outcome: "accepted",
        details: {
          identity: created.identity,
          roles: (input.roles ?? []).join(","),
          labels: Object.entries(input.labels ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(","),
          uses: input.uses ?? 1,
          capabilities: (input.capabilities ?? []).join(",") || "any",
        },
      });
      return created;
    },
    async redeem(token, csrPem) {
      try {
        const issued = await enrollment.redeem(token, csrPem);
        await noteIssued({
          identity: issued.identity.uri,
          kind: issued.identity.kind,
          roles: issued.roles,
          labels: issued.labels,
          notAfter: issued.notAfter,
        });
        record({
          kind: "enrollment.redeemed",
          actor: issued.identity.uri,
          outcome: "accepted",
          details: { serial: issued.serial, notAfter: issued.notAfter },
        });
        return response(issued, issued.roles, issued.labels);
      } catch (error) {
        record({ kind: "enrollment.redeemed", outcome: "refused", reason: String(error) });
        throw error;
      }
    },
    async renew(peer, csrPem) {
      const identity = spiffeId(ca.trustDomain, peer.kind, peer.name);
      // The same life as the certificate it replaces, within the enrollment's bounds.
      const issued = await ca.issue({
        csrPem,
        identity,
        ttlMs: Math.max(1000, Math.min(peer.lifeMs, MAX_LEAF_TTL_MS)),
        roles: [...peer.roles],
        labels: { ...peer.labels },
        capabilities: [...(peer.capabilities ?? [])],
        sameKeyAs: peer.keyId,
      });
      renewedUntil.set(peer.keyId, { uri: peer.uri, notAfter: issued.notAfter });
      await noteIssued({
        identity: peer.uri,
        kind: peer.kind,
        roles: [...peer.roles],
        labels: { ...peer.labels },
        notAfter: issued.notAfter,
      });
      await kv.put(`hub.renewed.${peer.keyId}`, { uri: peer.uri, notAfter: issued.notAfter });
      record({
        kind: "certificate.renewed",
        actor: peer.uri,
        outcome: "accepted",
        details: { serial: issued.serial, notAfter: issued.notAfter },
      });
      return response(issued, [...peer.roles], { ...peer.labels });
    },
    async revoke(uri, actor) {
      const at = now();
      revokedAt.set(uri, at);
      await kv.put(`hub.revoked.${sha(uri)}`, { uri, at });
      record({ kind: "identity.revoked", ...(actor ? { actor } : {}), details: { identity: uri } });
    },
    async issueLocal(input) {
      const identity = spiffeId(ca.trustDomain, input.kind, input.name);
      const { keyPem, csrPem } = await createKeyAndCsr(identity.name);
      const roles = [...new Set(input.roles ?? [])];
      const labels = { ...input.labels };
      const issued = await ca.issue({
        csrPem,
        identity,
        ttlMs: Math.min(input.ttlMs ?? defaultCertTtl, MAX_LEAF_TTL_MS),
        roles,
        labels,
      });
      await noteIssued({
        identity: identity.uri,
        kind: identity.kind,
        roles,
        labels,
        notAfter: issued.notAfter,
      });
      record({
        kind: "certificate.issued",
        outcome: "accepted",
        details: { identity: identity.uri, serial: issued.serial, notAfter: issued.notAfter },
      });
      return {
        identity: identity.uri,
        caPem: ca.certificatePem,
        certPem: issued.certificatePem,
        keyPem,
        trustDomain: ca.trustDomain,
        roles,
        labels,
        notAfter: issued.notAfter,
      };
    },
    async identities() {
      const t = now();
      const out: IdentityRecord[] = [];
      for (const key of await kv.keys("hub.identity.")) {
        const v = (await kv.get<Issued>(key))?.value;
        if (!v) continue;
        const revoked = revokedAt.get(v.identity);
        out.push({
          identity: v.identity,
          kind: v.kind,
          roles: v.roles,
          labels: v.labels,
          notAfter: v.notAfter,
          since: v.since,
          status:
            revoked !== undefined && revoked >= v.issuedAt
              ? "revoked"
              : v.notAfter > t
                ? "active"
                : "expired",
        });
      }
      const seen = new Set(out.map((r) => r.identity));
      for (const key of await kv.keys("hub.enroll.")) {
        const r = (await kv.get<EnrollmentRecord>(key))?.value;
        if (!r || r.usesLeft < 1 || r.expiresAt <= t || seen.has(r.identity)) continue;
        out.push({
          identity: r.identity,
          kind: r.kind,
          roles: r.roles,
          labels: r.labels,
          status: "pending",
          notAfter: r.expiresAt,
          since: r.createdAt,
        });
      }
      return out.sort((a, b) => a.identity.localeCompare(b.identity));
    },
    async verify(peer, fields, signature) {
      stillValid(peer);
      if (!signature || signature.length === 0)
        throw new ClawHubError(
          "UNAUTHENTICATED",
          `unsigned ${fields.method} (a secured hub requires signed requests)`,
        );
      await verifySignedFieldsAsync({
        publicKey: peer.publicKey,
        fields,
        signature:
          typeof signature === "string" ? signature : Buffer.from(signature).toString("base64"),
        guard,
      });
    },
    audit,
    record,
    async close() {
      clearInterval(hubRenewal);
      clearInterval(checkpoints);
      await auditTail;
      await audit.close();
      auditSink.close();
    },
  };
}

/**
 * A stopped hub's audit log, read from its control plane and signed with its key in `dir`
 * (what `clawhub audit log|export --data` reads). Not while the hub runs: it owns the journal.
 */
export async function openHubAudit(options: {
  dir: string;
  controlPlane: ControlPlane;
  audit?: HubSecurityOptions["audit"];
}) {
  const sink = await openAuditSink(options);
  // `release` closes the files without signing a head: a reader of a stopped hub's log.
  return Object.assign(createAuditLog({ sink, key: await loadAuditKey(options.dir) }), {
    release: () => sink.close(),
  });
}

/**
 * The audit log's files, with what an older hub kept in the control plane's KV
 * (`hub.audit.<n>`, without retention) moved into them once: memory no longer grows with it.
 */
async function openAuditSink(options: {
  dir: string;
  controlPlane: ControlPlane;
  audit?: HubSecurityOptions["audit"];
}) {
  const sink = createFileAuditSink({
    dir: options.audit?.dir ?? join(options.dir, "audit"),
    ...(options.audit?.segmentBytes ? { segmentBytes: options.audit.segmentBytes } : {}),
    ...(options.audit?.maxBytes ? { maxBytes: options.audit.maxBytes } : {}),
  });
  const kv = options.controlPlane.kv;
  const keys = (await kv.keys("hub.audit.")).sort();
  if (keys.length > 0 && sink.usage().bytes === 0) {
    const moved: Promise<void>[] = [];
    for (const k of keys) {
      const line = (await kv.get<AuditLine>(k))?.value;
      if (line) moved.push(sink.append(line));
    }
    await Promise.all(moved);
    for (const k of keys) await kv.delete(k);
  }
  return sink;
}

/** Enrollments in the control plane's KV (`hub.enroll.<token hash>`), CAS by revision. */
function kvEnrollmentStore(cp: ControlPlane): EnrollmentStore {
  const key = (h: string) => `hub.enroll.${h}`;
  return {
    async get(h) {
      return (await cp.kv.get<EnrollmentRecord>(key(h)))?.value;
    },
    async update(record, expectedUses) {
      const current = await cp.kv.get<EnrollmentRecord>(key(record.tokenHash));
      if (!current?.value || current.value.usesLeft !== expectedUses) return false;
      try {
        await cp.kv.update(key(record.tokenHash), record, current.revision);
        return true;
      } catch {
        return false;
      }
    },
    async put(record) {
      await cp.kv.put(key(record.tokenHash), record);
    },
    async delete(h) {
      await cp.kv.delete(key(h));
    },
  };
}

/** The hub's audit signing key (Ed25519), created on first start next to the CA (0600). */
async function loadAuditKey(dir: string) {
  const path = join(dir, "audit.key.pem");
  const existing = await readFile(path, "utf8").catch(() => undefined);
  if (existing) return auditKey(existing);
  const key = auditKey();
  const pem = key.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  await writePrivateFile(path, pem);
  return auditKey(createPrivateKey(pem).export({ type: "pkcs8", format: "pem" }).toString());
}
