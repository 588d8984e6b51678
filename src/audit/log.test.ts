import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  auditKey,
  createAuditLog,
  createMemoryAuditSink,
  digestOf,
  verifyAuditLog,
} from "./index.ts";

const BIN = fileURLToPath(new URL("../../bin/clawhub.js", import.meta.url));

async function exported(count = 6, checkpointEvery = 2) {
  let clock = 1_800_000_000_000;
  const key = auditKey();
  const log = createAuditLog({
    sink: createMemoryAuditSink(),
    key,
    now: () => clock++,
    checkpointEvery,
  });
  for (let i = 1; i <= count; i++)
    await log.append({
      kind: "call",
      actor: `spiffe://clawhub.local/caller/c${i % 2}`,
      capability: "payments.charge",
      inputDigest: digestOf({ amount: i }),
      outcome: i === 3 ? "refused" : "accepted",
      ...(i === 3 ? { reason: "policy: no clearance" } : {}),
    });
  return { text: await log.export(), key };
}

const lines = (text: string) => text.split("\n");
const entryLine = (rows: string[], seq: number) =>
  rows.findIndex((r) => {
    const l = JSON.parse(r) as { type: string; seq: number };
    return l.type === "entry" && l.seq === seq;
  });

describe("audit log", () => {
  it("goes on verifying after an export and after it is closed and reopened", async () => {
    const key = auditKey();
    const sink = createMemoryAuditSink();
    const first = createAuditLog({ sink, key, checkpointEvery: 100 });
    await first.append({ kind: "call", outcome: "ok" });
    expect(verifyAuditLog(await first.export(), key.publicKeyPem)).toMatchObject({ ok: true });
    await first.append({ kind: "call", outcome: "ok" });
    await first.close();
    // A restarted hub appends to the same log.
    const second = createAuditLog({ sink, key, checkpointEvery: 100 });
    await second.append({ kind: "call", outcome: "refused", reason: "unsigned" });
    expect(verifyAuditLog(await second.export(), key.publicKeyPem)).toMatchObject({
      ok: true,
      entries: 3,
    });
  });

  it("verifies an intact export, with the hub's key or the one it carries", async () => {
    const { text, key } = await exported();
    expect(verifyAuditLog(text, key.publicKeyPem)).toMatchObject({ ok: true, entries: 6 });
    expect(verifyAuditLog(text)).toMatchObject({ ok: true, entries: 6, checkpoints: 4 });
  });

  it("names the entry that was edited, deleted, reordered, cut off or forged", async () => {
    const { text, key } = await exported();
    const rows = lines(text);
    const check = (changed: string[]) => verifyAuditLog(changed.join("\n"), key.publicKeyPem);

    const edited = [...rows];
    const i3 = entryLine(rows, 3);
    edited[i3] = (edited[i3] as string).replace('"refused"', '"accepted"');
    expect(check(edited)).toMatchObject({ ok: false, problem: "edited", seq: 3 });

    const deleted = rows.filter((_, i) => i !== entryLine(rows, 4));
    expect(check(deleted)).toMatchObject({ ok: false, problem: "deleted", seq: 4 });

    const reordered = [...rows];
    const [a, b] = [entryLine(rows, 5), entryLine(rows, 6)];
    [reordered[a], reordered[b]] = [reordered[b] as string, reordered[a] as string];
    expect(check(reordered)).toMatchObject({ ok: false, problem: "deleted" });

    const truncated = rows.slice(0, entryLine(rows, 5) + 1);
    expect(check(truncated)).toMatchObject({ ok: false, problem: "truncated" });

    // An edit re-hashed along the whole chain still fails: the checkpoints are signed.
    const forgedKey = auditKey();
    const forger = createAuditLog({
      sink: createMemoryAuditSink(),
      key: forgedKey,
      checkpointEvery: 2,
    });
    for (let i = 1; i <= 6; i++) await forger.append({ kind: "call", outcome: "accepted" });
    const forged = await forger.export();
    expect(verifyAuditLog(forged, key.publicKeyPem)).toMatchObject({
      ok: false,
      problem: "forged",
    });
    const badSig = [...rows];
    const lastCheckpoint = badSig.length - 1;
    const cp = JSON.parse(badSig[lastCheckpoint] as string) as { signature: string };
    cp.signature = Buffer.from("x".repeat(64)).toString("base64");
    badSig[lastCheckpoint] = JSON.stringify(cp);
    expect(check(badSig)).toMatchObject({ ok: false, problem: "forged" });
  });

  it("keeps one chain under concurrent appends", async () => {
    const key = auditKey();
    const log = createAuditLog({ sink: createMemoryAuditSink(), key });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => log.append({ kind: "dispatch", details: { i } })),
    );
    expect(verifyAuditLog(await log.export(), key.publicKeyPem)).toMatchObject({
      ok: true,
      entries: 50,
    });
  });

  it("clawhub audit verify: exit 0 when intact, 4 naming the broken entry", async () => {
    const dir = await mkdtemp(join(tmpdir(), "clawhub-audit-"));
    try {
      const { text, key } = await exported();
      await writeFile(join(dir, "audit.jsonl"), text);
      await writeFile(join(dir, "hub.pem"), key.publicKeyPem);
      const rows = lines(text);
      const i2 = entryLine(rows, 2);
      rows[i2] = (rows[i2] as string).replace("payments.charge", "payments.refund");
      await writeFile(join(dir, "edited.jsonl"), rows.join("\n"));
      const run = (args: string[]) =>
        new Promise<{ code: number; out: string }>((resolve) =>
          execFile(process.execPath, [BIN, ...args], { cwd: dir }, (e, stdout, stderr) =>
            resolve({
              code: e ? Number((e as { code?: number }).code ?? 1) : 0,
              out: stdout + stderr,
            }),
          ),
        );
      const ok = await run(["audit", "verify", "audit.jsonl", "--key", "hub.pem"]);
      expect(ok.code, ok.out).toBe(0);
      expect(ok.out).toContain("OK. 6 entries");
      const bad = await run(["audit", "verify", "edited.jsonl", "--key", "hub.pem"]);
      expect(bad.code).toBe(4);
      expect(bad.out).toContain(`edited.jsonl:${i2 + 1}: edited: entry 2 was changed`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
