/**
 * The search benchmarks' vector cache: corpus vectors in .bench-tmp/ (gitignored), by text hash
 * and embedder, so reruns skip the model. A VectorStore, as the registry's database is one.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { VectorStore } from "../src/search/index.ts";

/** Opens (or starts) the cache of one embedder under `dir`. */
export function openVectorCache(dir: string, embedderId: string) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `vectors-${embedderId.replace(/[^a-z0-9.-]/gi, "_")}.json`);
  const cache: Record<string, string> = existsSync(file)
    ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, string>)
    : {};
  const read = (hash: string): Float32Array | undefined => {
    const b64 = cache[hash];
    if (!b64) return undefined;
    const b = Buffer.from(b64, "base64");
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  const store: VectorStore = {
    async getVectors(_embedder, hashes) {
      const out = new Map<string, Float32Array>();
      for (const h of hashes) {
        const v = read(h);
        if (v) out.set(h, v);
      }
      return out;
    },
    async putVectors(_embedder, rows) {
      for (const r of rows)
        cache[r.hash] = Buffer.from(
          r.vector.buffer,
          r.vector.byteOffset,
          r.vector.byteLength,
        ).toString("base64");
    },
  };
  return {
    file,
    store,
    /** The cached vector of a text (the engine keys vectors by the text's sha256). */
    vectorOf: (text: string) => read(createHash("sha256").update(text).digest("hex")),
    save: () => writeFileSync(file, JSON.stringify(cache)),
  };
}
