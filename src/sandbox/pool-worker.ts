/**
 * A work-pool thread: runs one job at a time from {@link JOBS} and answers `{ ok, value }` or
 * `{ ok: false, error }`. The pool that started it enforces the time and memory budget by
 * terminating it.
 */
import { parentPort } from "node:worker_threads";
import { JOBS, type JobKind } from "./jobs.ts";

parentPort?.on("message", (msg: { kind: JobKind; request: never }) => {
  try {
    const run = JOBS[msg.kind] as (request: unknown) => unknown;
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
