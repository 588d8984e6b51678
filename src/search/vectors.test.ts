import { describe, expect, it } from "vitest";
import { normalize } from "./embedder.ts";
import { createVectorIndex } from "./vectors.ts";

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

describe("vector index", () => {
  it("returns the same top-k as a brute-force sort, best first", () => {
    const r = rng(7);
    const index = createVectorIndex(16, 4);
    const vectors = new Map<string, Float32Array>();
    for (let i = 0; i < 300; i++) {
      const v = normalize(Array.from({ length: 16 }, r));
      vectors.set(`d${i}`, v);
      index.set(`d${i}`, v);
    }
    for (let t = 0; t < 20; t++) {
      const q = normalize(Array.from({ length: 16 }, r));
      const brute = [...vectors]
        .map(([id, v]) => ({ id, score: v.reduce((s, x, j) => s + x * (q[j] ?? 0), 0) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, 10);
      const got = index.topK(q, 10);
      expect(got.map((g) => g.id)).toEqual(brute.map((b) => b.id));
      for (const [i, g] of got.entries()) expect(g.score).toBeCloseTo(brute[i]?.score ?? 0, 5);
    }
  });

  it("replaces, removes (keeping rows dense) and filters", () => {
    const index = createVectorIndex(2);
    index.set("a", normalize([1, 0]));
    index.set("b", normalize([0, 1]));
    index.set("c", normalize([1, 1]));
    expect(index.topK(normalize([1, 0]), 1)[0]?.id).toBe("a");
    index.remove("a");
    expect(index.size()).toBe(2);
    expect(index.has("a")).toBe(false);
    expect(index.topK(normalize([1, 0]), 3).map((x) => x.id)).toEqual(["c", "b"]);
    index.set("b", normalize([1, 0]));
    expect(index.topK(normalize([1, 0]), 1)[0]?.id).toBe("b");
    expect(index.topK(normalize([1, 0]), 3, (id) => id !== "b").map((x) => x.id)).toEqual(["c"]);
    expect(index.score("c", normalize([1, 1]))).toBeCloseTo(1, 6);
    expect(() => index.set("x", new Float32Array(3))).toThrow(/dimensions/);
  });
});
