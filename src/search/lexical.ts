/**
 * Lexical search over skill documents: relevance tiers (exact slug or name, then every query
 * token as a whole token, then prefix matches), BM25F within a tier, and a small capped
 * log-scaled popularity prior as tie-breaker. An in-memory inverted index, rebuilt from the
 * store at start-up and updated incrementally on publish, delete and undelete.
 */

/** What the index knows of a skill. */
export interface SearchDocument {
  id: string;
  slug: string;
  ownerHandle: string;
  displayName: string;
  summary: string;
  tags: string[];
  downloads: number;
  suspicious?: boolean;
}

/** Filters and paging of a query. */
export interface SearchOptions {
  limit?: number;
  offset?: number;
  /** `exact`: only the exact-match tier. */
  mode?: "default" | "exact";
  ownerHandle?: string;
  nonSuspiciousOnly?: boolean;
}

/** One hit, with the parts of its score (`--explain`). */
export interface SearchHit {
  id: string;
  score: number;
  parts: { tier: number; bm25: number; popularity: number };
}

/** The search interface every engine implements (lexical here; hybrid in src/search later). */
export interface SearchIndex {
  upsert(doc: SearchDocument): void;
  remove(id: string): void;
  size(): number;
  search(query: string, options?: SearchOptions): SearchHit[];
}

/** Longest query accepted, in characters; longer ones are refused by the API. */
export const MAX_QUERY_LENGTH = 512;
const MAX_QUERY_TOKENS = 32;

/** Field weights of BM25F: a query word in the slug or name counts more than in the summary. */
export const FIELD_WEIGHTS = { slug: 3, name: 2.5, tags: 1.5, summary: 1 } as const;
type Field = keyof typeof FIELD_WEIGHTS;
const FIELDS = Object.keys(FIELD_WEIGHTS) as Field[];
const K1 = 1.2;
const B = 0.75;
/** Popularity prior: 0.02 per e-fold of downloads, capped so it only breaks near-ties. */
const POPULARITY_WEIGHT = 0.02;
const POPULARITY_CAP = 0.2;

/**
 * English function words: they say nothing about what a skill does, so queries do not rank by
 * them ("send an email" is about sending email). A query made only of them keeps them.
 */
export const STOP_WORDS = new Set(
  "a an and are as at be but by can could do does for from how i in into is it its me my of on or our please should so that the their them then there these this those to use using want we what when where which who why will with would you your".split(
    " ",
  ),
);

/** Lowercased word tokens (Unicode letters and digits). */
export function tokenize(text: string): string[] {
  return (
    text
      .toLowerCase()
      .normalize("NFKC")
      .match(/[\p{L}\p{N}]+/gu) ?? []
  );
}

interface Entry {
  doc: SearchDocument;
  fields: Record<Field, string[]>;
  lengths: Record<Field, number>;
  allTokens: Set<string>;
}

