import { compileSchemaSource, type SchemaProblem, validateJson } from "./json-schema.ts";

/**
 * The jobs a pool worker runs: each takes structured-clonable data and returns such data, so it
 * can run on any worker (and, in tests, on the calling thread).
 */
export const JOBS = {
  /** JSON Schema text to the standalone source of its validator (see json-schema.ts). */
  compileSchema: (request: { schemaText: string }): { source: string } => ({
    source: compileSchemaSource(request.schemaText),
  }),
  /** A JSON document's problems against each validator source (see json-schema.ts). */
  validateJson: (request: {
    sources: string[];
    json: Uint8Array;
  }): { problems: SchemaProblem[][] } => ({
    problems: validateJson(request.sources, request.json),
  }),
} as const;

/** A job's name. */
export type JobKind = keyof typeof JOBS;
/** What a job takes. */
export type JobRequest<K extends JobKind> = Parameters<(typeof JOBS)[K]>[0];
/** What a job returns. */
export type JobResult<K extends JobKind> = ReturnType<(typeof JOBS)[K]>;
