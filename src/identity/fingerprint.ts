import { createHash, X509Certificate } from "node:crypto";

/** sha256 (base64url) of a certificate's DER: what an enrollment token pins for the CA. */
export function caFingerprint(certificatePem: string | Buffer): string {
  return createHash("sha256").update(new X509Certificate(certificatePem).raw).digest("base64url");
}

/** sha256 (base64url) of a public key's SPKI DER: stable across a renewal that keeps the key. */
export function spkiId(der: Buffer): string {
  return createHash("sha256").update(der).digest("base64url");
}
