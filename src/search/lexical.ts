import { createHeap } from "./heap.ts";

/**
 * Lexical search over skill documents: relevance tiers (exact slug or name, then every query
 * token as a whole token, then prefix matches), BM25F within a tier, and a small capped
 * log-scaled popularity prior as tie-breaker. An in-memory inverted index, rebuilt from the
 * store at start-up and updated incrementally on publish, delete and undelete.
 */

/**
 * What the index knows of a document: a skill of the registry or a capability of the hub. Text
 * fields are ranked with the weights of {@link FIELD_WEIGHTS}; `name` and `title` also form the
 * exact and all-words tiers.
 */
export interface SearchDocument {
  id: string;
  /** The name users type: a skill's slug, a capability's name. */
  name: string;
  /** A display title ("" when there is none). */
  title: string;
  summary: string;
  tags: string[];
  /** Owner or namespace, for filtering ("" when there is none). */
  owner: string;
  /** Usage count (downloads) for the small popularity prior; 0 for none. */
  popularity: number;
  /** Left out by `excludeFlagged` (suspicious skills). */
  flagged?: boolean;
}

/** Filters and paging of a query. */
export interface SearchOptions {
  limit?: number;
  offset?: number;
  /** `exact`: only the exact-match tier. */
  mode?: "default" | "exact";
  owner?: string;
  excludeFlagged?: boolean;
  /** A caller's own filter (the registry's visibility): documents it refuses are never hits. */
  accept?: (id: string) => boolean;
}

/** Options of a match: a search's, and whether query words also match as prefixes. */
export interface MatchOptions extends SearchOptions {
  /** Default true; false for machine-made queries (semantic feedback), where typing is not. */
  prefix?: boolean;
  /**
   * Words found in more than this many documents are skipped (default: none are). Machine-made
   * queries use it: such words say little and cost a pass over much of the index.
   */
  maxDocFrequency?: number;
}

/** One hit, with the parts of its score (`--explain`). */
export interface SearchHit {
  id: string;
  score: number;
  /** `coverage`: IDF-weighted share of the query's words the document contains (0 to 1). */
  parts: { tier: number; bm25: number; popularity: number; coverage: number };
}

/**
 * Every document a query touches, scored: a window of the ranking (`hits`) and the parts of any
 * one document (`get`), which the hybrid engine needs for documents found by meaning alone.
 */
export interface LexicalMatch {
  /** Documents that pass the filters and match a query word (or a prefix of one) or the query. */
  readonly matched: number;
  /** The best IDF-weighted query coverage among the matches (0 to 1). */
  readonly bestCoverage: number;
  hits(offset: number, limit: number): SearchHit[];
  get(id: string): SearchHit["parts"] | undefined;
}

/** The lexical index's interface. */
export interface SearchIndex {
  upsert(doc: SearchDocument): void;
  remove(id: string): void;
  size(): number;
  search(query: string, options?: SearchOptions): SearchHit[];
  /**
   * Scores every match once; the engine reads a window of the ranking and single documents. The
   * result reads buffers the next `match` reuses, so it is valid until then (a later read throws).
   */
  match(query: string, options?: MatchOptions): LexicalMatch;
}

/** Longest query accepted, in characters; longer ones are refused by the API. */
export const MAX_QUERY_LENGTH = 512;
const MAX_QUERY_TOKENS = 32;

/** Field weights of BM25F: a query word in the name or title counts more than in the summary. */
export const FIELD_WEIGHTS = { name: 3, title: 2.5, tags: 1.5, summary: 1 } as const;
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

/**
 * The "S" stemmer (Harman, 1991), the plural-only stemmer search engines ship as their lightest
 * English one: "lights" and "light", "queries" and "query" index as one term. Anything heavier
 * conflates tool names ("postgres", "kubernetes" lose only an "s", on both sides alike).
 */
export function stem(token: string): string {
  if (token.length <= 3 || !token.endsWith("s")) return token;
  if (token.endsWith("ies") && !token.endsWith("eies") && !token.endsWith("aies"))
    return `${token.slice(0, -3)}y`;
  if (token.endsWith("es") && !/(?:aes|ees|oes)$/.test(token)) return token.slice(0, -1);
  if (token.endsWith("us") || token.endsWith("ss")) return token;
  return token.slice(0, -1);
}

/** Index terms of a text: tokens, stemmed. */
const termsOf = (text: string) => tokenize(text).map(stem);

/**
 * Only the last query word matches as a prefix, as in Meilisearch and Typesense: it is the one
 * being typed; earlier words are complete. Shorter prefixes than this expand to nothing (two
 * letters match most of the vocabulary and cost a scan of most documents for no signal).
 */
