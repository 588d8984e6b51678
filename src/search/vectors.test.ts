import { describe, expect, it } from "vitest";
import { normalize } from "./embedder.ts";
import { createInt8Kernel, createKernelMemory } from "./int8-kernel.ts";
import { createVectorIndex } from "./vectors.ts";

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

const variants = [
  { name: "int8 SIMD scan + exact rescoring", options: {} },
  { name: "int8 JavaScript scan + exact rescoring", options: { simd: false } },
  { name: "exact float32 scan", options: { quantize: false } },
];

describe.each(variants)("vector index ($name)", ({ options }) => {
  it("returns the same top-k as a brute-force sort, best first", () => {
    const r = rng(7);
    const index = createVectorIndex(16, { ...options, initialCapacity: 4 });
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
    const index = createVectorIndex(2, options);
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

  it("keeps the exact top-k on realistic sizes, across growth and removals", () => {
    // Clustered 512-dimension vectors, like sentence embeddings: many near-ties at the top.
    const r = rng(11);
    const dims = 512;
    const centres = Array.from({ length: 8 }, () => Array.from({ length: dims }, r));
    const index = createVectorIndex(dims, { ...options, initialCapacity: 8 });
    const vectors = new Map<string, Float32Array>();
    for (let i = 0; i < 3000; i++) {
      const c = centres[i % 8] as number[];
      const v = normalize(c.map((x) => x + r() * 0.8));
      vectors.set(`d${i}`, v);
      index.set(`d${i}`, v);
    }
    for (let i = 0; i < 3000; i += 7) {
      vectors.delete(`d${i}`);
      index.remove(`d${i}`);
    }
    for (let t = 0; t < 10; t++) {
      const c = centres[t % 8] as number[];
      const q = normalize(c.map((x) => x + r() * 0.8));
      const exact = [...vectors]
        .map(([id, v]) => ({ id, score: v.reduce((s, x, j) => s + x * (q[j] ?? 0), 0) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, 50);
      const got = index.topK(q, 50);
      expect(got.map((g) => g.id)).toEqual(exact.map((e) => e.id));
      expect(got[0]?.score).toBeCloseTo(exact[0]?.score ?? 0, 5);
    }
  });
});

describe("int8 kernel", () => {
  it("computes the same integer dot products as plain arithmetic", () => {
    const memory = createKernelMemory(1);
    const kernel = createInt8Kernel(memory);
    expect(kernel, "this Node has WebAssembly SIMD").toBeDefined();
    const bytes = new Int8Array(memory.buffer);
    const dim = 48;
    const rows = 100;
    const r = rng(3);
    for (let i = 0; i < dim * (rows + 1); i++) bytes[i] = Math.round(r() * 254);
    bytes[0] = -128; // the extremes must not overflow
    bytes[dim] = -128;
    kernel?.(0, dim, rows, dim, 8192);
    const out = new Int32Array(memory.buffer, 8192, rows);
    for (let row = 0; row < rows; row++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (bytes[dim + row * dim + j] ?? 0) * (bytes[j] ?? 0);
      expect(out[row]).toBe(s);
    }
  });
});
