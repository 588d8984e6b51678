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
 * Weights of the hybrid score. Within a tier (exact slug or name 3; every query word in slug or
 * name 2; else 0), relevance = the fusion of BM25 and the cosine + feedback * fb/(fb +
 * bm25Saturation), where fb is the BM25 of the skill against the display names of the
 * `feedbackDocs` nearest skills by meaning; plus popularity * ln(1 + downloads), capped at
 * popularityCap; relevance is divided by the most it can reach, so it stays within its tier. The
 * defaults are the best method on the tune half of bench/search-quality.ts (340 judged queries
 * over the real corpus, split into tune and test halves); docs/search.md has the table.
 */
export interface RankingWeights {
  bm25: number;
  cosine: number;
  bm25Saturation: number;
  popularity: number;
  popularityCap: number;
  /** Vector-only candidates below this cosine are dropped. */
  minCosine: number;
  /**
   * How the two signals combine within a tier: "linear" adds the saturated BM25 and the cosine;
   * "relative" scales each signal by the query's best (the cosine above minCosine), so the best
   * match by meaning gets full credit even when cosines are low in absolute terms;
   * "rrf" (reciprocal rank fusion) adds 1/(rrfK + rank) of each, so an incidental word match
   * cannot outweigh a strong match by meaning on scale alone; "max" adds the cosine and BM25
   * divided by the query's best BM25 among the candidates (raw, not saturated: the best word
   * match gets the full BM25 weight whatever the query's length).
   */
  fusion: "linear" | "rrf" | "relative" | "max";
  /**
   * Whether exact slug or name matches (tier 3) and names holding every query word (tier 2)
   * rank above everything else. Off: they compete on relevance alone.
   */
  tiers: boolean;
  rrfK: number;
  /**
   * Exponent of query coverage applied to the BM25 part: a skill matching one incidental word of
   * a long paraphrase keeps little of its BM25, one matching every word keeps all of it. 0: off.
   */
  coveragePower: number;
  /**
   * Query-adaptive weighting: the BM25 weight is multiplied by (best coverage among the
   * candidates) ^ adaptivePower, the rest going to the cosine. A keyword query that some skill
   * matches fully keeps full BM25 weight; a paraphrase whose words match nothing well is ranked
   * by meaning. 0: off.
   */
  adaptivePower: number;
  /**
   * Semantic feedback: the weight of a second BM25 over the display names of the
   * `feedbackDocs` nearest skills by meaning (saturated like BM25). 0: off.
   */
  feedback: number;
  feedbackDocs: number;
}

export const DEFAULT_WEIGHTS: RankingWeights = {
  // Chosen by bench/search-quality.ts on the tune half of 340 judged queries: the cosine plus
  // 0.2 x BM25 over the query's best BM25, names first (tiers), a little semantic feedback. On
  // the test half it beats that linear fusion alone and the former rank fusion (docs/search.md).
  fusion: "max",
  tiers: true,
  rrfK: 60,
  bm25: 0.2,
  cosine: 1,
  bm25Saturation: 4,
  feedback: 0.1,
  feedbackDocs: 3,
  coveragePower: 0,
  adaptivePower: 0,
  popularity: 0.01,
  popularityCap: 0.05,
  // Unrelated sentences score about 0 to 0.2 with the bundled model; paraphrases 0.25 to 0.6.
  minCosine: 0.2,
};

/** A ranked hit with every part of its score (`explain`). */
export interface EngineHit {
  id: string;
  score: number;
  /**
   * How well the document matches the query in absolute terms, 0..1, comparable across queries
   * (the hub routes on it): 1 when its name matches exactly or holds every query word, else the
   * cosine of the query and document vectors, else (no vectors) BM25 saturated to bm25/(bm25+4).
   */
  similarity: number;
  /** `feedback`: BM25 of the document against the nearest skills' names (semantic feedback). */
  parts: {
    tier: number;
    bm25: number;
    cosine: number | null;
    feedback: number;
    popularity: number;
  };
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

