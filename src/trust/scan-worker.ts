/** A work-pool thread serving {@link SCAN_JOBS}: the scanner, off the server's event loop. */
import { serveJobs } from "../sandbox/index.ts";
import { SCAN_JOBS } from "./scan-pool.ts";

serveJobs(SCAN_JOBS);
