import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isClawHubError } from "../errors/index.ts";
import {
  createEnrollment,
  createKeyAndCsr,
  createMemoryEnrollmentStore,
  openCertificateAuthority,
  parseSpiffeId,
  spiffeId,
} from "./index.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "clawhub-identity-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const code = async (p: Promise<unknown>) =>
  p.then(
    () => "resolved",
    (e: unknown) => (isClawHubError(e) ? e.code : String(e)),
  );

describe("hub certificate authority", () => {
  it("is created once in the data directory, its key 0600, and reopened as the same CA", async () => {
    const ca = await openCertificateAuthority({ dir, trustDomain: "example.test" });
    expect((await stat(join(dir, "ca.key.pem"))).mode & 0o777).toBe(0o600);
    const again = await openCertificateAuthority({ dir, trustDomain: "example.test" });
    expect(again.certificatePem).toBe(ca.certificatePem);
    const cert = new X509Certificate(ca.certificatePem);
    expect(cert.ca).toBe(true);
    expect(cert.subjectAltName).toBe("URI:spiffe://example.test");
    // Another trust domain on the same directory is refused, not silently mixed.
    expect(await code(openCertificateAuthority({ dir, trustDomain: "other.test" }))).toBe(
      "CONFIG_INVALID",
    );
  });

  it("issues short-lived certificates naming only the identity, from a CSR (the key stays with its owner)", async () => {
    const ca = await openCertificateAuthority({ dir });
    const { keyPem, csrPem } = await createKeyAndCsr("payments-1");
    const id = spiffeId("clawhub.local", "agent", "payments-1");
    const issued = await ca.issue({ csrPem, identity: id, ttlMs: 15 * 60_000 });
    const cert = new X509Certificate(issued.certificatePem);
    expect(cert.subjectAltName).toBe("URI:spiffe://clawhub.local/agent/payments-1");
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(new X509Certificate(ca.certificatePem))).toBe(true);
    expect(
      cert.checkPrivateKey(await import("node:crypto").then((c) => c.createPrivateKey(keyPem))),
    ).toBe(true);
    expect(Date.parse(cert.validTo) - Date.now()).toBeLessThanOrEqual(15 * 60_000 + 1000);
    expect(ca.verify(issued.certificatePem).identity.uri).toBe(id.uri);
    // The CA never stored the agent's key.
    expect(await readFile(join(dir, "ca.key.pem"), "utf8")).not.toContain(keyPem.split("\n")[1]);
  });

  it("refuses certificates of another CA, expired ones, and CSRs whose signature does not hold", async () => {
    const ca = await openCertificateAuthority({ dir });
    const otherDir = join(dir, "other");
    const other = await openCertificateAuthority({ dir: otherDir });
    const { csrPem } = await createKeyAndCsr("mallory");
    const id = spiffeId("clawhub.local", "agent", "payments-1");
    const foreign = await other.issue({ csrPem, identity: id, ttlMs: 60_000 });
    expect(() => ca.verify(foreign.certificatePem)).toThrow(/not issued by this hub's CA/);
    let clock = Date.now();
    const timed = await openCertificateAuthority({ dir, now: () => clock });
    const short = await timed.issue({ csrPem, identity: id, ttlMs: 60_000 });
    clock += 2 * 60_000;
    expect(() => timed.verify(short.certificatePem)).toThrow(/expired/);
    // A CSR edited after signing (another public key, or a flipped byte) fails proof of possession.
    const body = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ""), "base64");
    body[body.length - 5] = (body[body.length - 5] as number) ^ 0xff;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${body.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    expect(await code(ca.issue({ csrPem: tampered, identity: id, ttlMs: 60_000 }))).toMatch(
      /UNAUTHENTICATED|INVALID_ARGUMENT/,
    );
    expect(await code(ca.issue({ csrPem, identity: id, ttlMs: 2 * 86_400_000 }))).toBe(
      "INVALID_ARGUMENT",
    );
  });

  it("parses only well-formed identities of the trust domain", () => {
    expect(parseSpiffeId("spiffe://clawhub.local/caller/ci-bot").kind).toBe("caller");
    for (const bad of [
      "spiffe://clawhub.local/agent/../x",
      "spiffe://clawhub.local/root/x",
      "https://clawhub.local/agent/x",
      "spiffe://Clawhub.local/agent/x",
    ])
      expect(() => parseSpiffeId(bad), bad).toThrow(/not a ClawHub identity/);
  });
});

