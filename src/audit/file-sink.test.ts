import {
  appendFileSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type AuditKey,
  auditKey,
  createAuditLog,
  createFileAuditSink,
  digestOf,
  verifyAuditLog,
} from "./index.ts";

let root: string;
let dir: string;
let key: AuditKey;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "clawhub-audit-files-"));
  dir = join(root, "audit");
  key = auditKey();
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const event = (i: number) => ({
  kind: "call",
  actor: "spiffe://clawhub.local/caller/app",
  capability: "payments.charge",
  inputDigest: digestOf({ i }),
  outcome: "accepted",
});

/** A log over files in `dir`; `count` entries appended in bursts of ten (one turn each). */
async function write(count: number, sizes: { segmentBytes?: number; maxBytes?: number } = {}) {
  const sink = createFileAuditSink({ dir, ...sizes });
  const log = createAuditLog({ sink, key, checkpointEvery: 10 });
  for (let i = 0; i < count; i += 10)
    await Promise.all(
      Array.from({ length: Math.min(10, count - i) }, (_, j) => log.append(event(i + j))),
    );
  return { sink, log };
}

const segmentsOf = () => readdirSync(dir).filter((f) => f.endsWith(".jsonl"));

describe("audit log files", () => {
  it("keeps the log within its byte budget: old segments go, and what is left verifies from a signed head", async () => {
    const { sink, log } = await write(2000, { segmentBytes: 16 * 1024, maxBytes: 64 * 1024 });
    const usage = sink.usage();
    expect(usage.dropped).toBeGreaterThan(0);
    // At most one segment (and a checkpoint's worth of entries) over the budget.
    expect(usage.bytes).toBeLessThanOrEqual(64 * 1024 + 20 * 1024);
    expect(segmentsOf().length).toBe(usage.segments);
    const verdict = verifyAuditLog(await log.export(), key.publicKeyPem);
    expect(verdict).toMatchObject({ ok: true, entries: 2000 });
    if (!verdict.ok) return;
    expect(verdict.from).toBeGreaterThan(1);
    expect(verdict.from).toBeLessThan(2000);
    // Owner-only whatever the umask.
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of segmentsOf()) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    await log.close();
    sink.close();
  });

  it("goes on after a restart, and a line torn by a crash is cut off", async () => {
    const first = await write(25, { segmentBytes: 2048 });
    await first.log.close();
    first.sink.close();
    const newest = segmentsOf().sort().at(-1) as string;
    appendFileSync(join(dir, newest), '{"type":"entry","seq":99,"kin');
    const second = await write(25, { segmentBytes: 2048 });
    const verdict = verifyAuditLog(await second.log.export(), key.publicKeyPem);
    expect(verdict).toMatchObject({ ok: true, entries: 50, from: 1 });
    second.sink.close();
  });

  it("still names an edited entry and a dropped start without its signed head", async () => {
    const { sink, log } = await write(300, { segmentBytes: 8 * 1024 });
    await log.close();
    sink.close();
    const files = segmentsOf().sort();
    expect(files.length).toBeGreaterThan(2);
    // An entry edited in the middle of a kept segment.
    const middle = join(dir, files[1] as string);
    const original = readFileSync(middle, "utf8");
    const rows = original.split("\n");
    const at = rows.findIndex((r) => r.includes('"type":"entry"'));
    rows[at] = (rows[at] as string).replace('"accepted"', '"refused"');
    writeFileSync(middle, rows.join("\n"));
    const reopened = createFileAuditSink({ dir });
    const edited = verifyAuditLog(
      await createAuditLog({ sink: reopened, key }).export(),
      key.publicKeyPem,
    );
    expect(edited).toMatchObject({ ok: false, problem: "edited" });
    reopened.close();
    writeFileSync(middle, original);
    // The oldest segment deleted, and the next one's opening checkpoint cut as well: the log
    // then starts with a bare entry, which is a gap, not retention.
    unlinkSync(join(dir, files[0] as string));
    writeFileSync(middle, original.split("\n").slice(1).join("\n"));
    const cut = createFileAuditSink({ dir });
    const verdict = verifyAuditLog(
      await createAuditLog({ sink: cut, key }).export(),
      key.publicKeyPem,
    );
    expect(verdict).toMatchObject({ ok: false, problem: "deleted" });
    cut.close();
  });
});
