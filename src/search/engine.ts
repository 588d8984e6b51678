import { createHash } from "node:crypto";
import type { Embedder } from "./embedder.ts";
import {
  createLexicalIndex,
  MAX_QUERY_LENGTH,
  type SearchDocument,
  type SearchOptions,
  tokenize,
} from "./lexical.ts";
import { createVectorIndex, type VectorIndex } from "./vectors.ts";

/** Where vectors persist, keyed by the embedded text's hash and the embedder id. */
export interface VectorStore {
  getVectors(embedderId: string, hashes: string[]): Promise<Map<string, Float32Array>>;
  putVectors(
    embedderId: string,
    rows: Array<{ hash: string; vector: Float32Array }>,
  ): Promise<void>;
}

/**
 * Weights of the hybrid score. Within a tier, relevance = bm25 * bm25/(bm25 + bm25Saturation)
 * + cosine * max(0, cos) + a popularity prior of popularity * ln(1 + downloads), capped at
 * popularityCap. Provisional values, chosen by hand on a handful of paraphrases; the relevance
 * benchmark (bench/search-quality.ts, not written yet) is to replace them with measured ones.
 */
export interface RankingWeights {
  bm25: number;
  cosine: number;
  bm25Saturation: number;
  popularity: number;
  popularityCap: number;
  /** Vector-only candidates below this cosine are dropped. */
  minCosine: number;
}

export const DEFAULT_WEIGHTS: RankingWeights = {
  bm25: 0.45,
  cosine: 0.55,
  bm25Saturation: 4,
  popularity: 0.01,
  popularityCap: 0.05,
  // Unrelated sentences score about 0 to 0.2 with the bundled model; paraphrases 0.25 to 0.6.
  minCosine: 0.2,
};

/** A ranked hit with every part of its score (`explain`). */
export interface EngineHit {
  id: string;
  score: number;
  parts: { tier: number; bm25: number; cosine: number | null; popularity: number };
}

/** What an operator sees of the index. */
export interface EngineStatus {
  documents: number;
  embedded: number;
  pending: number;
  embedder: string | null;
}

/** A document with the text its vector is computed from. */
export interface EngineDocument extends SearchDocument {
  /** Display name, summary, tags and a body excerpt: what the embedding represents. */
  text: string;
}

/** Options of {@link createSearchEngine}. */
export interface EngineOptions {
  embedder?: Embedder | undefined;
  vectors?: VectorStore | undefined;
  weights?: Partial<RankingWeights>;
  /** Query embeddings kept (LRU). */
  queryCacheSize?: number;
  /** Documents embedded per background step. */
  batchSize?: number;
  logger?: (line: string) => void;
}

/** Which signals rank: both (hybrid), or one alone (the baselines of the evaluation). */
export type RankingMode = "hybrid" | "bm25" | "embedding";

/**
 * The search engine shared by the registry and the hub: lexical tiers and BM25 answer at once;
 * vectors are computed in the background (a publish never waits for the model), persisted by
 * content hash and embedder id, and reused after a restart. Changing the embedder re-embeds in
 * the background while lexical search keeps working.
 */
