/**
 * Signed requests: every call and task result carries its sender's signature over the RFC 8785
 * canonical JSON of what it asks (method, capability, input or output digest, idempotency key,
 * time, nonce). The receiver checks the signature with the key of the sender's certificate,
 * the time against a window, and the nonce against those it has seen: a replay is refused.
 */
import { createPublicKey, type KeyObject, randomBytes, sign, verify } from "node:crypto";
import canonicalize from "canonicalize";
import { ClawHubError } from "../errors/index.ts";
import type { SignedFields } from "../schema/index.ts";

export type { SignedFields };

const payload = (f: SignedFields) => {
  const text = canonicalize({
    method: f.method,
    capability: f.capability ?? null,
    digest: f.digest,
    idempotencyKey: f.idempotencyKey ?? null,
    time: f.time,
    nonce: f.nonce,
  });
  if (text === undefined) throw new ClawHubError("INVALID_ARGUMENT", "unsignable request");
  return Buffer.from(text);
};

/** A fresh nonce. */
export const newNonce = (random: (n: number) => Buffer = randomBytes) =>
  random(16).toString("base64url");

/**
 * Signs with the sender's key: Ed25519, or the certificate's ECDSA P-256 key (SHA-256). Base64.
 */
export function signFields(privateKey: KeyObject, fields: SignedFields): string {
  const alg = privateKey.asymmetricKeyType === "ed25519" ? null : "sha256";
  return sign(alg, payload(fields), privateKey).toString("base64");
}

/**
 * Remembers nonces for the time window, so each signed request is accepted once. Bounded: past
 * `maxNonces` the oldest go first (the window check refuses what they would have matched).
 */
export function createReplayGuard(
  options: { windowMs?: number; maxNonces?: number; now?: () => number } = {},
) {
  const windowMs = options.windowMs ?? 60_000;
  const max = options.maxNonces ?? 100_000;
  const now = options.now ?? Date.now;
  const seen = new Map<string, number>();
  return {
    windowMs,
    /** Accepts a nonce at a time once; throws UNAUTHENTICATED for a replay or a stale time. */
    check(nonce: string, time: number): void {
      const t = now();
      if (!Number.isFinite(time) || Math.abs(t - time) > windowMs)
        throw new ClawHubError(
          "UNAUTHENTICATED",
          `signed request outside the ${windowMs / 1000} s window (clock skew or replay)`,
        );
      for (const [n, at] of seen) {
        if (t - at <= windowMs && seen.size <= max) break;
        seen.delete(n);
      }
      if (seen.has(nonce))
        throw new ClawHubError("UNAUTHENTICATED", "replayed signed request (nonce seen before)");
      seen.set(nonce, t);
    },
  };
}

/**
 * Verifies a signature with the sender's public key (from its verified certificate) and the
 * replay guard. Every failure is UNAUTHENTICATED with its reason.
 */
export function verifySignedFields(options: {
  publicKey: KeyObject | string;
  fields: SignedFields;
  signature: string;
  guard: ReturnType<typeof createReplayGuard>;
}): void {
  const key =
    typeof options.publicKey === "string" ? createPublicKey(options.publicKey) : options.publicKey;
  const alg = key.asymmetricKeyType === "ed25519" ? null : "sha256";
  let ok = false;
  try {
    ok = verify(alg, payload(options.fields), key, Buffer.from(options.signature, "base64"));
  } catch {
    ok = false;
  }
  if (!ok)
    throw new ClawHubError(
      "UNAUTHENTICATED",
      "request signature does not verify with the sender's key",
    );
  options.guard.check(options.fields.nonce, options.fields.time);
}

/** Signature checks in flight on the thread pool, across every verifier of the process. */
let pooled = 0;
/** Whether this turn of the event loop has checked a signature on the loop already. */
let checkedThisTurn = false;

/**
 * {@link verifySignedFields} with the signature check on libuv's thread pool (Node's callback
 * form of crypto.verify) when the hub is busy: a hub verifying every call and every result under
 * load keeps its event loop for routing, and two cores verify at once. A quiet hub (nothing on
 * the pool, and the first check of this turn of the loop) checks on the loop instead: one ECDSA
 * verification (~70 µs, a fixed cost: what is signed is a small fixed set of fields with the
 * payload's digest) is cheaper than the round trip to a pool thread and back, which added
 * ~150 µs to each check on an idle 2-core machine (bench/hub.ts, p50 of sequential calls). The
 * replay check runs after, on the loop.
 */
export function verifySignedFieldsAsync(options: {
  publicKey: KeyObject;
  fields: SignedFields;
  signature: string;
  guard: ReturnType<typeof createReplayGuard>;
}): Promise<void> {
  const key = options.publicKey;
  const alg = key.asymmetricKeyType === "ed25519" ? null : "sha256";
  const refused = () =>
    new ClawHubError("UNAUTHENTICATED", "request signature does not verify with the sender's key");
  if (pooled === 0 && !checkedThisTurn) {
    checkedThisTurn = true;
    setImmediate(() => {
      checkedThisTurn = false;
    });
    try {
      verifySignedFields(options);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }
  pooled++;
  return new Promise<void>((resolve, reject) => {
    try {
      verify(
        alg,
        payload(options.fields),
        key,
        Buffer.from(options.signature, "base64"),
        (error, ok) => {
          pooled--;
          if (error || !ok) {
            reject(refused());
            return;
          }
          try {
            options.guard.check(options.fields.nonce, options.fields.time);
            resolve();
          } catch (e) {
            reject(e);
          }
        },
      );
    } catch {
      pooled--;
      reject(refused());
    }
  });
}
