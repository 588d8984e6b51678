import { describe, expect, it } from "vitest";
import { describeControlPlaneConformance } from "./conformance.ts";
import { createMemoryControlPlane, subjectMatches } from "./memory.ts";

describeControlPlaneConformance("in-memory", async () => createMemoryControlPlane());

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

  it("matches subjects as NATS does", () => {
    expect(subjectMatches("a.*.c", "a.b.c")).toBe(true);
    expect(subjectMatches("a.*", "a.b.c")).toBe(false);
    expect(subjectMatches("a.>", "a")).toBe(false);
    expect(subjectMatches("a.>", "a.b.c")).toBe(true);
    expect(subjectMatches(">", "a")).toBe(true);
    expect(subjectMatches("a.b", "a.b")).toBe(true);
    expect(subjectMatches("a.b", "a.b.c")).toBe(false);
  });
});
