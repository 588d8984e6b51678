import { appendFile, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeControlPlaneConformance } from "./conformance.ts";
import { createMemoryControlPlane } from "./memory.ts";

describeControlPlaneConformance("in-memory", async () => createMemoryControlPlane());
// Every journal folder a test made, removed when the file's tests are done.
const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), "cp-"));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describeControlPlaneConformance("in-memory with a journal file", async () =>
  createMemoryControlPlane({ file: join(await tempDir(), "journal.jsonl") }),
);

describe("in-memory control plane", () => {
  it("expires leases by the injected clock", async () => {
    let t = 1_000;
    const cp = createMemoryControlPlane({ now: () => t });
    const a = await cp.locks.acquire("r", { owner: "a", ttlMs: 100 });
    t += 99;
    expect((await cp.locks.holder("r"))?.owner).toBe("a");
    t += 1;
    expect(await cp.locks.holder("r")).toBeUndefined();
    const b = await cp.locks.acquire("r", { owner: "b", ttlMs: 100 });
    expect(b.token).toBeGreaterThan(a.token);
    await cp.close();
  });
});

describe("the file-backed memory control plane", () => {
  it("keeps keys, revisions and deletions across reopen, and skips a torn last line", async () => {
    const file = join(await tempDir(), "journal.jsonl");
    const first = createMemoryControlPlane({ file });
    await first.kv.put("runs.a", { step: 1 });
    const rev = await first.kv.put("runs.b", { step: 2 });
    await first.kv.delete("runs.b");
    const lease = await first.locks.acquire("doc", { owner: "x", ttlMs: 60_000 });
    await first.close();
    await appendFile(file, '{"k":"runs.c","v":');
    const second = createMemoryControlPlane({ file });
    expect((await second.kv.get("runs.a"))?.value).toEqual({ step: 1 });
    expect(await second.kv.get("runs.b")).toBeUndefined();
    expect(await second.kv.get("runs.c")).toBeUndefined();
    expect((await second.locks.holder("doc"))?.token).toBe(lease.token);
    // Revisions keep growing after a restart: fencing tokens never go back.
    expect(await second.kv.put("runs.d", 1)).toBeGreaterThan(rev + 1);
    await second.close();
  });

  it("compacts while running: deleted keys give their disk back", async () => {
    const file = join(await tempDir(), "journal.jsonl");
    const cp = createMemoryControlPlane({ file, compactAtBytes: 64 * 1024 });
    const blob = "x".repeat(1000);
    for (let i = 0; i < 500; i++) {
      await cp.kv.put(`runs.r${i}`, { blob });
      await cp.kv.delete(`runs.r${i}`);
    }
    await cp.kv.put("runs.kept", { blob });
    // 500 KB was written and deleted: the file holds the live key and little else.
    expect((await stat(file)).size).toBeLessThan(70 * 1024);
    const last = await cp.kv.put("runs.last", 1);
    await cp.close();
    const again = createMemoryControlPlane({ file });
    expect(await again.kv.keys("runs")).toEqual(["runs.kept", "runs.last"]);
    expect(await again.kv.put("runs.next", 1)).toBeGreaterThan(last);
    await again.close();
  });
});
