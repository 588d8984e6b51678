/**
 * Untrusted CPU work off the event loop: a pool of worker threads, each job under a time and
 * memory budget (over it: the worker is terminated and the job refused with LIMIT_EXCEEDED), and
 * the jobs it runs (JSON Schema compilation to standalone validators).
 */

export type { JobKind, JobRequest, JobResult } from "./jobs.ts";
export {
  type CompiledValidator,
  compileSchemaSource,
  duplicateItems,
  formatProblems,
  loadValidator,
  type SchemaProblem,
  validateJson,
} from "./json-schema.ts";
export { createWorkPool, type JobBudget, type WorkPool, type WorkPoolOptions } from "./pool.ts";
export { type JobTable, serveJobs, workerBeside } from "./serve-jobs.ts";
