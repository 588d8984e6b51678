import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  IsolatedCircuitError,
} from "cockatiel";

/** Options of {@link createBreaker}. */
export interface BreakerOptions {
  /** Consecutive failures that open the circuit (default 5). */
  failures?: number;
  /** How long it stays open before one trial call may pass (default 10 s). */
  halfOpenAfterMs?: number;
  /** Which errors count as failures of the dependency (default: all). */
  isFailure?: (error: unknown) => boolean;
  now?: () => number;
}

export type BreakerState = "closed" | "open" | "half-open" | "isolated";

/** A circuit breaker (cockatiel's, with the state questions the router asks). */
export interface Breaker {
  readonly state: BreakerState;
  /** When the circuit last opened (0: never). */
  readonly openedAt: number;
  /**
   * Whether a call now would be let through: closed, or open for longer than its cooldown (the
   * call becomes the trial), or half-open with no trial in flight.
   */
  available(): boolean;
  /** Runs `fn` through the breaker; rejects with {@link isBrokenCircuit} errors while open. */
  execute<T>(fn: () => PromiseLike<T> | T, signal?: AbortSignal): Promise<T>;
  onStateChange(listener: (state: BreakerState) => void): { dispose(): void };
}

const NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half-open",
  [CircuitState.Isolated]: "isolated",
};

/** True for the error a breaker throws instead of running the call. */
export function isBrokenCircuit(error: unknown): boolean {
  return error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError;
}

/**
 * The one circuit-breaker factory: the hub's per-agent circuits and the workflows' per-dependency
 * ones are both cockatiel `ConsecutiveBreaker`s made here, so `--breaker-failures` and
 * `--breaker-cooldown` mean the same thing for both.
 */
export function createBreaker(options: BreakerOptions = {}): Breaker {
  const now = options.now ?? Date.now;
  const halfOpenAfterMs = options.halfOpenAfterMs ?? 10_000;
  const isFailure = options.isFailure ?? (() => true);
  const policy: CircuitBreakerPolicy = circuitBreaker(
    handleWhen((e) => !isBrokenCircuit(e) && isFailure(e)),
    { halfOpenAfter: halfOpenAfterMs, breaker: new ConsecutiveBreaker(options.failures ?? 5) },
  );
  let openedAt = 0;
  let trials = 0;
  policy.onBreak(() => {
    openedAt = now();
  });
  return {
    get state() {
      return NAMES[policy.state];
    },
    get openedAt() {
      return openedAt;
    },
    available() {
      switch (policy.state) {
        case CircuitState.Closed:
          return true;
        case CircuitState.Open:
          return now() - openedAt >= halfOpenAfterMs;
        case CircuitState.HalfOpen:
          return trials === 0;
        default:
          return false;
      }
    },
    async execute<T>(fn: () => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
      const trial = policy.state !== CircuitState.Closed;
      if (trial) trials++;
      try {
        return await policy.execute(() => fn(), signal);
      } finally {
        if (trial) trials--;
      }
    },
    onStateChange(listener) {
      return policy.onStateChange((s) => listener(NAMES[s]));
    },
  };
}
