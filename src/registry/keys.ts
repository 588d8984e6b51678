/**
 * Publisher keys and signed publishes (docs/security.md#signed-versions). A publisher registers
 * Ed25519 public keys to their account; `clawhub publish` then signs its version's in-toto
 * statement, and the registry checks that signature (a key of the publishing user, not revoked,
 * over a statement that names exactly what was published) before it countersigns and logs it.
 */
import { createPublicKey } from "node:crypto";
import { ClawHubError } from "../errors/index.ts";
import type { PublisherKeyView } from "../schema/index.ts";
import {
  type DsseEnvelope,
  ed25519PublicKey,
  keyIdOf,
  type PublishAttestation,
  parseEnvelope,
  payloadOf,
  readPublishStatement,
  signedBy,
} from "../trust/index.ts";
import type { Principal } from "./access.ts";
import type { PublisherKey, RegistryStore } from "./store/index.ts";

/** Active keys a user may hold at once. */
export const MAX_KEYS_PER_USER = 20;
/** How far a signed statement's time may be from the registry's clock. */
export const MAX_CLOCK_SKEW_MS = 15 * 60_000;

/** A key as the API shows it. */
export const keyView = (k: PublisherKey): PublisherKeyView => ({
  keyId: k.id,
  handle: k.handle,
  name: k.name,
  publicKey: k.publicKey,
  createdAt: k.createdAt,
  revokedAt: k.revokedAt,
});

/**
 * Reads a public key as sent: base64 of the 32 raw bytes, or an SPKI PEM. Throws
 * INVALID_ARGUMENT for anything else.
 */
export function rawPublicKey(text: unknown): string {
  if (typeof text !== "string" || text.length > 4096)
    throw new ClawHubError("INVALID_ARGUMENT", "publicKey is required (base64 or PEM)");
  try {
    const key = text.includes("-----BEGIN") ? createPublicKey(text) : ed25519PublicKey(text.trim());
    const jwk = key.export({ format: "jwk" });
    if (jwk.crv !== "Ed25519" || typeof jwk.x !== "string") throw new Error("not Ed25519");
    const raw = Buffer.from(jwk.x, "base64url");
    if (raw.length !== 32) throw new Error("not 32 bytes");
    return raw.toString("base64");
  } catch {
    throw new ClawHubError("INVALID_ARGUMENT", "publicKey is not an Ed25519 public key", {
      hint: "`clawhub keys generate` makes one and registers it.",
    });
  }
}

/** The key operations and the check of a signed publish. */
export function createKeyService(options: { store: RegistryStore; now: () => number }) {
  const { store, now } = options;
  return {
    async add(principal: Principal, input: { name?: unknown; publicKey?: unknown }) {
      const publicKey = rawPublicKey(input.publicKey);
      const name = typeof input.name === "string" ? input.name.trim() : "";
      if (name.length === 0 || name.length > 64 || /[\p{Cc}]/u.test(name))
        throw new ClawHubError("INVALID_ARGUMENT", "a key needs a name of 1 to 64 characters");
      const active = (await store.keys.keysOf(principal.user.id)).filter((k) => !k.revokedAt);
      if (active.length >= MAX_KEYS_PER_USER)
        throw new ClawHubError("LIMIT_EXCEEDED", `at most ${MAX_KEYS_PER_USER} active keys`, {
          hint: "Revoke a key you no longer use: clawhub keys revoke <keyId>.",
        });
      const id = keyIdOf(ed25519PublicKey(publicKey));
      await store.keys.addKey({ id, userId: principal.user.id, name, publicKey, createdAt: now() });
      return keyView((await store.keys.keyById(id)) as PublisherKey);
    },
    async list(principal: Principal) {
      return (await store.keys.keysOf(principal.user.id)).map(keyView);
    },
    /** A user's (or org's) keys, revoked ones included: what a client checks signatures with. */
    async ofHandle(handle: string) {
      const user = await store.userByHandle(handle.replace(/^@/, "").toLowerCase());
      if (!user) throw new ClawHubError("NOT_FOUND", `no user @${handle.slice(0, 64)}`);
      return (await store.keys.keysOf(user.id)).map(keyView);
    },
    async byId(id: string) {
      const key = /^[0-9a-f]{64}$/.test(id) ? await store.keys.keyById(id) : undefined;
      if (!key) throw new ClawHubError("NOT_FOUND", `no key ${id.slice(0, 64)}`);
      return keyView(key);
    },
    async revoke(principal: Principal, id: string) {
      if (!(await store.keys.revokeKey(principal.user.id, id, now())))
        throw new ClawHubError("NOT_FOUND", `you have no active key ${id.slice(0, 64)}`);
      return { ok: true as const, keyId: id };
    },

    /**
     * Checks a publisher-signed envelope against what this publish produced: a statement about
     * exactly this version and archive, by a key of the publishing user that is not revoked,
     * signed within the clock skew. Returns the envelope to countersign and its statement.
     */
    async checkSigned(
      principal: Principal,
      sent: unknown,
      expected: Omit<PublishAttestation, "publisherKeyId" | "publishedAt">,
    ): Promise<{ envelope: DsseEnvelope; statement: PublishAttestation }> {
      const envelope = parseEnvelope(sent);
      const statement = readPublishStatement(payloadOf(envelope));
      const refuse = (why: string) =>
        new ClawHubError("VERIFICATION_FAILED", `the publish signature was refused: ${why}`);
      const key = statement.publisherKeyId
        ? await store.keys.keyById(statement.publisherKeyId)
        : undefined;
      if (!key || key.userId !== principal.user.id)
        throw refuse("its key is not registered to you");
      if (key.revokedAt !== null) throw refuse(`key ${key.id.slice(0, 16)} is revoked`);
      if (!signedBy(envelope, ed25519PublicKey(key.publicKey)))
        throw refuse("the signature does not verify with that key");
      for (const field of [
        "registry",
        "owner",
        "slug",
        "version",
        "sha256",
        "sha512",
        "fingerprint",
      ] as const)
        if (statement[field] !== expected[field])
          throw refuse(
            `the statement's ${field} is not this publish's (${String(expected[field]).slice(0, 80)})`,
          );
      const at = Date.parse(statement.publishedAt);
      if (!Number.isFinite(at) || Math.abs(at - now()) > MAX_CLOCK_SKEW_MS)
        throw refuse("its time is more than 15 minutes from the registry's clock");
      // Only the signature that was checked is kept: the registry adds its own beside it, and
      // nothing else a client sent rides along into the log.
      const keyid = keyIdOf(ed25519PublicKey(key.publicKey));
      return {
        envelope: {
          ...envelope,
          signatures: envelope.signatures.filter((sg) => sg.keyid === keyid),
        },
        statement,
      };
    },
  };
}

/** The key service's type. */
export type KeyService = ReturnType<typeof createKeyService>;