export const MIN_PREFIX_LENGTH = 3;
/**
 * Prefix expansions of one query word, at most this many: the most frequent terms win, so a
 * two-letter prefix cannot turn a query into a scan of the whole vocabulary.
 */
export const MAX_PREFIX_EXPANSIONS = 256;
const FIELD_W = FIELDS.map((f) => FIELD_WEIGHTS[f]);
/** Per-field occurrence counts of a term in a document, one byte each (capped at 255). */
const count = (packed: number, f: number) => (packed >>> (8 * f)) & 0xff;
const PREFIX_TF = 0.5; // a prefix-only match scores as half an occurrence
const KEPT = 1;
const EXACT = 2;

interface Entry {
  doc: SearchDocument;
  slot: number;
  terms: string[];
  lowerName: string;
}

/** A term's postings: document slots and their packed per-field counts, in parallel arrays. */
interface Postings {
  slots: Int32Array;
  packed: Uint32Array;
  size: number;
}

const grow = <T extends Float64Array | Uint32Array | Uint8Array | Int32Array>(
  a: T,
  n: number,
): T => {
  if (a.length >= n) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(n, a.length * 2));
  b.set(a);
  return b;
};

/**
 * Creates an empty lexical index: postings per term in typed arrays, a sorted term list for
 * prefix lookups, and term-at-a-time scoring into reusable per-slot buffers, so a query costs the
 * postings it touches, not the size of the index, and allocates next to nothing.
 */
