import { createHash } from "node:crypto";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { openSqlite, startRegistryServer } from "../src/registry/index.ts";
import {
  generateNoteKey,
  leafHash,
  openCheckpoint,
  parseEnvelope,
  parseVerifierKey,
  payloadOf,
  readPublishStatement,
  signedBy,
  verifyConsistency,
  verifyInclusion,
} from "../src/trust/index.ts";
import { createSandbox, publishSkill, type Sandbox } from "./helpers/registry.ts";

let box: Sandbox | undefined;
afterEach(async () => {
  await box?.close();
  box = undefined;
});

const publish = publishSkill;

// biome-ignore lint/suspicious/noExplicitAny: API answers checked field by field below
const json = async (url: string, token?: string): Promise<any> => {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json();
};
const b64 = (list: string[]) => list.map((h) => Buffer.from(h, "base64"));

describe("transparency log (registry)", () => {
  it("logs every publish with a registry-signed statement a client can verify end to end", async () => {
    box = await createSandbox();
    const url = box.server.url;
    await publish(box, "weather", "1.0.0");
    const first = await (await fetch(`${url}/api/v1/log/checkpoint`)).text();
    await publish(box, "weather", "1.1.0");
    await publish(box, "secret-notes", "1.0.0", { visibility: "private" });

    const info = await json(`${url}/api/v1/log`);
    const key = parseVerifierKey(info.verifierKey);
    expect(info.origin).toBe(key.name);
    expect(info.size).toBe(3);
    const old = openCheckpoint(first, key);
    expect(old.size).toBe(1);

    const a = await json(
      `${url}/api/v1/skills/weather/attestation?version=1.0.0&since=${old.size}`,
    );
    const checkpoint = openCheckpoint(a.checkpoint, key);
    expect(checkpoint.size).toBe(3);
    const envelope = parseEnvelope(a.envelope);
    expect(signedBy(envelope, key.publicKey)).toBe(true);
    const statement = readPublishStatement(payloadOf(envelope));
    expect(statement).toMatchObject({
      registry: info.origin,
      slug: "weather",
      version: "1.0.0",
      publisherKeyId: null,
    });
    // The statement names the very bytes a download gets.
    const zip = Buffer.from(
      await (await fetch(`${url}/api/v1/download?slug=weather&version=1.0.0`)).arrayBuffer(),
    );
    expect(statement.sha256).toBe(createHash("sha256").update(zip).digest("hex"));
    expect(statement.sha512).toBe(createHash("sha512").update(zip).digest("hex"));
    const leaf = leafHash(payloadOf(envelope));
    expect(
      verifyInclusion(a.logIndex, checkpoint.size, leaf, b64(a.inclusionProof), checkpoint.root),
    ).toBe(true);
    expect(
      verifyConsistency(
        old.size,
        checkpoint.size,
        b64(a.consistencyProof),
        old.root,
        checkpoint.root,
      ),
    ).toBe(true);
    // The same proofs through the generic endpoints.
    const inc = await json(`${url}/api/v1/log/proof/inclusion?index=${a.logIndex}&size=3`);
    expect(inc.proof).toEqual(a.inclusionProof);
    const con = await json(`${url}/api/v1/log/proof/consistency?from=1&to=3`);
    expect(con.proof).toEqual(a.consistencyProof);
    expect((await fetch(`${url}/api/v1/log/proof/consistency?from=1&to=4`)).status).toBe(400);

    // Monitors read every leaf; a private skill's statement is withheld from strangers only.
    const anon = await json(`${url}/api/v1/log/entries?start=0`);
    expect(anon.entries.map((e: { envelope: unknown }) => e.envelope === null)).toEqual([
      false,
      false,
      true,
    ]);
    const admin = await json(`${url}/api/v1/log/entries?start=0`, box.adminToken);
    expect(admin.entries.every((e: { envelope: unknown }) => e.envelope !== null)).toBe(true);
    expect(admin.entries[2].leafHash).toBe(anon.entries[2].leafHash);

    const verify = await json(`${url}/api/v1/skills/weather/verify?version=1.1.0`);
    expect(verify.signature).toMatchObject({
      format: "dsse",
      signedBy: ["registry"],
      logIndex: 1,
      matchesArtifact: true,
    });
  });

  it("keeps its key across restarts, refuses a lost or foreign key, and logs versions of older databases", async () => {
    box = await createSandbox();
    const dataDir = join(box.root, "data");
    await publish(box, "weather", "1.0.0");
    await publish(box, "weather", "1.1.0");
    const before = await json(`${box.server.url}/api/v1/log`);
    const keyFile = join(dataDir, "log-key");
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    await box.server.close();

    // A database from before the log: its versions, no leaves. The next start logs them.
    const db = openSqlite(join(dataDir, "registry.db"));
    for (const table of ["tlog_leaves", "tlog_nodes", "tlog_checkpoints"])
      await sql`DELETE FROM ${sql.table(table)}`.execute(db);
    await db.destroy();
    let server = await startRegistryServer({ port: 0, dataDir, embedder: "none" });
    const after = await json(`${server.url}/api/v1/log`);
    expect(after.verifierKey).toBe(before.verifierKey);
    expect(after.size).toBe(2);
    const a = await json(`${server.url}/api/v1/skills/weather/attestation?version=1.1.0`);
    expect(readPublishStatement(payloadOf(parseEnvelope(a.envelope))).version).toBe("1.1.0");
    await server.close();

    const saved = await readFile(keyFile, "utf8");
    await rm(keyFile);
    await expect(startRegistryServer({ port: 0, dataDir, embedder: "none" })).rejects.toThrow(
      /signing key .* is missing/,
    );
    await writeFile(keyFile, generateNoteKey(after.origin).signer, { mode: 0o600 });
    await expect(startRegistryServer({ port: 0, dataDir, embedder: "none" })).rejects.toThrow(
      /not the key this registry's transparency log was started with/,
    );
    await writeFile(keyFile, saved);
    server = await startRegistryServer({ port: 0, dataDir, embedder: "none" });
    box.server = server;
  });

  it("fails verify when a version row no longer matches its logged statement", async () => {
    box = await createSandbox();
    await publish(box, "weather", "1.0.0");
    const db = openSqlite(join(box.root, "data", "registry.db"));
    // An attacker with the database rewrites the version's digests (and would swap the blob).
    await sql`UPDATE versions SET fingerprint = ${"f".repeat(64)}`.execute(db);
    await db.destroy();
    const verify = await json(`${box.server.url}/api/v1/skills/weather/verify`);
    expect(verify.decision).toBe("fail");
    expect(verify.reasons).toContain("attestation.mismatch");
    expect(verify.signature.matchesArtifact).toBe(false);
  });
});
