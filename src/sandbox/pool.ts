import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { ClawHubError, ERROR_CODES, type ErrorCode } from "../errors/index.ts";
import type { JOBS } from "./jobs.ts";
import { type JobTable, workerBeside } from "./serve-jobs.ts";

/** Limits of one job: over either, its worker is terminated and the job refused. */
export interface JobBudget {
  /** Wall time of the job on its worker (ms). */
  timeMs: number;
  /** V8 old-generation heap of the worker (MiB): a job that needs more ends with LIMIT_EXCEEDED. */
  memoryMb: number;
}

/** Options of {@link createWorkPool}. */
export interface WorkPoolOptions {
  /** Worker threads (default: one per core but one, at least 1, at most 4). */
  size?: number;
  /** Default budget of a job (2 s, 256 MiB). */
  budget?: Partial<JobBudget>;
  /** Jobs waiting for a worker before new ones are refused (default 1,000). */
  maxQueued?: number;
  /**
   * A worker idle this long is ended (default 10 s): a hostile job can leave its worker's heap
   * near the budget, and an idle pool should give that memory back.
   */
  idleMs?: number;
  /**
   * The worker file, which serves its job table with `serveJobs` (default: the sandbox's own,
   * serving JOBS). Its URL's extension must match how the code runs (.ts, .js or .mjs).
   */
  worker?: URL;
}

/**
 * Untrusted CPU work off the event loop: a hostile schema, file or spec costs its own worker
 * thread at most `budget.timeMs` and `budget.memoryMb`, never the server's event loop.
 */
export interface WorkPool<J extends JobTable = typeof JOBS> {
  run<K extends keyof J & string>(
    kind: K,
    request: Parameters<J[K]>[0],
    budget?: Partial<JobBudget>,
  ): Promise<ReturnType<J[K]>>;
  /** Jobs running and waiting now. */
  readonly pending: number;
  /** Worker threads alive now. */
  readonly workers: number;
  /** Ends every worker; pending jobs fail with UNAVAILABLE. */
  close(): Promise<void>;
}

interface Job {
  kind: string;
  request: unknown;
  budget: JobBudget;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  /** The heap limit it was started with. */
  memoryMb: number;
  idle?: NodeJS.Timeout;
  job?: Job;
  timer?: NodeJS.Timeout;
}

const DEFAULT_BUDGET: JobBudget = { timeMs: 2_000, memoryMb: 256 };

/** Error as the worker sends it back. */
interface WireError {
  code?: string;
  message: string;
}

/**
 * A small pool over `worker_threads` with `resourceLimits`, instead of piscina: piscina 5 pulls a
 * native optional dependency, and what is needed here (a time and memory budget per job, a
 * worker replaced when it is killed) is a hundred lines. Workers are started on demand and
 * unref'd, so an idle pool never keeps a process alive; they stay up between jobs, so a job costs
 * one message each way.
 */