export function createLexicalIndex(): SearchIndex {
  const docs = new Map<string, Entry>();
  const slotIds: Array<string | undefined> = [];
  const freeSlots: number[] = [];
  let lengths = new Float64Array(4 * 1024); // slot * 4 + field
  let popularityOf = new Float64Array(1024);
  const postings = new Map<string, Postings>();
  const sortedTerms: string[] = [];
  const totals = [0, 0, 0, 0];
  const bySlug = new Map<string, Set<string>>();
  const byName = new Map<string, Set<string>>();
  // Scratch of the latest match, per slot; only the slots it touched are cleared afterwards.
  let bm25 = new Float64Array(1024);
  let covered = new Float64Array(1024);
  let scores = new Float64Array(1024);
  let anyMask = new Uint32Array(1024);
  let wholeMask = new Uint32Array(1024);
  let tiers = new Uint8Array(1024);
  let flags = new Uint8Array(1024);
  let touched: number[] = [];
  let generation = 0;

  const lowerBound = (term: string) => {
    let lo = 0;
    let hi = sortedTerms.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((sortedTerms[mid] as string) < term) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const addTo = (map: Map<string, Set<string>>, key: string, id: string) => {
    const set = map.get(key) ?? new Set<string>();
    map.set(key, set);
    set.add(id);
  };
  const deleteFrom = (map: Map<string, Set<string>>, key: string, id: string) => {
    const set = map.get(key);
    set?.delete(id);
    if (set?.size === 0) map.delete(key);
  };

  const remove = (id: string) => {
    const entry = docs.get(id);
    if (!entry) return;
    for (const t of entry.terms) {
      const list = postings.get(t);
      if (!list) continue;
      // Order within postings does not matter: the last entry fills the gap.
      const at = list.slots.subarray(0, list.size).indexOf(entry.slot);
      if (at >= 0) {
        list.size--;
        list.slots[at] = list.slots[list.size] as number;
        list.packed[at] = list.packed[list.size] as number;
      }
      if (list.size === 0) {
        postings.delete(t);
        sortedTerms.splice(lowerBound(t), 1);
      }
    }
    for (let f = 0; f < 4; f++)
      totals[f] = (totals[f] as number) - (lengths[entry.slot * 4 + f] as number);
    deleteFrom(bySlug, entry.doc.name, id);
    deleteFrom(byName, entry.lowerName, id);
    slotIds[entry.slot] = undefined;
    freeSlots.push(entry.slot);
    docs.delete(id);
  };

  /** Expansions of `t`: longer indexed terms it prefixes, the most frequent first when capped. */
  const expansionsOf = (t: string): string[] => {
    if (t.length < MIN_PREFIX_LENGTH) return [];
    const out: string[] = [];
    for (let i = lowerBound(t); i < sortedTerms.length; i++) {
      const term = sortedTerms[i] as string;
      if (!term.startsWith(t)) break;
      if (term !== t) out.push(term);
    }
    if (out.length <= MAX_PREFIX_EXPANSIONS) return out;
    return out
      .map((term) => ({ term, df: postings.get(term)?.size ?? 0 }))
      .sort((a, b) => b.df - a.df || (a.term < b.term ? -1 : 1))
      .slice(0, MAX_PREFIX_EXPANSIONS)
      .map((x) => x.term);
  };

  const index: SearchIndex = {
    upsert(doc) {
      remove(doc.id);
      const fields = [
        termsOf(doc.name),
        termsOf(doc.title),
        doc.tags.flatMap(termsOf),
        termsOf(doc.summary),
      ];
      const packedOf = new Map<string, number>();
      for (let f = 0; f < 4; f++) {
        for (const t of fields[f] as string[]) {
          const p = packedOf.get(t) ?? 0;
          packedOf.set(t, count(p, f) < 0xff ? p + 2 ** (8 * f) : p);
        }
      }
      const slot = freeSlots.pop() ?? slotIds.length;
      if (slot === slotIds.length) slotIds.push(undefined);
      lengths = grow(lengths, slotIds.length * 4);
      popularityOf = grow(popularityOf, slotIds.length);
      slotIds[slot] = doc.id;
      for (const [t, p] of packedOf) {
        let list = postings.get(t);
        if (!list) {
          list = { slots: new Int32Array(4), packed: new Uint32Array(4), size: 0 };
          postings.set(t, list);
          sortedTerms.splice(lowerBound(t), 0, t);
        }
        list.slots = grow(list.slots, list.size + 1);
        list.packed = grow(list.packed, list.size + 1);
        list.slots[list.size] = slot;
        list.packed[list.size] = p;
        list.size++;
      }
      for (let f = 0; f < 4; f++) {
        const len = (fields[f] as string[]).length;
        lengths[slot * 4 + f] = len;
        totals[f] = (totals[f] as number) + len;
      }
      popularityOf[slot] = Math.min(
        POPULARITY_CAP,
        POPULARITY_WEIGHT * Math.log1p(Math.max(0, doc.popularity)),
      );
      const lowerName = doc.title.toLowerCase();
      addTo(bySlug, doc.name, doc.id);
      addTo(byName, lowerName, doc.id);
      docs.set(doc.id, { doc, slot, terms: [...packedOf.keys()], lowerName });
    },
    remove,
    size: () => docs.size,
    search(query, options = {}) {
      return index.match(query, options).hits(options.offset ?? 0, options.limit ?? 20);
    },
    match(query, options = {}) {
      const q = query.trim().toLowerCase();
      const all = [...new Set(tokenize(q))];
      const meaningful = all.filter((t) => !STOP_WORDS.has(t));
      const words = (meaningful.length > 0 ? meaningful : all).slice(0, MAX_QUERY_TOKENS);
      const tokens = [...new Set(words.map(stem))];
      const lastToken = stem(words[words.length - 1] ?? "");
      const maxDf = options.maxDocFrequency ?? Number.POSITIVE_INFINITY;
      const n = docs.size;
      const cap = slotIds.length;
      const avg = totals.map((t) => (n > 0 ? t / n : 0) || 1);

      for (const slot of touched) {
        bm25[slot] = 0;
        covered[slot] = 0;
        anyMask[slot] = 0;
        wholeMask[slot] = 0;
        flags[slot] = 0;
      }
      touched = [];
      const current = ++generation;
      bm25 = grow(bm25, cap);
      covered = grow(covered, cap);
      scores = grow(scores, cap);
      anyMask = grow(anyMask, cap);
      wholeMask = grow(wholeMask, cap);
      tiers = grow(tiers, cap);
      flags = grow(flags, cap);

      let totalIdf = 0;
      for (const [ti, t] of tokens.entries()) {
        const bit = 2 ** ti;
        const exact = postings.get(t);
        const df = exact?.size ?? 0;
        if (df > maxDf) continue;
        const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5)) || 0.5;
        totalIdf += idf;
        if (exact) {
          const { slots, packed } = exact;
          for (let i = 0; i < exact.size; i++) {
            const slot = slots[i] as number;
            const p = packed[i] as number;
            let tf = 0;
            for (let f = 0; f < 4; f++) {
              const c = count(p, f);
              if (c === 0) continue;
              tf +=
                ((FIELD_W[f] as number) * c) /
                (1 - B + (B * (lengths[slot * 4 + f] as number)) / (avg[f] as number));
            }
            if (anyMask[slot] === 0) touched.push(slot);
            bm25[slot] = (bm25[slot] as number) + (idf * (tf * (K1 + 1))) / (tf + K1);
            covered[slot] = (covered[slot] as number) + idf;
            anyMask[slot] = (anyMask[slot] as number) | bit;
            if ((p & 0xffff) !== 0) wholeMask[slot] = (wholeMask[slot] as number) | bit;
          }
        }
        const prefixScore = (idf * (PREFIX_TF * (K1 + 1))) / (PREFIX_TF + K1);
        const typing = options.prefix !== false && t === lastToken;
        for (const x of typing ? expansionsOf(t) : []) {
          const list = postings.get(x) as Postings;
          for (let i = 0; i < list.size; i++) {
            const slot = list.slots[i] as number;
            const mask = anyMask[slot] as number;
            if ((mask & bit) !== 0) continue;
            if (mask === 0) touched.push(slot);
            bm25[slot] = (bm25[slot] as number) + prefixScore;
            covered[slot] = (covered[slot] as number) + idf;
            anyMask[slot] = mask | bit;
          }
        }
      }
      if (tokens.length > 0) {
        for (const id of [
          ...(bySlug.get(q) ?? []),
          ...(bySlug.get(words.join("-")) ?? []),
          ...(byName.get(q) ?? []),
        ]) {
          const slot = (docs.get(id) as Entry).slot;
          if (anyMask[slot] === 0 && flags[slot] === 0) touched.push(slot);
          flags[slot] = EXACT;
        }
      }

      // Score what passes the filters. Tiers dominate: relevance within a tier is squashed into
      // [0, 1), so a better tier always outranks any BM25 difference in a lower one.
      const allBits = 2 ** tokens.length - 1;
      const filtered =
        options.owner !== undefined ||
        options.excludeFlagged === true ||
        options.accept !== undefined;
      const kept: number[] = [];
      let bestCoverage = 0;
      for (const slot of touched) {
        if (filtered) {
          const doc = (docs.get(slotIds[slot] as string) as Entry).doc;
          if (options.owner && doc.owner !== options.owner) continue;
          if (options.excludeFlagged && doc.flagged) continue;
          if (options.accept && !options.accept(slotIds[slot] as string)) continue;
        }
        const exactTier = flags[slot] === EXACT;
        if (options.mode === "exact" && !exactTier) continue;
        const tier = exactTier
          ? 3
          : wholeMask[slot] === allBits
            ? 2
            : anyMask[slot] === allBits
              ? 1
              : 0;
        const b = bm25[slot] as number;
        if (b <= 0 && tier === 0) continue;
        const relevance = b + (popularityOf[slot] as number);
        scores[slot] = tier + relevance / (relevance + 5);
        tiers[slot] = tier;
        flags[slot] = (flags[slot] as number) | KEPT;
        kept.push(slot);
        if (totalIdf > 0)
          bestCoverage = Math.max(bestCoverage, (covered[slot] as number) / totalIdf);
      }

      const check = () => {
        if (current !== generation)
          throw new Error("LexicalMatch read after a newer match: it is valid until the next one");
      };
      const partsOf = (slot: number): SearchHit["parts"] => ({
        tier: tiers[slot] as number,
        bm25: bm25[slot] as number,
        popularity: popularityOf[slot] as number,
        coverage: totalIdf > 0 ? (covered[slot] as number) / totalIdf : 0,
      });
      const slugOf = (slot: number) => (docs.get(slotIds[slot] as string) as Entry).doc.name;
      return {
        matched: kept.length,
        bestCoverage,
        hits(offset, limit) {
          check();
          const want = offset + limit;
          if (want <= 0 || kept.length === 0) return [];
          // Select by score with a bounded heap, then sort only the survivors fully: ties with
          // the weakest kept score stay in, so the order is the one a full sort gives.
          let floor = Number.NEGATIVE_INFINITY;
          if (kept.length > want) {
            const heap = createHeap(want);
            for (const slot of kept) heap.push(scores[slot] as number, slot);
            floor = heap.floor();
          }
          return kept
            .filter((slot) => (scores[slot] as number) >= floor)
            .sort(
              (a, b) =>
                (scores[b] as number) - (scores[a] as number) || slugOf(a).localeCompare(slugOf(b)),
            )
            .slice(offset, want)
            .map((slot) => ({
              id: slotIds[slot] as string,
              score: scores[slot] as number,
              parts: partsOf(slot),
            }));
        },
        get(id) {
          check();
          const slot = docs.get(id)?.slot;
          return slot !== undefined && ((flags[slot] as number) & KEPT) !== 0
            ? partsOf(slot)
            : undefined;
        },
      };
    },
  };
  return index;
}
