import type { TaskFailure } from "./failure.ts";

/**
 * The one error type of ClawHub. Every failure a user can meet carries a stable `code`;
 * each surface (CLI, HTTP server, SDK) maps codes to its own output in exactly one place.
 */

/**
 * What kind of failure a code is. Surfaces map categories, not individual codes, so a new code
 * only needs a row in {@link ERROR_CODES}.
 */
export type ErrorCategory =
  /** The command line or request is malformed (unknown flag, missing argument). */
  | "usage"
  /** The user's input or state is wrong (invalid skill, missing file, conflict). */
  | "user"
  /** The registry or hub could not be reached or answered with a server error. */
  | "network"
  /** Refused for integrity or safety (hostile archive, hash mismatch, signature). */
  | "security"
  /** A bug or an unexpected environment failure. */
  | "internal";

/** Stable error codes. Never rename one: scripts match on them (`--json` prints `error.code`). */
export const ERROR_CODES = {
  USAGE: "usage",
  INVALID_ARGUMENT: "usage",
  NOT_FOUND: "user",
  ALREADY_EXISTS: "user",
  CONFLICT: "user",
  INVALID_SKILL: "user",
  /** A workflow file with problems (details.issues lists every one). */
  INVALID_WORKFLOW: "user",
  LIMIT_EXCEEDED: "user",
  CONFIG_INVALID: "user",
  IO_ERROR: "user",
  UNAUTHENTICATED: "user",
  FORBIDDEN: "user",
  GONE: "user",
  LOCAL_MODIFIED: "user",
  /** Input does not match a capability's JSON Schema (details.errors lists each problem). */
  SCHEMA_INVALID: "user",
  /** An agent's task failed; `error.failure` is its TaskFailure (type, nonRetryable, details). */
  TASK_FAILED: "user",
  CANCELLED: "user",
  RATE_LIMITED: "network",
  /** Every capable agent's queue is full: retry after details.retryAfterMs. */
  RESOURCE_EXHAUSTED: "network",
  DEADLINE_EXCEEDED: "network",
  /** No agent can take the task now (none connected for it, or all draining). */
  UNAVAILABLE: "network",
  NETWORK_ERROR: "network",
  SERVER_ERROR: "network",
  UNSAFE_ARCHIVE: "security",
  INTEGRITY_MISMATCH: "security",
  /** A signature, a transparency-log proof or a checkpoint did not verify. */
  VERIFICATION_FAILED: "security",
  INTERNAL: "internal",
} as const satisfies Record<string, ErrorCategory>;

/** A stable ClawHub error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Options of a {@link ClawHubError}. */
export interface ClawHubErrorOptions {
  /** One actionable sentence: what the user can do about it. */
  hint?: string;
  /** The underlying error, kept for debugging (`--verbose`), never shown as the message. */
  cause?: unknown;
  /** Machine-readable detail (the archive entry and rule, the limit and its value...). */
  details?: Record<string, unknown> | undefined;
  /** With code TASK_FAILED: the agent's failure, kept whole from the agent to the caller. */
  failure?: TaskFailure | undefined;
}

/** The one error type: a stable code, a message, an optional hint and machine-readable details. */
export class ClawHubError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly failure: TaskFailure | undefined;

  constructor(code: ErrorCode, message: string, options: ClawHubErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ClawHubError";
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
    this.failure = options.failure;
  }

  /** The category of this error's code. */
  get category(): ErrorCategory {
    return ERROR_CODES[this.code];
  }
}

/** True when `value` is a {@link ClawHubError} (also across module copies). */
export function isClawHubError(value: unknown): value is ClawHubError {
  return (
    value instanceof ClawHubError ||
    (value instanceof Error && value.name === "ClawHubError" && "code" in value)
  );
}

const SECRET_PATTERNS: RegExp[] = [
  /\bclh_[A-Za-z0-9_-]{6,}/g,
  /\b(Bearer\s+)[A-Za-z0-9._~+/-]{8,}=*/gi,
  /\b(sk-[A-Za-z0-9_-]{6,})/g,
];

/** Replaces tokens and bearer credentials in `text` so that errors and logs never leak them. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (match, prefix?: string) =>
      typeof prefix === "string" && /^Bearer\s+$/i.test(prefix)
        ? `${prefix}[redacted]`
        : `${match.slice(0, 4)}[redacted]`,
    );
  }
  return out;
}

/**
 * Turns anything thrown into a ClawHubError: Node system errors become IO_ERROR with the path,
 * everything else INTERNAL. Existing ClawHubErrors pass through unchanged.
 */
export function toClawHubError(error: unknown): ClawHubError {
  if (isClawHubError(error)) return error;
  if (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === "string") {
    const sys = error as NodeJS.ErrnoException;
    const where = sys.path ? `: ${sys.path}` : "";
    const byCode: Record<string, [ErrorCode, string, string | undefined]> = {
      ENOENT: ["NOT_FOUND", `No such file or directory${where}`, "Check the path and try again."],
      ENOTDIR: ["NOT_FOUND", `Not a directory${where}`, undefined],
      EISDIR: ["INVALID_ARGUMENT", `Is a directory, expected a file${where}`, undefined],
      EACCES: ["IO_ERROR", `Permission denied${where}`, "Check the file permissions."],
      EPERM: ["IO_ERROR", `Operation not permitted${where}`, "Check the file permissions."],
      EEXIST: ["ALREADY_EXISTS", `Already exists${where}`, undefined],
      ENOSPC: ["IO_ERROR", `No space left on device${where}`, "Free some disk space."],
      ECONNREFUSED: ["NETWORK_ERROR", "Connection refused", "Is the server running?"],
    };
    const known = sys.code ? byCode[sys.code] : undefined;
    if (known) {
      const [code, message, hint] = known;
      return new ClawHubError(code, message, { cause: error, ...(hint ? { hint } : {}) });
    }
    return new ClawHubError("IO_ERROR", redactSecrets(error.message), { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ClawHubError("INTERNAL", redactSecrets(message), {
    cause: error,
    hint: "This is a bug in ClawHub; please report it with the command you ran.",
  });
}
