/** Top-k selection shared by the vector scan and the lexical ranking. */

/** A bounded min-heap of (score, item): the root is the weakest of the best `k` kept so far. */
export function createHeap(k: number) {
  const scores = new Float64Array(k);
  const rows = new Int32Array(k);
  let size = 0;
  return {
    get size() {
      return size;
    },
    /** The score a new row must beat once the heap is full. */
    floor: () => (size === k ? (scores[0] as number) : Number.NEGATIVE_INFINITY),
    push(s: number, row: number) {
      if (size < k) {
        let i = size++;
        while (i > 0) {
          const p = (i - 1) >> 1;
          if ((scores[p] as number) <= s) break;
          scores[i] = scores[p] as number;
          rows[i] = rows[p] as number;
          i = p;
        }
        scores[i] = s;
        rows[i] = row;
        return;
      }
      if (s <= (scores[0] as number)) return;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= size) break;
        const r = l + 1;
        const c = r < size && (scores[r] as number) < (scores[l] as number) ? r : l;
        if ((scores[c] as number) >= s) break;
        scores[i] = scores[c] as number;
        rows[i] = rows[c] as number;
        i = c;
      }
      scores[i] = s;
      rows[i] = row;
    },
    rows: () => Array.from(rows.subarray(0, size)),
  };
}
