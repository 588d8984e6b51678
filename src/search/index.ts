/**
 * Search: one engine for the registry (published skills) and, later, the hub (live capabilities).
 * Lexical tiers and BM25 answer at once; embeddings (local model or an OpenAI-compatible service)
 * add meaning in the background.
 */
export {
  createHttpEmbedder,
  createLocalEmbedder,
  type Embedder,
  type HttpEmbedderOptions,
  type LocalEmbedderOptions,
  normalize,
  truncate,
} from "./embedder.ts";
export {
  createSearchEngine,
  DEFAULT_WEIGHTS,
  documentText,
  type EngineDocument,
  type EngineHit,
  type EngineOptions,
  type EngineStatus,
  type RankingMode,
  type RankingWeights,
  type SearchEngine,
  type VectorStore,
} from "./engine.ts";
export {
  createLexicalIndex,
  FIELD_WEIGHTS,
  type LexicalMatch,
  MAX_PREFIX_EXPANSIONS,
  MAX_QUERY_LENGTH,
  type MatchOptions,
  type SearchDocument,
  type SearchHit,
  type SearchIndex,
  type SearchOptions,
  stem,
  tokenize,
} from "./lexical.ts";
export { createVectorIndex, type VectorIndex } from "./vectors.ts";