describe("enrollment", () => {
  it("exchanges a one-time token and a CSR for a certificate with the attested roles and labels", async () => {
    const ca = await openCertificateAuthority({ dir });
    const store = createMemoryEnrollmentStore();
    const enrollment = createEnrollment({ ca, store });
    const { token, identity } = await enrollment.create({
      name: "payments-1",
      kind: "agent",
      roles: ["payments"],
      labels: { clearance: "secret", region: "eu" },
    });
    expect(identity).toBe("spiffe://clawhub.local/agent/payments-1");
    const { csrPem } = await createKeyAndCsr("whatever-the-agent-asks");
    const issued = await enrollment.redeem(token, csrPem);
    expect(issued.identity.uri).toBe(identity);
    expect(issued.labels).toEqual({ clearance: "secret", region: "eu" });
    expect(issued.roles).toEqual(["payments"]);
    // The certificate itself carries the attestation (a hub reads it from there).
    const read = ca.verify(issued.certificatePem);
    expect(read.roles).toEqual(["payments"]);
    expect(read.labels).toEqual({ clearance: "secret", region: "eu" });
    // One use: the same token again is refused, like any unknown token.
    expect(await code(enrollment.redeem(token, csrPem))).toBe("UNAUTHENTICATED");
    expect(await code(enrollment.redeem("che_not-a-real-token-at-all-000", csrPem))).toBe(
      "UNAUTHENTICATED",
    );
  });

  it("expires tokens, counts uses under concurrent redemptions, and stores only hashes", async () => {
    let clock = Date.now();
    const ca = await openCertificateAuthority({ dir, now: () => clock });
    const store = createMemoryEnrollmentStore();
    const enrollment = createEnrollment({ ca, store, now: () => clock });
    const three = await enrollment.create({ name: "ci", kind: "caller", uses: 3 });
    const { csrPem } = await createKeyAndCsr("ci");
    const results = await Promise.all(
      Array.from({ length: 6 }, () => code(enrollment.redeem(three.token, csrPem))),
    );
    expect(results.filter((r) => r === "resolved")).toHaveLength(3);
    expect(results.filter((r) => r === "UNAUTHENTICATED")).toHaveLength(3);
    const short = await enrollment.create({ name: "late", kind: "agent", tokenTtlMs: 60_000 });
    expect(await store.get(short.token)).toBeUndefined();
    clock += 61_000;
    expect(await code(enrollment.redeem(short.token, csrPem))).toBe("UNAUTHENTICATED");
    expect(await code(enrollment.create({ name: "Bad Name", kind: "agent" }))).toBe(
      "INVALID_ARGUMENT",
    );
  });
});

describe("signed requests", () => {
  it("verifies with the certificate's key, and refuses a replay, a stale time, an edit or another signer", async () => {
    const { createPrivateKey, generateKeyPairSync } = await import("node:crypto");
    const { createReplayGuard, newNonce, signFields, verifySignedFields } = await import(
      "./index.ts"
    );
    const ca = await openCertificateAuthority({ dir });
    const { keyPem, csrPem } = await createKeyAndCsr("caller-1");
    const issued = await ca.issue({
      csrPem,
      identity: spiffeId("clawhub.local", "caller", "caller-1"),
      ttlMs: 60_000,
    });
    const publicKey = new X509Certificate(issued.certificatePem).publicKey;
    let clock = Date.now();
    const guard = createReplayGuard({ windowMs: 30_000, now: () => clock });
    const fields = {
      method: "Call",
      capability: "payments.charge",
      digest: "a".repeat(64),
      idempotencyKey: "k-1",
      time: clock,
      nonce: newNonce(),
    };
    const signature = signFields(createPrivateKey(keyPem), fields);
    verifySignedFields({ publicKey, fields, signature, guard });
    // The same request again is a replay.
    expect(() => verifySignedFields({ publicKey, fields, signature, guard })).toThrow(/replayed/);
    // Another capability under the same signature does not verify.
    const edited = { ...fields, capability: "payments.refund", nonce: newNonce() };
    expect(() => verifySignedFields({ publicKey, fields: edited, signature, guard })).toThrow(
      /does not verify/,
    );
    // Signed by someone else (an Ed25519 key of another identity).
    const other = generateKeyPairSync("ed25519");
    const fresh = { ...fields, nonce: newNonce() };
    expect(() =>
      verifySignedFields({
        publicKey,
        fields: fresh,
        signature: signFields(other.privateKey, fresh),
        guard,
      }),
    ).toThrow(/does not verify/);
    // Ed25519 senders verify too; a request older than the window is refused.
    const ed = { ...fields, nonce: newNonce() };
    verifySignedFields({
      publicKey: other.publicKey,
      fields: ed,
      signature: signFields(other.privateKey, ed),
      guard,
    });
    clock += 31_000;
    const late = { ...fields, nonce: newNonce() };
    expect(() =>
      verifySignedFields({
        publicKey,
        fields: late,
        signature: signFields(createPrivateKey(keyPem), late),
        guard,
      }),
    ).toThrow(/outside the 30 s window/);
  });

  it("verifies the same on the loop and on the thread pool: a burst of checks, one tampered and one replayed", async () => {
    const { createReplayGuard, newNonce, signFields, verifySignedFieldsAsync } = await import(
      "./index.ts"
    );
    const { generateKeyPairSync } = await import("node:crypto");
    const key = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const guard = createReplayGuard();
    const signed = Array.from({ length: 40 }, (_, i) => {
      const fields = {
        method: "Call",
        capability: "echo",
        digest: String(i).padStart(64, "0"),
        time: Date.now(),
        nonce: newNonce(),
      };
      return { fields, signature: signFields(key.privateKey, fields) };
    });
    // The first check of the turn runs on the loop, the rest of the burst on the pool: the
    // verdicts do not depend on where.
    const check = (i: number, edit = false) => {
      const s = signed[i] as (typeof signed)[number];
      return verifySignedFieldsAsync({
        publicKey: key.publicKey,
        fields: edit ? { ...s.fields, capability: "other" } : s.fields,
        signature: s.signature,
        guard,
      }).then(
        () => "ok",
        (e: Error) => e.message,
      );
    };
    const burst = await Promise.all([
      check(0, true),
      ...signed.slice(1).map((_, i) => check(i + 1)),
    ]);
    expect(burst[0]).toMatch(/does not verify/);
    expect(burst.slice(1)).toEqual(Array(39).fill("ok"));
    // Alone in its turn (on the loop), a replay and a tampered request are refused as well.
    await new Promise((r) => setImmediate(r));
    expect(await check(1)).toMatch(/replayed/);
    await new Promise((r) => setImmediate(r));
    expect(await check(0, true)).toMatch(/does not verify/);
    expect(await check(0)).toBe("ok");
  });
});
