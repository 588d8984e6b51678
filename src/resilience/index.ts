/**
 * Resilience: one retry policy (data plus `nextDelay`) and one circuit-breaker factory on
 * cockatiel, shared by the hub, workflows, the SDK and the registry client.
 */
export {
  type Breaker,
  type BreakerOptions,
  type BreakerState,
  createBreaker,
  isBrokenCircuit,
} from "./breaker.ts";
export {
  DEFAULT_RETRY_POLICY,
  hash01,
  nextDelay,
  type RetryPolicy,
  retryable,
  retryPolicy,
} from "./retry.ts";
