import { createHeap } from "./heap.ts";
import {
  createInt8Kernel,
  createKernelMemory,
  type DotsKernel,
  WASM_PAGE,
  type WasmMemory,
} from "./int8-kernel.ts";

/**
 * Unit vectors in one contiguous Float32Array (row i at i * dimensions), plus an int8 copy
 * (one scale per row) in WebAssembly memory. A top-k query scans the int8 rows with a SIMD
 * kernel, keeps the best candidates by a bounded min-heap, and rescores those exactly in float32:
 * a quarter of the memory traffic and SIMD arithmetic, the exact order at the top. Removing a
 * row moves the last row into its place, keeping the arrays dense.
 */
export interface VectorIndex {
  readonly dimensions: number;
  set(id: string, vector: Float32Array): void;
  remove(id: string): void;
  has(id: string): boolean;
  size(): number;
  /** Cosine similarity (dot product of unit vectors) of one stored vector with `query`. */
  score(id: string, query: Float32Array): number | undefined;
  /** The k most similar ids, best first, exactly scored; `accept` filters ids during the scan. */
  topK(
    query: Float32Array,
    k: number,
    accept?: (id: string) => boolean,
  ): Array<{ id: string; score: number }>;
}

/** Options of {@link createVectorIndex}. */
export interface VectorIndexOptions {
  /** Rows allocated up front; the arrays double when full. */
  initialCapacity?: number;
  /**
   * Scan an int8 copy first and rescore the best candidates exactly (default true). Off: every
   * row is scored in float32 (exact, about ten times slower at 100k rows).
   */
  quantize?: boolean;
  /**
   * Candidates rescored exactly for a top-k query: 2k + `rescoreExtra`. int8 scores are within
   * about 0.01 of the exact cosine, so the true top k is inside that margin.
   */
  rescoreExtra?: number;
  /** Use the WebAssembly SIMD kernel when the runtime has it (default true; false for tests). */
  simd?: boolean;
}

