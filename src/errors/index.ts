/**
 * The one error type of ClawHub (`ClawHubError`, stable codes mapped once per surface) and the
 * one task failure shape (`TaskFailure`), used from the agent SDK to the caller.
 */
export {
  ClawHubError,
  type ClawHubErrorOptions,
  ERROR_CODES,
  type ErrorCategory,
  type ErrorCode,
  isClawHubError,
  redactSecrets,
  toClawHubError,
} from "./error.ts";
export {
  failureOf,
  parseFailure,
  type TaskFailure,
  taskFailedError,
  taskFailure,
} from "./failure.ts";
