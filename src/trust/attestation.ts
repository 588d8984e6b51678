/**
 * Publish attestations: an in-toto Statement v1 about a version's archive, in a DSSE envelope
 * (the formats of Sigstore and npm provenance). The publisher may sign it with their key; the
 * registry always adds its own signature, and appends the statement to its transparency log.
 */
import { createHash, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import canonicalize from "canonicalize";
import { ClawHubError } from "../errors/index.ts";

/** DSSE payload type of in-toto statements. */
export const INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
/** in-toto Statement v1. */
export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
/** What a ClawHub publish attests (the predicate's shape is below: PublishAttestation). */
export const PUBLISH_PREDICATE_TYPE = "https://clawhub.ai/attestations/publish/v1";
/** Statements are a few hundred bytes; an envelope past this is refused unparsed. */
export const MAX_ENVELOPE_BYTES = 64 * 1024;

/** A DSSE envelope (https://github.com/secure-systems-lab/dsse). */
export interface DsseEnvelope {
  payloadType: string;
  /** Base64 of the payload bytes. */
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

/** What a publish statement says about one version. */
export interface PublishAttestation {
  /** The registry's log origin: the statement is about this registry's copy. */
  registry: string;
  owner: string;
  slug: string;
  version: string;
  /** Hex digests of the archive as the registry serves it. */
  sha256: string;
  sha512: string;
  /** The ClawHub fingerprint of the files (what the official CLI compares). */
  fingerprint: string;
  /** Key id of the publisher's key when the publisher signed, null when only the registry did. */
  publisherKeyId: string | null;
  /** ISO 8601 time of the publish. */
  publishedAt: string;
}

const fail = (message: string) => new ClawHubError("VERIFICATION_FAILED", message);

/** DSSE's pre-authentication encoding: what is signed, so type and body cannot be confused. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType);
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

/** The 32 raw bytes of an Ed25519 key's public half (how keys travel in the API, base64). */
export function ed25519RawKey(key: KeyObject): Buffer {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  const jwk = publicKey.export({ format: "jwk" });
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.x !== "string")
    throw new ClawHubError("INVALID_ARGUMENT", "attestation keys are Ed25519");
  return Buffer.from(jwk.x, "base64url");
}

/** The id of an Ed25519 public key: hex SHA-256 of its 32 raw bytes. */
export function keyIdOf(key: KeyObject): string {
  return createHash("sha256").update(ed25519RawKey(key)).digest("hex");
}

/** An Ed25519 public key from the base64 of its 32 raw bytes (how keys travel in the API). */
export function ed25519PublicKey(base64: string): KeyObject {
  const raw = Buffer.from(base64, "base64");
  if (raw.length !== 32) throw new ClawHubError("INVALID_ARGUMENT", "not an Ed25519 public key");
  return createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") },
    format: "jwk",
  });
}

/** A new envelope around `payload`, signed by each key given. */
export function createEnvelope(
  payload: Uint8Array,
  signers: readonly KeyObject[],
  payloadType = INTOTO_PAYLOAD_TYPE,
): DsseEnvelope {
  const envelope: DsseEnvelope = {
    payloadType,
    payload: Buffer.from(payload).toString("base64"),
    signatures: [],
  };
  for (const key of signers) addSignature(envelope, key);
  return envelope;
}

/** Adds `key`'s signature to the envelope (a countersignature over the same payload). */
export function addSignature(envelope: DsseEnvelope, key: KeyObject): DsseEnvelope {
  const keyid = keyIdOf(key);
  const sig = sign(null, pae(envelope.payloadType, payloadOf(envelope)), key).toString("base64");
  envelope.signatures = [...envelope.signatures.filter((s) => s.keyid !== keyid), { keyid, sig }];
  return envelope;
}

/** The payload bytes of an envelope. */
export const payloadOf = (envelope: DsseEnvelope): Buffer =>
  Buffer.from(envelope.payload, "base64");

/** True when the envelope carries a valid signature by `key`. */
export function signedBy(envelope: DsseEnvelope, key: KeyObject): boolean {
  const keyid = keyIdOf(key);
  const signed = pae(envelope.payloadType, payloadOf(envelope));
  return envelope.signatures.some(
    (s) => s.keyid === keyid && verify(null, signed, key, Buffer.from(s.sig, "base64")),
  );
}