    /** Whether a document still waits for its embedding. */
    isPending(id: string): boolean {
      return pending.has(id);
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
      // Candidates: the best lexical matches (every higher tier comes first) and the nearest
      // vectors; documents outside both cannot plausibly reach the first pages, and bounding the
      // set keeps a query's cost flat as the index grows.
      const want = Math.max(100, offset + limit);
      if (opts.mode === "exact") {
        return lexical
          .match(q, { ...opts, mode: "exact" })
          .hits(offset, limit)
          .map((h) => ({
            id: h.id,
            score: 3,
            similarity: 1,
            parts: {
              tier: 3,
              bm25: h.parts.bm25,
              cosine: null,
              feedback: 0,
              popularity: h.parts.popularity,
            },
          }));
      }
      // The query vector first: a lexical match is read synchronously, before any other query.
      const qv = ranking === "bm25" ? undefined : await embedQuery(q);
      const lex = lexical.match(q, opts);
      const accept = (id: string) => {
        const d = docs.get(id);
        if (!d) return false;
        if (opts.owner && d.owner !== opts.owner) return false;
        if (opts.excludeFlagged && d.flagged) return false;
        return opts.accept ? opts.accept(id) : true;
      };
      // Every vector belongs to an indexed document, so only filters need a per-row check.
      const filtering =
        Boolean(opts.owner) || opts.excludeFlagged === true || opts.accept !== undefined;
      const semantic = qv && vectors ? vectors.topK(qv, want, filtering ? accept : undefined) : [];
      const candidates = new Set<string>([
        ...(ranking === "embedding" ? [] : lex.hits(0, 2 * want).map((h) => h.id)),
        // Ranked by meaning alone (the baseline), no floor: the cosine order is the whole answer.
        ...semantic
          .filter((s) => ranking === "embedding" || s.score >= weights.minCosine)
          .map((s) => s.id),
      ]);
      // Read what is needed of the match now: a feedback match below replaces it.
      const lexParts = new Map([...candidates].map((id) => [id, lex.get(id)]));
      const bestCoverage = lex.bestCoverage;
      // Semantic feedback: the display names of the nearest skills by meaning, as a second word
      // query; skills that share their vocabulary (near-duplicates, same domain) rise together.
      const feedback = new Map<string, number>();
      const near = semantic
        .filter((s) => s.score >= weights.minCosine)
        .slice(0, weights.feedbackDocs);
      if (ranking === "hybrid" && near.length > 0 && weights.feedback > 0) {
        const text = near.map(({ id }) => docs.get(id)?.title ?? "").join(" ");
        const fb = lexical.match(text, {
          ...opts,
          prefix: false,
          maxDocFrequency: Math.max(100, 0.1 * docs.size),
        });
        for (const h of fb.hits(0, want)) candidates.add(h.id);
        for (const id of candidates) {
          // A skill found by feedback alone, outside the best lexical matches, counts no BM25:
          // the first match is gone by now, and its share there was too small to rank.
          if (!lexParts.has(id)) lexParts.set(id, undefined);
          const b = fb.get(id)?.bm25 ?? 0;
          if (b > 0) feedback.set(id, b);
        }
      }
      // Ranks of each signal among the candidates, for rank fusion (1 = best).
      // Equal values share a rank ("1224" ranking), so ties in one signal stay ties.
      const rankOf = (values: Array<[string, number]>) => {
        const sorted = values.filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
        const ranks = new Map<string, number>();
        sorted.forEach(([id, v], i) => {
          const prev = sorted[i - 1];
          ranks.set(id, prev && prev[1] === v ? (ranks.get(prev[0]) as number) : i + 1);
        });
        return ranks;
      };
      const bm25Rank = rankOf([...candidates].map((id) => [id, lexParts.get(id)?.bm25 ?? 0]));
      // Each candidate's cosine, computed once for the rank and the score.
      const cosines = new Map<string, number | null>(
        [...candidates].map((id) => [id, qv && vectors ? (vectors.score(id, qv) ?? null) : null]),
      );
      const cosRank = rankOf(qv && vectors ? [...cosines].map(([id, c]) => [id, c ?? 0]) : []);
      const rrfMax = 1 / (weights.rrfK + 1);
      const bm25Weight =
        weights.adaptivePower > 0
          ? weights.bm25 * bestCoverage ** weights.adaptivePower
          : weights.bm25;
      const cosineWeight = weights.bm25 + weights.cosine - bm25Weight;
      const scored: Array<{
        id: string;
        tier: number;
        bm25: number;
        saturated: number;
        lexPart: number;
        cos: number | null;
        popularity: number;
      }> = [];
      let maxLex = 0;
      let maxCos = 0;
      let maxBm25 = 0;
      for (const id of candidates) {
        const doc = docs.get(id);
        if (!doc || !accept(id)) continue;
        const p = lexParts.get(id);
        const cos = cosines.get(id) ?? null;
        const tier = ranking === "embedding" || !weights.tiers ? 0 : p && p.tier >= 2 ? p.tier : 0;
        const bm25 = ranking === "embedding" ? 0 : (p?.bm25 ?? 0);
        const popularity = Math.min(
          weights.popularityCap,
          weights.popularity * Math.log1p(Math.max(0, doc.popularity)),
        );
        const saturated = bm25 / (bm25 + weights.bm25Saturation);
        const lexPart =
          weights.coveragePower > 0
            ? saturated * (p?.coverage ?? 0) ** weights.coveragePower
            : saturated;
        maxLex = Math.max(maxLex, lexPart);
        maxBm25 = Math.max(maxBm25, bm25);
        maxCos = Math.max(maxCos, cos ?? 0);
        scored.push({ id, tier, bm25, saturated, lexPart, cos, popularity });
      }
      // The most the fused relevance and feedback can add up to (the weights need not sum to 1).
      const hybridMax = Math.max(1e-9, bm25Weight + cosineWeight + weights.feedback);
      const rrf = (rank: number | undefined) =>
        rank === undefined ? 0 : 1 / (weights.rrfK + rank) / rrfMax;
      const hits: EngineHit[] = scored.map(
        ({ id, tier, bm25, saturated, lexPart, cos, popularity }) => {
          const cosine = Math.max(0, cos ?? 0);
          const fused =
            weights.fusion === "rrf"
              ? bm25Weight * rrf(bm25Rank.get(id)) + cosineWeight * rrf(cosRank.get(id))
              : weights.fusion === "max"
                ? bm25Weight * (maxBm25 > 0 ? bm25 / maxBm25 : 0) + cosineWeight * cosine
                : weights.fusion === "relative"
                  ? bm25Weight * (maxLex > 0 ? lexPart / maxLex : 0) +
                    cosineWeight *
                      (maxCos > weights.minCosine
                        ? Math.max(0, cosine - weights.minCosine) / (maxCos - weights.minCosine)
                        : 0)
                  : bm25Weight * lexPart + cosineWeight * cosine;
          const fb = feedback.get(id) ?? 0;
          const feedbackPart = weights.feedback * (fb / (fb + weights.bm25Saturation));
          // The baselines rank by one signal alone: saturation keeps BM25's order.
          const relevance =
            ranking === "bm25"
              ? saturated
              : ranking === "embedding"
                ? cosine
                : (fused + feedbackPart) / hybridMax;
          // Relevance stays within 0..1, so a higher tier always ranks first.
          const score = tier + (relevance + popularity) / (1 + weights.popularityCap);
          const similarity =
            tier >= 2
              ? 1
              : cos !== null
                ? Math.max(0, cos)
                : bm25 / (bm25 + weights.bm25Saturation);
          return {
            id,
            score,
            similarity,
            parts: { tier, bm25, cosine: cos, feedback: fb, popularity },
          };
        },
      );
      hits.sort(
        (a, b) =>
          b.score - a.score ||
          (docs.get(a.id)?.name ?? "").localeCompare(docs.get(b.id)?.name ?? "") ||
          (a.id < b.id ? -1 : 1),
      );
      return hits.slice(offset, offset + limit);
    },
  };
}

/** The search engine's type. */
export type SearchEngine = ReturnType<typeof createSearchEngine>;

/** The text embedded for a document: title, name, summary, tags and the start of its body. */
export function documentText(parts: {
  title: string;
  name: string;
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
    parts.title,
    parts.name.replace(/[-._]+/g, " "),
    parts.summary,
    parts.tags.join(" "),
    body.slice(0, 400),
  ]
    .filter((s) => s && s.trim() !== "")
    .join(". ");
}
