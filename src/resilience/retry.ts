import { ClawHubError } from "../errors/index.ts";

/**
 * One retry policy for every retrying part of ClawHub (the hub's dispatcher, the registry HTTP
 * client, SDK reconnects, workflow nodes), as data in Temporal's shape. The delay before the
 * attempt after `attempt` is
 *
 *   min(maximumIntervalMs, initialIntervalMs * backoffCoefficient ^ (attempt - 1)) * (1 ± jitter)
 *
 * with the jitter factor drawn from a hash of a seed, so a journaled workflow replays the same
 * delays and callers that need spread pass a random seed.
 */
export interface RetryPolicy {
  /** Delay before the second attempt. */
  initialIntervalMs: number;
  /** Growth of the delay per attempt (>= 1). */
  backoffCoefficient: number;
  /** Cap of the delay. */
  maximumIntervalMs: number;
  /** Attempts in all, counting the first; 0: unlimited (reconnects). */
  maximumAttempts: number;
  /** Failure types never retried (a TaskFailure's `type`, or a ClawHub error code). */
  nonRetryableTypes: readonly string[];
  /** 0..1: each delay is scaled by a factor in [1 - jitter, 1 + jitter]. */
  jitter: number;
}

/** Defaults: 200 ms doubling to 10 s, 3 attempts, ±20% jitter. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  initialIntervalMs: 200,
  backoffCoefficient: 2,
  maximumIntervalMs: 10_000,
  maximumAttempts: 3,
  nonRetryableTypes: Object.freeze([]) as readonly string[],
  jitter: 0.2,
});

/** A policy from defaults and overrides, checked (INVALID_ARGUMENT names the bad field). */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}, base = DEFAULT_RETRY_POLICY) {
  const p: RetryPolicy = { ...base, ...overrides };
  const bad = (field: string, rule: string) =>
    new ClawHubError("INVALID_ARGUMENT", `retry policy: ${field} ${rule}`);
  if (!(p.initialIntervalMs >= 0)) throw bad("initialIntervalMs", "must be >= 0");
  if (!(p.backoffCoefficient >= 1)) throw bad("backoffCoefficient", "must be >= 1");
  if (!(p.maximumIntervalMs >= p.initialIntervalMs))
    throw bad("maximumIntervalMs", "must be >= initialIntervalMs");
  if (!Number.isInteger(p.maximumAttempts) || p.maximumAttempts < 0)
    throw bad("maximumAttempts", "must be a whole number >= 0");
  if (!(p.jitter >= 0 && p.jitter <= 1)) throw bad("jitter", "must be between 0 and 1");
  return p;
}

/** A number in [0, 1) from a seed (FNV-1a): deterministic jitter. */
export function hash01(seed: string | number): number {
  const text = String(seed);
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0) / 2 ** 32;
}

/**
 * The delay before the attempt that follows attempt number `attempt` (1 = the first), or
 * undefined when the policy allows no further attempt.
 */
export function nextDelay(
  policy: RetryPolicy,
  attempt: number,
  seed: string | number,
): number | undefined {
  if (policy.maximumAttempts > 0 && attempt >= policy.maximumAttempts) return undefined;
  const base = Math.min(
    policy.maximumIntervalMs,
    policy.initialIntervalMs * policy.backoffCoefficient ** Math.max(0, attempt - 1),
  );
  const factor = 1 + policy.jitter * (2 * hash01(`${seed}/${attempt}`) - 1);
  return Math.max(0, Math.round(base * factor));
}

/** Whether a failure of this type and retryability may be retried under the policy. */
export function retryable(
  policy: RetryPolicy,
  failure: { type: string; nonRetryable: boolean },
): boolean {
  return !failure.nonRetryable && !policy.nonRetryableTypes.includes(failure.type);
}