export function createWorkPool<J extends JobTable = typeof JOBS>(
  options: WorkPoolOptions = {},
): WorkPool<J> {
  const size = Math.max(1, options.size ?? Math.min(4, Math.max(1, availableParallelism() - 1)));
  const base: JobBudget = { ...DEFAULT_BUDGET, ...options.budget };
  const maxQueued = options.maxQueued ?? 1_000;
  const idleMs = options.idleMs ?? 10_000;
  const slots: Slot[] = [];
  const queue: Job[] = [];
  let closed = false;
  const workerUrl = options.worker ?? workerBeside(import.meta.url, "pool-worker");

  function spawn(budget: JobBudget): Slot {
    const worker = new Worker(workerUrl, {
      resourceLimits: {
        maxOldGenerationSizeMb: budget.memoryMb,
        maxYoungGenerationSizeMb: Math.min(64, Math.max(8, budget.memoryMb / 8)),
        stackSizeMb: 4,
      },
    });
    worker.unref();
    const slot: Slot = { worker, memoryMb: budget.memoryMb };
    worker.on("message", (msg: { ok: true; value: unknown } | { ok: false; error: WireError }) => {
      const job = slot.job;
      if (!job) return;
      done(slot);
      if (msg.ok) job.resolve(msg.value);
      else job.reject(fromWire(msg.error));
    });
    worker.on("error", (error: Error & { code?: string }) => {
      const job = slot.job;
      retire(slot);
      if (!job) return;
      job.reject(
        error.code === "ERR_WORKER_OUT_OF_MEMORY"
          ? new ClawHubError(
              "LIMIT_EXCEEDED",
              `${describe(job.kind)} needed more than ${job.budget.memoryMb} MiB of memory`,
            )
          : new ClawHubError("INTERNAL", `${describe(job.kind)} failed: ${error.message}`),
      );
    });
    worker.on("exit", () => {
      const job = slot.job;
      retire(slot);
      job?.reject(new ClawHubError("INTERNAL", `${describe(job.kind)}: its worker exited`));
    });
    return slot;
  }

  /** The job on `slot` ended: the slot takes the next waiting job. */
  function done(slot: Slot) {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.job = undefined;
    slot.worker.unref();
    slot.idle = setTimeout(() => retire(slot), idleMs);
    slot.idle.unref();
    pump();
  }

  /** The slot's worker is gone or being killed: drop it, so the next job starts a fresh one. */
  function retire(slot: Slot) {
    if (slot.idle) clearTimeout(slot.idle);
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.job = undefined;
    const i = slots.indexOf(slot);
    if (i < 0) return;
    slots.splice(i, 1);
    slot.worker.terminate().catch(() => {});
    pump();
  }

  function start(slot: Slot, job: Job) {
    if (slot.idle) clearTimeout(slot.idle);
    slot.job = job;
    slot.worker.ref();
    slot.timer = setTimeout(() => {
      retire(slot);
      job.reject(
        new ClawHubError(
          "LIMIT_EXCEEDED",
          `${describe(job.kind)} took longer than ${job.budget.timeMs} ms`,
        ),
      );
    }, job.budget.timeMs);
    slot.worker.postMessage({ kind: job.kind, request: job.request });
  }

  function pump() {
    while (queue.length > 0 && !closed) {
      const job = queue[0] as Job;
      // A job whose memory budget differs from the idle workers' needs its own worker.
      let slot = slots.find((s) => !s.job && s.memoryMb === job.budget.memoryMb);
      if (!slot) {
        if (slots.length >= size) {
          const idle = slots.find((s) => !s.job);
          if (!idle) return;
          retire(idle);
          continue;
        }
        slot = spawn(job.budget);
        slots.push(slot);
      }
      queue.shift();
      start(slot, job);
    }
  }

  return {
    get workers() {
      return slots.length;
    },
    get pending() {
      return queue.length + slots.filter((s) => s.job).length;
    },
    run(kind, request, budget) {
      if (closed) return Promise.reject(new ClawHubError("UNAVAILABLE", "the work pool is closed"));
      if (queue.length >= maxQueued)
        return Promise.reject(
          new ClawHubError(
            "RESOURCE_EXHAUSTED",
            `the server is busy: ${queue.length} jobs wait for a worker`,
            { details: { retryAfterMs: 1_000 } },
          ),
        );
      return new Promise<ReturnType<J[typeof kind]>>((resolve, reject) => {
        queue.push({
          kind,
          request,
          budget: { ...base, ...budget },
          resolve: resolve as (value: unknown) => void,
          reject,
        });
        pump();
      });
    },
    async close() {
      closed = true;
      const error = new ClawHubError("UNAVAILABLE", "the work pool is closed");
      for (const job of queue.splice(0)) job.reject(error);
      await Promise.all(
        slots.splice(0).map((slot) => {
          if (slot.timer) clearTimeout(slot.timer);
          if (slot.idle) clearTimeout(slot.idle);
          slot.job?.reject(error);
          slot.job = undefined;
          return slot.worker.terminate().catch(() => 0);
        }),
      );
    },
  };
}

const describe = (kind: string) => (kind === "compileSchema" ? "compiling the schema" : kind);

function fromWire(error: WireError): ClawHubError {
  const code = error.code;
  if (code && Object.hasOwn(ERROR_CODES, code))
    return new ClawHubError(code as ErrorCode, error.message);
  return new ClawHubError("INTERNAL", error.message);
}
