/** Rate-limit buckets, as the public ClawHub API defines them. */
export type Bucket = "read" | "write" | "download";

/** Requests per minute, per bucket, for anonymous callers (per IP) and per token user. */
export interface RateLimitConfig {
  read: { ip: number; user: number };
  write: { ip: number; user: number };
  download: { ip: number; user: number };
  /** Window length in milliseconds. */
  windowMs: number;
  now: () => number;
}

/** The public registry's numbers. */
export const DEFAULT_RATE_LIMITS: Omit<RateLimitConfig, "now"> = {
  read: { ip: 600, user: 2400 },
  write: { ip: 45, user: 180 },
  download: { ip: 30, user: 180 },
  windowMs: 60_000,
};

/** The outcome of taking one request from a bucket. */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch ms when the window resets. */
  resetAt: number;
}

/** A rate limiter: fixed windows per bucket and key. */
export interface RateLimiter {
  take(bucket: Bucket, key: string, authenticated: boolean): RateDecision;
}

/**
 * Fixed-window counters in memory. Each replica counts on its own, so N replicas allow up to N
 * times the configured rate; put a shared limiter in front for strict global limits.
 */
export function createRateLimiter(config: Partial<RateLimitConfig> = {}): RateLimiter {
  const cfg = { ...DEFAULT_RATE_LIMITS, now: Date.now, ...config };
  const windows = new Map<string, { count: number; resetAt: number }>();
  let lastSweep = 0;
  return {
    take(bucket, key, authenticated) {
      const t = cfg.now();
      if (t - lastSweep > cfg.windowMs) {
        for (const [k, w] of windows) if (w.resetAt <= t) windows.delete(k);
        lastSweep = t;
      }
      const limit = authenticated ? cfg[bucket].user : cfg[bucket].ip;
      const id = `${bucket}|${key}`;
      let w = windows.get(id);
      if (!w || w.resetAt <= t) {
        w = { count: 0, resetAt: t + cfg.windowMs };
        windows.set(id, w);
      }
      if (w.count >= limit) return { allowed: false, limit, remaining: 0, resetAt: w.resetAt };
      w.count++;
      return { allowed: true, limit, remaining: limit - w.count, resetAt: w.resetAt };
    },
  };
}
