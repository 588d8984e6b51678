/**
 * Connection lines are rate-limited: anyone who reaches the port can connect, so without a
 * limit 2,100 anonymous connects wrote 4,204 log lines. Per kind of line, the first `burst` of a
 * window are written; the rest are counted and summed up in one line when the window ends, so
 * the log still says how many there were.
 */
export interface LogLimiter {
  /** Writes `line` unless lines of `kind` are over their budget this window. */
  log(kind: string, line: string): void;
  /** Writes the pending summaries and stops the timer. */
  close(): void;
}

/** Options of {@link createLogLimiter}. */
export interface LogLimiterOptions {
  write(line: string): void;
  /** Lines of one kind per window before the rest are counted instead (default 20). */
  burst?: number;
  /** Window length (default 10 s). */
  windowMs?: number;
  now?: () => number;
}

export function createLogLimiter(options: LogLimiterOptions): LogLimiter {
  const burst = options.burst ?? 20;
  const windowMs = options.windowMs ?? 10_000;
  const now = options.now ?? Date.now;
  const kinds = new Map<string, { start: number; written: number; suppressed: number }>();
  let timer: NodeJS.Timeout | undefined;

  const summarize = (kind: string, suppressed: number) =>
    options.write(
      `hub: ${suppressed} more ${kind} lines in the last ${Math.round(windowMs / 1000)} s were not logged (at most ${burst} per ${Math.round(windowMs / 1000)} s)`,
    );
  const flush = (all: boolean) => {
    const t = now();
    for (const [kind, k] of kinds) {
      if (!all && t - k.start < windowMs) continue;
      if (k.suppressed > 0) summarize(kind, k.suppressed);
      kinds.delete(kind);
    }
    if (kinds.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  return {
    log(kind, line) {
      const t = now();
      let k = kinds.get(kind);
      if (k && t - k.start >= windowMs) {
        if (k.suppressed > 0) summarize(kind, k.suppressed);
        k = undefined;
      }
      if (!k) {
        k = { start: t, written: 0, suppressed: 0 };
        kinds.set(kind, k);
        if (!timer) {
          timer = setInterval(() => flush(false), windowMs);
          timer.unref();
        }
      }
      if (k.written < burst) {
        k.written++;
        options.write(line);
      } else k.suppressed++;
    },
    close() {
      flush(true);
    },
  };
}
