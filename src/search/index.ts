/** Search: the SearchIndex interface and its lexical engine (semantic ranking plugs in here). */
export {
  createLexicalIndex,
  FIELD_WEIGHTS,
  MAX_QUERY_LENGTH,
  type SearchDocument,
  type SearchHit,
  type SearchIndex,
  type SearchOptions,
  tokenize,
} from "./lexical.ts";
