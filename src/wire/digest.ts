import { createHash } from "node:crypto";
import type { SignedFields } from "../schema/index.ts";
import type { WirePayload } from "./payload.ts";

/**
 * sha256 hex of a payload as it travels (its JSON bytes, then each tensor's dtype, shape, scale
 * and data, length-prefixed): what a signature and an audit entry name instead of the data.
 */
export function payloadDigest(payload: WirePayload | null | undefined): string {
  const h = createHash("sha256");
  const json = payload?.json ?? new Uint8Array();
  h.update(String(json.length)).update(":").update(json);
  for (const t of payload?.tensors ?? []) {
    h.update(`|${String(t.dtype)}:${t.shape.join("x")}:${t.scale}:${t.data.length}:`).update(
      t.data,
    );
  }
  return h.digest("hex");
}

/**
 * What a task result's signature covers: the output's digest, or for a failure the digest of
 * its type, message and retryability (the failure is what the caller will act on).
 */
export function resultDigest(result: {
  output?: WirePayload | null | undefined;
  failure?: { type: string; message: string; nonRetryable: boolean } | null | undefined;
}): string {
  if (result.failure)
    return createHash("sha256")
      .update(
        JSON.stringify([
          "failure",
          result.failure.type,
          result.failure.message,
          Boolean(result.failure.nonRetryable),
        ]),
      )
      .digest("hex");
  return payloadDigest(result.output);
}

/** What a sender's signature covers (schema's SignedFields; identity/signing.ts signs it). */
export type SignedRequestFields = SignedFields;

/** The fields of a call's signature: the capability (or `query:<need>`) and the input's digest. */
export function callSignedFields(
  req: {
    capability: string;
    query: string;
    input: WirePayload | null;
    idempotencyKey: string;
  },
  signature: { timeUnixMs: number; nonce: string } | null | undefined,
): SignedRequestFields {
  return {
    method: "call",
    capability: req.capability || `query:${req.query}`,
    digest: payloadDigest(req.input),
    idempotencyKey: req.idempotencyKey || undefined,
    time: signature?.timeUnixMs ?? 0,
    nonce: signature?.nonce ?? "",
  };
}

/** The fields of a task result's signature: the task id and the digest of what it reports. */
export function resultSignedFields(
  result: Parameters<typeof resultDigest>[0] & { taskId: string },
  signature: { timeUnixMs: number; nonce: string } | null | undefined,
): SignedRequestFields {
  return {
    method: "result",
    digest: resultDigest(result),
    idempotencyKey: result.taskId,
    time: signature?.timeUnixMs ?? 0,
    nonce: signature?.nonce ?? "",
  };
}
