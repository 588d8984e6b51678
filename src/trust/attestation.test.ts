import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  addSignature,
  createEnvelope,
  keyIdOf,
  type PublishAttestation,
  pae,
  parseEnvelope,
  payloadOf,
  publishStatement,
  readPublishStatement,
  signedBy,
} from "./attestation.ts";

const statement: PublishAttestation = {
  registry: "registry.example/log",
  owner: "alice",
  slug: "weather",
  version: "1.2.0",
  sha256: "a".repeat(64),
  sha512: "b".repeat(128),
  fingerprint: "c".repeat(64),
  publisherKeyId: null,
  publishedAt: "2026-12-07T00:00:00.000Z",
};

describe("publish attestations (in-toto in DSSE)", () => {
  it("encodes DSSE's PAE as its specification's example does", () => {
    // The DSSE protocol document's example: type "http://example.com/HelloWorld", body "hello world".
    expect(pae("http://example.com/HelloWorld", Buffer.from("hello world")).toString()).toBe(
      "DSSEv1 29 http://example.com/HelloWorld 11 hello world",
    );
  });

  it("writes a canonical in-toto Statement v1 and reads it back", () => {
    const bytes = publishStatement(statement);
    const parsed = JSON.parse(bytes.toString());
    expect(parsed._type).toBe("https://in-toto.io/Statement/v1");
    expect(parsed.subject[0].digest).toEqual({
      sha256: statement.sha256,
      sha512: statement.sha512,
      clawhubFingerprint: statement.fingerprint,
    });
    expect(readPublishStatement(bytes)).toEqual(statement);
    // Same meaning, other bytes: refused, since every party must hash the same leaf.
    expect(() => readPublishStatement(Buffer.from(JSON.stringify(parsed, null, 2)))).toThrow(
      /canonical/,
    );
    expect(() => readPublishStatement(Buffer.from('{"_type":"x"}'))).toThrow(/not a ClawHub/);
  });

  it("verifies the publisher's signature and the registry's countersignature separately", () => {
    const publisher = generateKeyPairSync("ed25519");
    const registry = generateKeyPairSync("ed25519");
    const stranger = generateKeyPairSync("ed25519");
    const envelope = createEnvelope(publishStatement(statement), [publisher.privateKey]);
    addSignature(envelope, registry.privateKey);
    const back = parseEnvelope(JSON.parse(JSON.stringify(envelope)));
    expect(back.signatures.map((s) => s.keyid)).toEqual([
      keyIdOf(publisher.publicKey),
      keyIdOf(registry.publicKey),
    ]);
    expect(signedBy(back, publisher.publicKey)).toBe(true);
    expect(signedBy(back, registry.publicKey)).toBe(true);
    expect(signedBy(back, stranger.publicKey)).toBe(false);
    const edited = publishStatement({ ...statement, version: "1.2.1" });
    const forged = { ...back, payload: edited.toString("base64") };
    expect(signedBy(forged, registry.publicKey)).toBe(false);
    expect(payloadOf(back).equals(publishStatement(statement))).toBe(true);
    expect(() => parseEnvelope({ payloadType: 1 })).toThrow(/malformed/);
    expect(() => parseEnvelope({ ...back, payload: "x".repeat(70_000) })).toThrow(/too large/);
  });
});
