/** A work-pool thread serving {@link JOBS} (schema compilation and validation). */
import { JOBS } from "./jobs.ts";
import { serveJobs } from "./serve-jobs.ts";

serveJobs(JOBS);