/** Creates an empty lexical index. */
export function createLexicalIndex(): SearchIndex {
  const docs = new Map<string, Entry>();
  const postings = new Map<string, Set<string>>();
  const totals: Record<Field, number> = { slug: 0, name: 0, tags: 0, summary: 0 };

  const remove = (id: string) => {
    const entry = docs.get(id);
    if (!entry) return;
    for (const t of entry.allTokens) {
      const set = postings.get(t);
      set?.delete(id);
      if (set && set.size === 0) postings.delete(t);
    }
    for (const f of FIELDS) totals[f] -= entry.lengths[f];
    docs.delete(id);
  };

  return {
    upsert(doc) {
      remove(doc.id);
      const fields: Record<Field, string[]> = {
        slug: tokenize(doc.slug),
        name: tokenize(doc.displayName),
        tags: doc.tags.flatMap(tokenize),
        summary: tokenize(doc.summary),
      };
      const lengths = {
        slug: fields.slug.length,
        name: fields.name.length,
        tags: fields.tags.length,
        summary: fields.summary.length,
      };
      const allTokens = new Set(FIELDS.flatMap((f) => fields[f]));
      for (const t of allTokens) {
        const set = postings.get(t) ?? new Set<string>();
        postings.set(t, set);
        set.add(doc.id);
      }
      for (const f of FIELDS) totals[f] += lengths[f];
      docs.set(doc.id, { doc, fields, lengths, allTokens });
    },
    remove,
    size: () => docs.size,
    search(query, options = {}) {
      const q = query.trim().toLowerCase();
      const all = [...new Set(tokenize(q))];
      const meaningful = all.filter((t) => !STOP_WORDS.has(t));
      const tokens = (meaningful.length > 0 ? meaningful : all).slice(0, MAX_QUERY_TOKENS);
      if (tokens.length === 0) return [];
      const n = docs.size;
      const avg = (f: Field) => (n > 0 ? totals[f] / n : 0) || 1;
      const slugForm = tokens.join("-");

      // Candidates: documents holding a query token, or a token the query token prefixes.
      const candidates = new Set<string>();
      const expansions = new Map<string, string[]>();
      for (const t of tokens) {
        const exact = postings.get(t);
        if (exact) for (const id of exact) candidates.add(id);
        if (t.length >= 2) {
          const longer: string[] = [];
          for (const [term, ids] of postings) {
            if (term !== t && term.startsWith(t)) {
              longer.push(term);
              for (const id of ids) candidates.add(id);
            }
          }
          expansions.set(t, longer);
        }
      }

      const hits: SearchHit[] = [];
      for (const id of candidates) {
        const entry = docs.get(id);
        if (!entry) continue;
        const { doc } = entry;
        if (options.ownerHandle && doc.ownerHandle !== options.ownerHandle) continue;
        if (options.nonSuspiciousOnly && doc.suspicious) continue;
        const exactTier =
          doc.slug === q || doc.slug === slugForm || doc.displayName.toLowerCase() === q;
        if (options.mode === "exact" && !exactTier) continue;
        const whole = tokens.every(
          (t) => entry.fields.slug.includes(t) || entry.fields.name.includes(t),
        );
        const prefix = tokens.every(
          (t) =>
            entry.allTokens.has(t) || (expansions.get(t) ?? []).some((x) => entry.allTokens.has(x)),
        );
        const tier = exactTier ? 3 : whole ? 2 : prefix ? 1 : 0;

        let bm25 = 0;
        for (const t of tokens) {
          const df = postings.get(t)?.size ?? 0;
          const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
          let tf = 0;
          for (const f of FIELDS) {
            const count = entry.fields[f].filter((x) => x === t).length;
            if (count === 0) continue;
            tf += (FIELD_WEIGHTS[f] * count) / (1 - B + (B * entry.lengths[f]) / avg(f));
          }
          if (tf === 0) {
            // A prefix-only match scores as half an occurrence.
            const viaPrefix = (expansions.get(t) ?? []).some((x) => entry.allTokens.has(x));
            if (viaPrefix) tf = 0.5;
          }
          if (df > 0 || tf > 0) bm25 += (idf || 0.5) * ((tf * (K1 + 1)) / (tf + K1));
        }
        if (bm25 <= 0 && tier === 0) continue;
        const popularity = Math.min(
          POPULARITY_CAP,
          POPULARITY_WEIGHT * Math.log1p(Math.max(0, doc.downloads)),
        );
        // Tiers dominate: relevance within a tier is squashed into [0, 1), so a better tier always
        // outranks any BM25 difference in a lower one, and scores stay readable (0 to 4).
        const relevance = bm25 + popularity;
        const score = tier + relevance / (relevance + 5);
        hits.push({ id, score, parts: { tier, bm25, popularity } });
      }
      hits.sort(
        (a, b) =>
          b.score - a.score ||
          (docs.get(a.id)?.doc.slug ?? "").localeCompare(docs.get(b.id)?.doc.slug ?? ""),
      );
      const offset = options.offset ?? 0;
      return hits.slice(offset, offset + (options.limit ?? 20));
    },
  };
}