export function createSearchEngine(options: EngineOptions = {}) {
  const lexical = createLexicalIndex();
  const embedder = options.embedder;
  const weights: RankingWeights = { ...DEFAULT_WEIGHTS, ...options.weights };
  const batchSize = options.batchSize ?? 32;
  const docs = new Map<string, EngineDocument & { hash: string }>();
  let vectors: VectorIndex | undefined;
  const pending = new Map<string, string>(); // id -> hash awaiting a vector
  const queryCache = new Map<string, Float32Array>();
  const queryCacheSize = options.queryCacheSize ?? 1000;
  let draining: Promise<void> | undefined;
  let lastError: string | undefined;

  const ensureVectors = (dims: number) => {
    vectors ??= createVectorIndex(dims);
    return vectors;
  };

  async function drain(): Promise<void> {
    if (!embedder) return;
    while (pending.size > 0) {
      const batch = [...pending].slice(0, batchSize);
      const hashes = batch.map(([, hash]) => hash);
      let found = new Map<string, Float32Array>();
      if (options.vectors) found = await options.vectors.getVectors(embedder.id, hashes);
      const missing = batch.filter(([, hash]) => !found.has(hash));
      if (missing.length > 0) {
        let computed: Float32Array[];
        try {
          computed = await embedder.embed(missing.map(([id]) => docs.get(id)?.text ?? ""));
          lastError = undefined;
        } catch (error) {
          lastError = error instanceof Error ? error.message : String(error);
          options.logger?.(`search: embedding failed, lexical search continues: ${lastError}`);
          return; // retried on the next change or search
        }
        const rows = missing.map(([, hash], i) => ({ hash, vector: computed[i] as Float32Array }));
        for (const r of rows) found.set(r.hash, r.vector);
        if (options.vectors) await options.vectors.putVectors(embedder.id, rows);
      }
      for (const [id, hash] of batch) {
        // The document may have changed or gone while its batch was embedded.
        if (pending.get(id) === hash) pending.delete(id);
        const doc = docs.get(id);
        const v = found.get(hash);
        if (doc && doc.hash === hash && v) ensureVectors(v.length).set(id, v);
      }
      // Yield between batches so that requests are served while the index fills.
      await new Promise((r) => setImmediate(r));
    }
  }

  const schedule = () => {
    if (!embedder || draining) return;
    draining = drain().finally(() => {
      draining = undefined;
    });
  };

  async function embedQuery(q: string): Promise<Float32Array | undefined> {
    if (!embedder || !vectors || vectors.size() === 0) return undefined;
    const cached = queryCache.get(q);
    if (cached) {
      queryCache.delete(q);
      queryCache.set(q, cached);
      return cached;
    }
    try {
      const [v] = await embedder.embed([q]);
      if (!v) return undefined;
      queryCache.set(q, v);
      if (queryCache.size > queryCacheSize)
        queryCache.delete(queryCache.keys().next().value as string);
      return v;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
      return undefined; // lexical ranking still answers
    }
  }

  return {
    weights,

    /** Adds or replaces a document: searchable lexically at once, by meaning once embedded. */
    upsert(doc: EngineDocument): void {
      const hash = createHash("sha256").update(doc.text).digest("hex");
      const previous = docs.get(doc.id);
      docs.set(doc.id, { ...doc, hash });
      lexical.upsert(doc);
      if (!embedder) return;
      if (previous?.hash === hash && vectors?.has(doc.id)) return;
      pending.set(doc.id, hash);
      schedule();
    },

    remove(id: string): void {
      docs.delete(id);
      pending.delete(id);
      lexical.remove(id);
      vectors?.remove(id);
    },

    /** Resolves when every pending document has been embedded (or embedding failed). */
    async idle(): Promise<void> {
      schedule();
      while (draining) await draining;
    },

    status(): EngineStatus & { lastError?: string } {
      return {
        documents: docs.size,
        embedded: vectors?.size() ?? 0,
        pending: pending.size,
        embedder: embedder?.id ?? null,
        ...(lastError ? { lastError } : {}),
      };
    },

    /**
     * Ranks documents: exact slug/name matches (tier 3), then documents whose slug or name holds
     * every query word (tier 2), then everything else by hybrid relevance. Within a tier:
     * weights.bm25 * saturated BM25 + weights.cosine * cosine + a capped popularity prior.
     */
    async search(
      query: string,
      opts: SearchOptions & { ranking?: RankingMode } = {},
    ): Promise<EngineHit[]> {
      const q = query.trim().slice(0, MAX_QUERY_LENGTH);
      if (tokenize(q).length === 0) return [];
      const ranking = opts.ranking ?? "hybrid";
      const limit = opts.limit ?? 20;
      const offset = opts.offset ?? 0;
      const want = Math.max(100, offset + limit);
      const lex = new Map(
        lexical.search(q, { ...opts, limit: 10_000, offset: 0 }).map((h) => [h.id, h.parts]),
      );
      if (opts.mode === "exact") {
        return [...lex]
          .filter(([, p]) => p.tier === 3)
          .slice(offset, offset + limit)
          .map(([id, p]) => ({ id, score: 3, parts: { ...p, tier: 3, cosine: null } }));
      }
      const accept = (id: string) => {
        const d = docs.get(id);
        if (!d) return false;
        if (opts.ownerHandle && d.ownerHandle !== opts.ownerHandle) return false;
        if (opts.nonSuspiciousOnly && d.suspicious) return false;
        return true;
      };
      const qv = ranking === "bm25" ? undefined : await embedQuery(q);
      const semantic = qv && vectors ? vectors.topK(qv, want, accept) : [];
      const candidates = new Set<string>([
        ...(ranking === "embedding" ? [] : lex.keys()),
        ...semantic.filter((s) => s.score >= weights.minCosine).map((s) => s.id),
      ]);
      const hits: EngineHit[] = [];
      for (const id of candidates) {
        const doc = docs.get(id);
        if (!doc || !accept(id)) continue;
        const p = lex.get(id);
        const cos = qv && vectors ? (vectors.score(id, qv) ?? null) : null;
        const tier = ranking === "embedding" ? 0 : p && p.tier >= 2 ? p.tier : 0;
        const bm25 = ranking === "embedding" ? 0 : (p?.bm25 ?? 0);
        const popularity = Math.min(
          weights.popularityCap,
          weights.popularity * Math.log1p(Math.max(0, doc.downloads)),
        );
        const lexPart = bm25 / (bm25 + weights.bm25Saturation);
        const relevance =
          ranking === "bm25"
            ? lexPart
            : ranking === "embedding"
              ? Math.max(0, cos ?? 0)
              : weights.bm25 * lexPart + weights.cosine * Math.max(0, cos ?? 0);
        const score = tier + (relevance + popularity) / (1 + weights.popularityCap);
        hits.push({ id, score, parts: { tier, bm25, cosine: cos, popularity } });
      }
      hits.sort(
        (a, b) =>
          b.score - a.score ||
          (docs.get(a.id)?.slug ?? "").localeCompare(docs.get(b.id)?.slug ?? "") ||
          (a.id < b.id ? -1 : 1),
      );
      return hits.slice(offset, offset + limit);
    },
  };
}

/** The search engine's type. */
export type SearchEngine = ReturnType<typeof createSearchEngine>;

/** The text embedded for a skill: name, summary, tags and the start of its instructions. */
export function documentText(parts: {
  displayName: string;
  slug: string;
  summary: string;
  tags: string[];
  body?: string;
}): string {
  const body = (parts.body ?? "")
    .replace(/```[\s\S]*?```/g, " ")
    .replace(/[#>*_`|[\]()-]+/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return [
    parts.displayName,
    parts.slug.replace(/-/g, " "),
    parts.summary,
    parts.tags.join(" "),
    body.slice(0, 400),
  ]
    .filter((s) => s && s.trim() !== "")
    .join(". ");
}
