import * as grpc from "@grpc/grpc-js";
import {
  ClawHubError,
  ERROR_CODES,
  type ErrorCode,
  parseFailure,
  type TaskFailure,
} from "../errors/index.ts";
import type { WireCallError, WireTaskFailure } from "./proto.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const jsonBytes = (value: unknown) =>
  value === undefined ? new Uint8Array(0) : encoder.encode(JSON.stringify(value));
function jsonOf(bytes: Uint8Array | undefined): Record<string, unknown> | undefined {
  if (!bytes || bytes.byteLength === 0) return undefined;
  try {
    const v = JSON.parse(decoder.decode(bytes)) as unknown;
    return v && typeof v === "object" && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** A failure in its wire form. */
export function failureToWire(failure: TaskFailure): WireTaskFailure {
  return {
    type: failure.type,
    message: failure.message,
    nonRetryable: failure.nonRetryable,
    detailsJson: jsonBytes(failure.details),
  };
}

/** A failure from its wire form (untrusted: checked like any input). */
export function failureFromWire(wire: WireTaskFailure | null | undefined): TaskFailure | undefined {
  if (!wire?.type) return undefined;
  return parseFailure({
    type: wire.type,
    message: wire.message,
    nonRetryable: wire.nonRetryable,
    details: jsonOf(wire.detailsJson),
  });
}

/** An error as a multiplexed call's reply carries it (the stream's one mapping, sending side). */
export function errorToWire(error: ClawHubError): WireCallError {
  return {
    code: error.code,
    message: error.message,
    hint: error.hint ?? "",
    detailsJson: jsonBytes(error.details),
    failure: error.failure ? failureToWire(error.failure) : null,
  };
}

/** The receiving side's one mapping of a multiplexed call's error back to a ClawHubError. */
export function errorFromWire(wire: WireCallError): ClawHubError {
  const code = (wire.code in ERROR_CODES ? wire.code : "SERVER_ERROR") as ErrorCode;
  const details = jsonOf(wire.detailsJson);
  const failure = failureFromWire(wire.failure);
  return new ClawHubError(code, wire.message || code, {
    ...(wire.hint ? { hint: wire.hint } : {}),
    ...(details ? { details } : {}),
    ...(failure ? { failure } : {}),
  });
}

/** gRPC status per ClawHub code; the exact ClawHub code also travels in `clawhub-code`. */
const STATUS: Partial<Record<ErrorCode, grpc.status>> = {
  USAGE: grpc.status.INVALID_ARGUMENT,
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  SCHEMA_INVALID: grpc.status.INVALID_ARGUMENT,
  INVALID_WORKFLOW: grpc.status.INVALID_ARGUMENT,
  NOT_FOUND: grpc.status.NOT_FOUND,
  ALREADY_EXISTS: grpc.status.ALREADY_EXISTS,
  CONFLICT: grpc.status.ABORTED,
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  FORBIDDEN: grpc.status.PERMISSION_DENIED,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
  RATE_LIMITED: grpc.status.RESOURCE_EXHAUSTED,
  DEADLINE_EXCEEDED: grpc.status.DEADLINE_EXCEEDED,
  CANCELLED: grpc.status.CANCELLED,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  NETWORK_ERROR: grpc.status.UNAVAILABLE,
  TASK_FAILED: grpc.status.UNKNOWN,
};

/** Metadata is headers: gRPC peers refuse more than 8 KiB of it, so each part is bounded. */
const MAX_MESSAGE = 1024;
const MAX_DETAILS_BYTES = 4096;

/** JSON of `details` within `max` bytes: long lists are cut (with `truncated: true`). */
export function boundedJson(details: Record<string, unknown>, max = MAX_DETAILS_BYTES): string {
  let text = JSON.stringify(details);
  if (text.length <= max) return text;
  const cut: Record<string, unknown> = { ...details, truncated: true };
  for (let keep = 64; keep >= 1; keep = Math.floor(keep / 2)) {
    for (const [k, v] of Object.entries(details)) if (Array.isArray(v)) cut[k] = v.slice(0, keep);
    text = JSON.stringify(cut);
    if (text.length <= max) return text;
  }
  return JSON.stringify({ truncated: true });
}

const clip = (text: string, max: number) =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

/**
 * The server side's one mapping of errors to gRPC: status code, message, and metadata carrying
 * the ClawHub code, hint, retry-after and details (each bounded: metadata travels as headers).
 */
export function toGrpcError(error: ClawHubError): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  metadata.set("clawhub-code", error.code);
  if (error.hint) metadata.set("clawhub-hint", clip(error.hint, MAX_MESSAGE));
  const retryAfter = error.details?.retryAfterMs;
  if (typeof retryAfter === "number") metadata.set("retry-after-ms", String(retryAfter));
  if (error.details) metadata.set("clawhub-details-bin", Buffer.from(boundedJson(error.details)));
  if (error.failure)
    metadata.set(
      "clawhub-failure-bin",
      Buffer.from(
        JSON.stringify({
          ...error.failure,
          message: clip(error.failure.message, MAX_MESSAGE),
          details: error.failure.details
            ? JSON.parse(boundedJson(error.failure.details, 1024))
            : undefined,
        }),
      ),
    );
  return {
    code: STATUS[error.code] ?? grpc.status.INTERNAL,
    details: clip(error.message, MAX_MESSAGE),
    metadata,
  };
}

function first(metadata: grpc.Metadata | undefined, key: string): string | undefined {
  const value = metadata?.get(key)[0];
  return value === undefined ? undefined : String(value);
}

/** The client side's one mapping of a gRPC error back to a ClawHubError. */
export function fromGrpcError(error: unknown, what = "the hub"): ClawHubError {
  const e = error as Partial<grpc.ServiceError>;
  if (typeof e?.code !== "number") {
    return new ClawHubError("INTERNAL", String((error as Error)?.message ?? error), {
      cause: error,
    });
  }
  const metadata = e.metadata;
  const named = first(metadata, "clawhub-code");
  const hint = first(metadata, "clawhub-hint");
  let details: Record<string, unknown> | undefined;
  const rawDetails = metadata?.get("clawhub-details-bin")[0];
  if (rawDetails instanceof Buffer) {
    try {
      details = JSON.parse(rawDetails.toString("utf8")) as Record<string, unknown>;
    } catch {
      details = undefined;
    }
  }
  const retryAfter = first(metadata, "retry-after-ms");
  if (retryAfter) details = { ...details, retryAfterMs: Number(retryAfter) };
  let failure: TaskFailure | undefined;
  const rawFailure = metadata?.get("clawhub-failure-bin")[0];
  if (rawFailure instanceof Buffer) {
    try {
      failure = parseFailure(JSON.parse(rawFailure.toString("utf8")));
    } catch {
      failure = undefined;
    }
  }
  const message = e.details || e.message || "request failed";
  if (named && named in ERROR_CODES) {
    return new ClawHubError(named as ErrorCode, message, {
      cause: error,
      ...(hint ? { hint } : {}),
      ...(details ? { details } : {}),
      ...(failure ? { failure } : {}),
    });
  }
  const byStatus: Partial<Record<grpc.status, [ErrorCode, string | undefined]>> = {
    [grpc.status.UNAVAILABLE]: [
      "NETWORK_ERROR",
      `Is ${what} running? Start one with \`clawhub hub\` or pass --hub host:port.`,
    ],
    [grpc.status.DEADLINE_EXCEEDED]: ["DEADLINE_EXCEEDED", "Give the call a longer --timeout."],
    [grpc.status.CANCELLED]: ["CANCELLED", undefined],
    [grpc.status.RESOURCE_EXHAUSTED]: ["RESOURCE_EXHAUSTED", "Retry after a moment."],
    [grpc.status.UNIMPLEMENTED]: ["NETWORK_ERROR", `Is that address ${what}?`],
  };
  const [code, fallbackHint] = byStatus[e.code as grpc.status] ?? ["SERVER_ERROR", undefined];
  const finalHint = hint ?? fallbackHint;
  const cause = /\b(ECONNREFUSED|ENOTFOUND|ECONNRESET|ETIMEDOUT|EHOSTUNREACH)\b/.exec(message)?.[1];
  const text =
    e.code === grpc.status.UNAVAILABLE && cause
      ? `cannot reach ${what} (${cause})`
      : message.replace(/^\d+ [A-Z_]+: /, "");
  return new ClawHubError(code, text, {
    cause: error,
    ...(finalHint ? { hint: finalHint } : {}),
    ...(details ? { details } : {}),
  });
}
