import { ClawHubError, type ErrorCode, isClawHubError } from "./error.ts";

/**
 * One failure vocabulary from the agent to the caller, in the spirit of Temporal's
 * `ApplicationFailure`: a task failure keeps its `type` from `taskError()` in the SDK, over the
 * wire, through the hub's retries and the workflow scheduler, into `runs show`.
 */
export interface TaskFailure {
  /** What failed, in the thrower's words: `RATE_LIMITED`, `OUTPUT_INVALID`, `AGENT_LOST`... */
  type: string;
  message: string;
  /** True when another attempt cannot succeed (bad input, refused); retry policies stop here. */
  nonRetryable: boolean;
  /** Machine-readable detail the thrower chose to attach (JSON). */
  details?: Record<string, unknown> | undefined;
}

/** ClawHub codes a retry can fix: the far side was busy, gone, slow or unreachable. */
const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "DEADLINE_EXCEEDED",
  "UNAVAILABLE",
  "RESOURCE_EXHAUSTED",
  "RATE_LIMITED",
  "NETWORK_ERROR",
  "SERVER_ERROR",
]);

const TYPE = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Builds a failure; `type` is kept to 1-128 of `[A-Za-z0-9_.:-]` (others become `TASK_FAILED`). */
export function taskFailure(
  type: string,
  message: string,
  options: { nonRetryable?: boolean; details?: Record<string, unknown> | undefined } = {},
): TaskFailure {
  return {
    type: TYPE.test(type) ? type : "TASK_FAILED",
    message: message.slice(0, 8192),
    nonRetryable: options.nonRetryable === true,
    ...(options.details ? { details: options.details } : {}),
  };
}

/** A ClawHubError (code TASK_FAILED) carrying a failure: what `taskError()` throws and callers catch. */
export function taskFailedError(
  failure: TaskFailure,
  context: { message?: string; hint?: string; details?: Record<string, unknown> } = {},
): ClawHubError {
  return new ClawHubError("TASK_FAILED", context.message ?? failure.message, {
    failure,
    ...(context.hint ? { hint: context.hint } : {}),
    ...(context.details ? { details: context.details } : {}),
  });
}

/**
 * The failure a thrown value stands for. A ClawHubError carrying one gives it back; other
 * ClawHub errors become a failure of their code (retryable when the code is transient); any
 * other error keeps its `code` or `name` as the type and is retryable unless it says otherwise
 * (`nonRetryable: true` or `retryable: false`), as an unknown failure may pass elsewhere.
 */
export function failureOf(error: unknown): TaskFailure {
  if (isClawHubError(error)) {
    if (error.failure) return error.failure;
    return taskFailure(error.code, error.message, {
      nonRetryable: !RETRYABLE_CODES.has(error.code),
      details: error.details,
    });
  }
  const e = (error ?? {}) as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    retryable?: unknown;
    nonRetryable?: unknown;
  };
  const type =
    typeof e.code === "string" ? e.code : typeof e.name === "string" ? e.name : "HANDLER_ERROR";
  const nonRetryable = e.nonRetryable === true || e.retryable === false;
  return taskFailure(type, String(e.message ?? error), { nonRetryable });
}

/** Reads a failure from untrusted JSON (the wire, an old journal), or undefined. */
export function parseFailure(value: unknown): TaskFailure | undefined {
  if (!value || typeof value !== "object") return undefined;
  const v = value as Record<string, unknown>;
  // Journals written before TaskFailure hold { code, message, retryable }.
  const type = typeof v.type === "string" ? v.type : typeof v.code === "string" ? v.code : "";
  if (!type) return undefined;
  const nonRetryable = typeof v.nonRetryable === "boolean" ? v.nonRetryable : v.retryable === false;
  const details =
    v.details && typeof v.details === "object" && !Array.isArray(v.details)
      ? (v.details as Record<string, unknown>)
      : undefined;
  return taskFailure(type, typeof v.message === "string" ? v.message : "", {
    nonRetryable,
    details,
  });
}
