/**
 * The ControlPlane conformance suite: every implementation (in-memory, NATS JetStream) must pass
 * it unchanged. It uses real time only (short TTLs and waits), never an injected clock, so a
 * networked implementation runs it as it is. Call it from a test file with a factory that opens
 * a fresh, empty control plane.
 */
import { afterEach, describe, expect, it } from "vitest";
import { isClawHubError } from "../errors/index.ts";
import type { ControlPlane, KvEntry } from "./types.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return "resolved";
  } catch (error) {
    return isClawHubError(error) ? error.code : String(error);
  }
};

export function describeControlPlaneConformance(
  name: string,
  open: () => Promise<ControlPlane>,
): void {
  describe(`ControlPlane conformance: ${name}`, () => {
    const opened: ControlPlane[] = [];
    const fresh = async () => {
      const cp = await open();
      opened.push(cp);
      return cp;
    };
    afterEach(async () => {
      for (const cp of opened.splice(0)) await cp.close();
    });

    it("KV: revisions grow across keys; compare-and-set refuses stale writers", async () => {
      const { kv } = await fresh();
      const r1 = await kv.put("agents.a1", { load: 1 });
      const r2 = await kv.put("agents.a2", { load: 2 });
      expect(r2).toBeGreaterThan(r1);
      expect(await kv.get("agents.a1")).toMatchObject({ value: { load: 1 }, revision: r1 });
      const r3 = await kv.update("agents.a1", { load: 3 }, r1);
      expect(r3).toBeGreaterThan(r2);
      expect(await codeOf(kv.update("agents.a1", { load: 4 }, r1))).toBe("CONFLICT");
      expect(await codeOf(kv.create("agents.a1", {}))).toBe("ALREADY_EXISTS");
      expect(await codeOf(kv.delete("agents.a1", { revision: r1 }))).toBe("CONFLICT");
      await kv.delete("agents.a1", { revision: r3 });
      expect(await kv.get("agents.a1")).toBeUndefined();
      // A deleted key can be created again.
      expect(await kv.create("agents.a1", { load: 0 })).toBeGreaterThan(r3);
      expect(await kv.keys("agents")).toEqual(["agents.a1", "agents.a2"]);
      expect(await kv.keys("agents.a2")).toEqual(["agents.a2"]);
      expect(await codeOf(kv.put("bad key", 1))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(kv.put(".leading", 1))).toBe("INVALID_ARGUMENT");
    });

    it("KV: of many concurrent compare-and-sets on one revision, exactly one wins", async () => {
      const { kv } = await fresh();
      const r = await kv.put("counter", 0);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => codeOf(kv.update("counter", i + 1, r))),
      );
      expect(results.filter((x) => x === "resolved")).toHaveLength(1);
      expect(results.filter((x) => x === "CONFLICT")).toHaveLength(19);
    });

    it("KV: returns copies, never shared objects", async () => {
      const { kv } = await fresh();
      const value = { list: [1] };
      await kv.put("k", value);
      value.list.push(2);
      const got = await kv.get<{ list: number[] }>("k");
      got?.value?.list.push(3);
      expect((await kv.get("k"))?.value).toEqual({ list: [1] });
    });

    it("KV watch: current entries first, then live changes in order, under the prefix only", async () => {
      const { kv } = await fresh();
      await kv.put("agents.a1", 1);
      await kv.put("other.x", 1);
      const watch = kv.watch<number>({ prefix: "agents", initial: true });
      const seen: Array<Pick<KvEntry, "key" | "operation" | "value">> = [];
      const done = (async () => {
        for await (const e of watch) {
          seen.push({ key: e.key, operation: e.operation, value: e.value });
          if (seen.length === 4) watch.stop();
        }
      })();
      await kv.put("agents.a2", 2);
      await kv.put("other.y", 2);
      await kv.put("agents.a1", 3);
      await kv.delete("agents.a2");
      await done;
      expect(seen).toEqual([
        { key: "agents.a1", operation: "put", value: 1 },
        { key: "agents.a2", operation: "put", value: 2 },
        { key: "agents.a1", operation: "put", value: 3 },
        { key: "agents.a2", operation: "delete", value: undefined },
      ]);
    });

    it("locks: one holder at a time, fencing tokens grow, expiry hands over, release frees", async () => {
      const { locks } = await fresh();
      const a = await locks.acquire("doc/1", { owner: "a", ttlMs: 300 });
      expect(await codeOf(locks.acquire("doc/1", { owner: "b", ttlMs: 300 }))).toBe("CONFLICT");
      expect(await locks.holder("doc/1")).toMatchObject({ owner: "a", token: a.token });
      // b waits; a's lease expires; b takes over with a larger token.
      const b = await locks.acquire("doc/1", { owner: "b", ttlMs: 5_000, waitMs: 2_000 });
      expect(b.token).toBeGreaterThan(a.token);
      // a's renewal and release no longer touch b's lease.
      expect(await codeOf(a.renew())).toBe("CONFLICT");
      await a.release();
      expect((await locks.holder("doc/1"))?.owner).toBe("b");
      await b.renew(10_000);
      expect((await locks.holder("doc/1"))?.token).toBe(b.token);
      await b.release();
      expect(await locks.holder("doc/1")).toBeUndefined();
      const c = await locks.acquire("doc/1", { owner: "c", ttlMs: 1_000 });
      expect(c.token).toBeGreaterThan(b.token);
    });

    it("locks: of concurrent acquirers exactly one wins", async () => {
      const { locks } = await fresh();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          codeOf(locks.acquire("job", { owner: `w${i}`, ttlMs: 5_000 })),
        ),
      );
      expect(results.filter((r) => r === "resolved")).toHaveLength(1);
    });

    it("pub/sub: wildcards, every matching subscriber, in order, none after unsubscribe", async () => {
      const cp = await fresh();
      const got: Record<string, string[]> = { exact: [], star: [], tail: [] };
      const subs = [
        cp.subscribe<number>("cache.skills.weather", (m) =>
          got.exact?.push(`${m.subject}=${m.data}`),
        ),
        cp.subscribe<number>("cache.*.weather", (m) => got.star?.push(`${m.subject}=${m.data}`)),
        cp.subscribe<number>("cache.>", (m) => got.tail?.push(`${m.subject}=${m.data}`)),
      ];
      cp.subscribe("cache.boom", () => {
        throw new Error("a failing subscriber");
      });
      await cp.publish("cache.skills.weather", 1);
      await cp.publish("cache.tools.weather", 2);
      await cp.publish("cache.boom", 3);
      await cp.publish("cache", 4); // ">" needs at least one more token
      await cp.publish("cache.skills.weather", 5);
      await sleep(100);
      expect(got.exact).toEqual(["cache.skills.weather=1", "cache.skills.weather=5"]);
      expect(got.star).toEqual([
        "cache.skills.weather=1",
        "cache.tools.weather=2",
        "cache.skills.weather=5",
      ]);
      expect(got.tail).toEqual([
        "cache.skills.weather=1",
        "cache.tools.weather=2",
        "cache.boom=3",
        "cache.skills.weather=5",
      ]);
      for (const s of subs) s.unsubscribe();
      await cp.publish("cache.skills.weather", 6);
      await sleep(50);
      expect(got.tail).toHaveLength(4);
    });

    it("pub/sub: bytes published beside the data arrive as they were, to every subscriber", async () => {
      const cp = await fresh();
      const bytes = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
      const got: Array<{ data: unknown; bytes?: Uint8Array }> = [];
      cp.subscribe("big.>", (m) =>
        got.push({ data: m.data, ...(m.bytes ? { bytes: m.bytes } : {}) }),
      );
      cp.subscribe("big.one", (m) =>
        got.push({ data: m.data, ...(m.bytes ? { bytes: m.bytes } : {}) }),
      );
      await cp.publish("big.one", { parts: [1, 2] }, bytes);
      await cp.publish("big.one", { parts: [] });
      await sleep(100);
      expect(got).toHaveLength(4);
      for (const m of got.slice(0, 2)) {
        expect(m.data).toEqual({ parts: [1, 2] });
        expect(Buffer.from(m.bytes ?? []).equals(Buffer.from(bytes))).toBe(true);
      }
      // A message published without bytes has none.
      expect(got.slice(2).map((m) => m.bytes)).toEqual([undefined, undefined]);
    });

    it("work queues: one puller per job, redelivery after the ack wait, nak and ack", async () => {
      const cp = await fresh();
      const q = cp.queue<{ n: number }>("tasks");
      await q.push({ n: 1 });
      await q.push({ n: 2 });
      const first = await q.pull({ ackWaitMs: 200 });
      const second = await q.pull({ ackWaitMs: 10_000 });
      expect([first?.data.n, second?.data.n]).toEqual([1, 2]);
      expect(await q.pull()).toBeUndefined();
      expect(await q.size()).toBe(2);
      // Not acknowledged in time: delivered again, as attempt 2; the late ack is ignored.
      await sleep(300);
      const again = await q.pull({ ackWaitMs: 10_000 });
      expect(again).toMatchObject({ data: { n: 1 }, attempt: 2 });
      await first?.ack();
      expect(await q.size()).toBe(2);
      await again?.ack();
      await second?.nak();
      const third = await q.pull();
      expect(third).toMatchObject({ data: { n: 2 }, attempt: 2 });
      await third?.ack();
      expect(await q.size()).toBe(0);
      // Queues are separate.
      await cp.queue("other").push({ n: 9 });
      expect(await q.pull()).toBeUndefined();
    });
  });
}