const b64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Validates an envelope from the network (shape, sizes, base64). */
export function parseEnvelope(value: unknown): DsseEnvelope {
  const text = typeof value === "string" ? value : JSON.stringify(value ?? null);
  if (Buffer.byteLength(text) > MAX_ENVELOPE_BYTES) throw fail("attestation too large");
  let parsed: unknown;
  try {
    parsed = typeof value === "string" ? JSON.parse(value) : value;
  } catch {
    throw fail("attestation is not JSON");
  }
  const e = parsed as Partial<DsseEnvelope> | null;
  if (
    !e ||
    typeof e.payloadType !== "string" ||
    typeof e.payload !== "string" ||
    !b64.test(e.payload) ||
    !Array.isArray(e.signatures) ||
    e.signatures.length > 16 ||
    !e.signatures.every(
      (s) =>
        s &&
        typeof s.keyid === "string" &&
        typeof s.sig === "string" &&
        s.keyid.length <= 128 &&
        b64.test(s.sig),
    )
  )
    throw fail("malformed attestation envelope");
  return {
    payloadType: e.payloadType,
    payload: e.payload,
    signatures: e.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })),
  };
}

/** The statement's bytes (RFC 8785 canonical JSON, so every party hashes the same bytes). */
export function publishStatement(a: PublishAttestation): Buffer {
  const text = canonicalize({
    _type: STATEMENT_TYPE,
    subject: [
      {
        name: `${a.owner}/${a.slug}@${a.version}.zip`,
        digest: { sha256: a.sha256, sha512: a.sha512, clawhubFingerprint: a.fingerprint },
      },
    ],
    predicateType: PUBLISH_PREDICATE_TYPE,
    predicate: {
      registry: a.registry,
      owner: a.owner,
      slug: a.slug,
      version: a.version,
      publisherKeyId: a.publisherKeyId,
      publishedAt: a.publishedAt,
    },
  });
  if (text === undefined) throw new ClawHubError("INTERNAL", "unserialisable statement");
  return Buffer.from(text);
}

const str = (v: unknown, max = 512): v is string => typeof v === "string" && v.length <= max;

/** Reads a publish statement back (from an envelope's payload); throws VERIFICATION_FAILED. */
export function readPublishStatement(payload: Uint8Array): PublishAttestation {
  let s: {
    _type?: unknown;
    subject?: { name?: unknown; digest?: Record<string, unknown> }[];
    predicateType?: unknown;
    predicate?: Record<string, unknown>;
  };
  try {
    s = JSON.parse(Buffer.from(payload).toString("utf8"));
  } catch {
    throw fail("attestation payload is not JSON");
  }
  const subject = Array.isArray(s?.subject) && s.subject.length === 1 ? s.subject[0] : undefined;
  const p = s?.predicate;
  const d = subject?.digest;
  if (
    s?._type !== STATEMENT_TYPE ||
    s.predicateType !== PUBLISH_PREDICATE_TYPE ||
    !p ||
    !d ||
    !str(p.registry) ||
    !str(p.owner) ||
    !str(p.slug) ||
    !str(p.version) ||
    !str(p.publishedAt) ||
    !(p.publisherKeyId === null || str(p.publisherKeyId, 128)) ||
    !str(d.sha256, 64) ||
    !str(d.sha512, 128) ||
    !str(d.clawhubFingerprint, 128)
  )
    throw fail("attestation is not a ClawHub publish statement");
  const a: PublishAttestation = {
    registry: p.registry,
    owner: p.owner,
    slug: p.slug,
    version: p.version,
    sha256: d.sha256,
    sha512: d.sha512,
    fingerprint: d.clawhubFingerprint,
    publisherKeyId: p.publisherKeyId,
    publishedAt: p.publishedAt,
  };
  // Only the canonical form is accepted: every party must hash the very same bytes.
  if (!publishStatement(a).equals(Buffer.from(payload)))
    throw fail("attestation payload is not in canonical form");
  return a;
}
