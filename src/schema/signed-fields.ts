/**
 * What a sender's signature covers (identity/signing.ts signs and verifies it; wire/digest.ts
 * builds it for calls and task results): one shape for both sides.
 */
export interface SignedFields {
  method: string;
  capability?: string | undefined;
  /** sha256 hex of the input (a call) or the output (a result). */
  digest: string;
  idempotencyKey?: string | undefined;
  /** Epoch milliseconds when it was signed. */
  time: number;
  /** 16 random bytes, base64url: no two requests share one. */
  nonce: string;
}
