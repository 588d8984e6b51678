/**
 * The scanner on a work pool: a registry scans every publish, and a skill is hostile input, so
 * the scan runs on a worker thread with a time and memory budget. Over budget, the skill is not
 * clean: the report says it could not be analysed (the scanner fails closed).
 */
import { isClawHubError } from "../errors/index.ts";
import { createWorkPool, type JobBudget, type WorkPool, workerBeside } from "../sandbox/index.ts";
import {
  notAnalysed,
  type ScanFile,
  type ScanOptions,
  type ScanReport,
  scanFiles,
  scanInput,
} from "./scanner.ts";

/** The jobs a scan worker serves. */
export const SCAN_JOBS = {
  scan: (request: { files: ScanFile[]; options?: ScanOptions }): ScanReport =>
    scanFiles(request.files, request.options),
};

/** A pool of scan workers. */
export type ScanPool = WorkPool<typeof SCAN_JOBS>;

/** Default budget of one scan: 10 s and 512 MiB (the largest corpus skill takes ~0.2 s). */
export const SCAN_BUDGET: JobBudget = { timeMs: 10_000, memoryMb: 512 };

/** Starts a pool of scan workers (on demand; an idle pool keeps no thread). */
export function createScanPool(options: { size?: number; budget?: Partial<JobBudget> } = {}) {
  return createWorkPool<typeof SCAN_JOBS>({
    size: options.size ?? 1,
    budget: { ...SCAN_BUDGET, ...options.budget },
    worker: workerBeside(import.meta.url, "scan-worker"),
  });
}

/**
 * Scans on the pool. A scan over its budget (or a pool too busy to take it) gives a report that
 * could not be analysed, never a clean one.
 */
export async function scanOnPool(
  pool: ScanPool,
  files: ScanFile[],
  options?: ScanOptions,
): Promise<ScanReport> {
  try {
    return await pool.run("scan", {
      files: scanInput(files, options),
      ...(options ? { options } : {}),
    });
  } catch (error) {
    if (!isClawHubError(error)) throw error;
    return notAnalysed(error.message, files);
  }
}
