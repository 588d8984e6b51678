/**
 * The worker side of a work pool: runs one job at a time from a table and answers
 * `{ ok, value }` or `{ ok: false, error }`. The pool that started the thread enforces the time
 * and memory budget by terminating it. A room with jobs of its own (the scanner) serves its table
 * from a worker file of its own with this.
 */
import { parentPort } from "node:worker_threads";

/**
 * The URL of a worker file beside the module at `moduleUrl` (pass `import.meta.url`), with that
 * module's own extension: .ts from source, .js from tsc's dist/, .mjs from the bundle
 * (scripts/build.ts names its outputs so).
 */
export function workerBeside(moduleUrl: string, name: string): URL {
  const ext = /\.[cm]?[jt]s$/.exec(new URL(moduleUrl).pathname)?.[0] ?? ".js";
  return new URL(`./${name}${ext}`, moduleUrl);
}

/** Jobs by name: each takes one request and returns its answer synchronously. */
export type JobTable = Record<string, (request: never) => unknown>;

/** Answers the pool's messages on this worker thread with `jobs`. */
export function serveJobs(jobs: JobTable): void {
  parentPort?.on("message", (msg: { kind: string; request: never }) => {
    try {
      const run = jobs[msg.kind];
      if (!run) throw new Error(`no job "${msg.kind}" on this worker`);
      parentPort?.postMessage({ ok: true, value: run(msg.request) });
    } catch (error) {
      const e = error as { code?: unknown; message?: unknown };
      parentPort?.postMessage({
        ok: false,
        error: {
          code: typeof e?.code === "string" ? e.code : undefined,
          message: typeof e?.message === "string" ? e.message : String(error),
        },
      });
    }
  });
}
