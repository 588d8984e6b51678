/**
 * Unit vectors in one contiguous Float32Array (row i at i * dimensions), so a scan is a tight
 * loop over memory; top-k by a bounded min-heap. Removing a row moves the last row into its
 * place, keeping the array dense.
 */
export interface VectorIndex {
  readonly dimensions: number;
  set(id: string, vector: Float32Array): void;
  remove(id: string): void;
  has(id: string): boolean;
  size(): number;
  /** Cosine similarity (dot product of unit vectors) of one stored vector with `query`. */
  score(id: string, query: Float32Array): number | undefined;
  /** The k most similar ids, best first; `accept` filters ids during the scan. */
  topK(
    query: Float32Array,
    k: number,
    accept?: (id: string) => boolean,
  ): Array<{ id: string; score: number }>;
}

/** Creates an empty vector index of the given dimensions. */
export function createVectorIndex(dimensions: number, initialCapacity = 1024): VectorIndex {
  let data = new Float32Array(dimensions * initialCapacity);
  let capacity = initialCapacity;
  const ids: string[] = [];
  const rows = new Map<string, number>();

  const dot = (row: number, q: Float32Array) => {
    let s = 0;
    const off = row * dimensions;
    for (let j = 0; j < dimensions; j++) s += (data[off + j] as number) * (q[j] as number);
    return s;
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
        }
        row = ids.length;
        ids.push(id);
        rows.set(id, row);
      }
      data.set(vector, row * dimensions);
    },
    remove(id) {
      const row = rows.get(id);
      if (row === undefined) return;
      const last = ids.length - 1;
      if (row !== last) {
        const lastId = ids[last] as string;
        data.copyWithin(row * dimensions, last * dimensions, (last + 1) * dimensions);
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
      if (k <= 0) return [];
      // Min-heap of the best k so far: the root is the weakest kept candidate.
      const heapScore = new Float64Array(k);
      const heapRow = new Int32Array(k);
      let size = 0;
      const n = ids.length;
      for (let row = 0; row < n; row++) {
        const s = dot(row, query);
        if (size === k && s <= (heapScore[0] as number)) continue;
        if (accept && !accept(ids[row] as string)) continue;
        if (size < k) {
          let i = size++;
          while (i > 0) {
            const p = (i - 1) >> 1;
            if ((heapScore[p] as number) <= s) break;
            heapScore[i] = heapScore[p] as number;
            heapRow[i] = heapRow[p] as number;
            i = p;
          }
          heapScore[i] = s;
          heapRow[i] = row;
        } else {
          let i = 0;
          for (;;) {
            const l = 2 * i + 1;
            if (l >= size) break;
            const r = l + 1;
            const c = r < size && (heapScore[r] as number) < (heapScore[l] as number) ? r : l;
            if ((heapScore[c] as number) >= s) break;
            heapScore[i] = heapScore[c] as number;
            heapRow[i] = heapRow[c] as number;
            i = c;
          }
          heapScore[i] = s;
          heapRow[i] = row;
        }
      }
      const out: Array<{ id: string; score: number }> = [];
      for (let i = 0; i < size; i++)
        out.push({ id: ids[heapRow[i] as number] as string, score: heapScore[i] as number });
      return out.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
    },
  };
}