/** Creates an empty vector index of the given dimensions. */
export function createVectorIndex(
  dimensions: number,
  options: VectorIndexOptions = {},
): VectorIndex {
  let capacity = Math.max(1, options.initialCapacity ?? 1024);
  const quantize = options.quantize ?? true;
  const rescoreExtra = options.rescoreExtra ?? 32;
  let data = new Float32Array(dimensions * capacity);
  const ids: string[] = [];
  const rows = new Map<string, number>();

  // int8 rows, padded to a multiple of 16 bytes for the SIMD kernel. Memory layout: the query at
  // 0, the rows from `dataOffset`, then one i32 score per row (scratch, so it may move on growth).
  const stride = Math.ceil(dimensions / 16) * 16;
  const dataOffset = Math.ceil(stride / 64) * 64;
  let scales = new Float32Array(capacity);
  let memory: WasmMemory | undefined;
  let kernel: DotsKernel | undefined;
  let int8 = new Int8Array(0);
  const outOffset = () => dataOffset + capacity * stride;
  const ensureMemory = () => {
    const bytes = outOffset() + capacity * 4;
    if (!memory) {
      memory = createKernelMemory(Math.ceil(bytes / WASM_PAGE));
      kernel = options.simd === false ? undefined : createInt8Kernel(memory);
    } else if (memory.buffer.byteLength < bytes) {
      memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / WASM_PAGE));
    }
    int8 = new Int8Array(memory.buffer);
  };
  if (quantize) ensureMemory();

  /** Writes `v` as int8 at `offset`; returns its scale (v ≈ int8 * scale). */
  const quantizeInto = (v: Float32Array, offset: number): number => {
    let max = 0;
    for (let j = 0; j < dimensions; j++) max = Math.max(max, Math.abs(v[j] as number));
    const scale = max / 127;
    for (let j = 0; j < dimensions; j++)
      int8[offset + j] = scale === 0 ? 0 : Math.round((v[j] as number) / scale);
    return scale;
  };

  const dot = (row: number, q: Float32Array) => {
    // Four accumulators let the CPU overlap the additions.
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    const off = row * dimensions;
    let j = 0;
    for (; j + 3 < dimensions; j += 4) {
      s0 += (data[off + j] as number) * (q[j] as number);
      s1 += (data[off + j + 1] as number) * (q[j + 1] as number);
      s2 += (data[off + j + 2] as number) * (q[j + 2] as number);
      s3 += (data[off + j + 3] as number) * (q[j + 3] as number);
    }
    for (; j < dimensions; j++) s0 += (data[off + j] as number) * (q[j] as number);
    return s0 + s1 + s2 + s3;
  };

  /** int8 scores of every row into the scratch area (SIMD, or the same sums in JavaScript). */
  const scanInt8 = (n: number): Int32Array => {
    const out = new Int32Array((memory as WasmMemory).buffer, outOffset(), n);
    if (kernel) {
      kernel(0, dataOffset, n, stride, outOffset());
      return out;
    }
    for (let row = 0; row < n; row++) {
      let s = 0;
      const off = dataOffset + row * stride;
      for (let j = 0; j < stride; j++) s += (int8[off + j] as number) * (int8[j] as number);
      out[row] = s;
    }
    return out;
  };

  return {
    dimensions,
    set(id, vector) {
      if (vector.length !== dimensions)
        throw new Error(`vector has ${vector.length} dimensions, index has ${dimensions}`);
      let row = rows.get(id);
      if (row === undefined) {
        if (ids.length === capacity) {
          capacity *= 2;
          const grown = new Float32Array(dimensions * capacity);
          grown.set(data);
          data = grown;
          const grownScales = new Float32Array(capacity);
          grownScales.set(scales);
          scales = grownScales;
          if (quantize) ensureMemory();
        }
        row = ids.length;
        ids.push(id);
        rows.set(id, row);
      }
      data.set(vector, row * dimensions);
      if (quantize) scales[row] = quantizeInto(vector, dataOffset + row * stride);
    },
    remove(id) {
      const row = rows.get(id);
      if (row === undefined) return;
      const last = ids.length - 1;
      if (row !== last) {
        const lastId = ids[last] as string;
        data.copyWithin(row * dimensions, last * dimensions, (last + 1) * dimensions);
        if (quantize) {
          int8.copyWithin(
            dataOffset + row * stride,
            dataOffset + last * stride,
            dataOffset + (last + 1) * stride,
          );
          scales[row] = scales[last] as number;
        }
        ids[row] = lastId;
        rows.set(lastId, row);
      }
      ids.pop();
      rows.delete(id);
    },
    has: (id) => rows.has(id),
    size: () => ids.length,
    score(id, query) {
      const row = rows.get(id);
      return row === undefined ? undefined : dot(row, query);
    },
    topK(query, k, accept) {
      const n = ids.length;
      if (k <= 0 || n === 0) return [];
      let candidates: number[];
      if (quantize) {
        const queryScale = quantizeInto(query, 0);
        for (let j = dimensions; j < stride; j++) int8[j] = 0;
        const raw = scanInt8(n);
        const heap = createHeap(Math.min(n, 2 * k + rescoreExtra));
        for (let row = 0; row < n; row++) {
          const s = (raw[row] as number) * (scales[row] as number) * queryScale;
          if (s <= heap.floor()) continue;
          if (accept && !accept(ids[row] as string)) continue;
          heap.push(s, row);
        }
        candidates = heap.rows();
      } else {
        const heap = createHeap(Math.min(n, k));
        for (let row = 0; row < n; row++) {
          const s = dot(row, query);
          if (s <= heap.floor()) continue;
          if (accept && !accept(ids[row] as string)) continue;
          heap.push(s, row);
        }
        candidates = heap.rows();
      }
      return candidates
        .map((row) => ({ id: ids[row] as string, score: dot(row, query) }))
        .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
        .slice(0, k);
    },
  };
}
