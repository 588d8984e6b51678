/**
 * Identities for the hub: the certificate authority, SPIFFE-style names, keys and CSRs made
 * where they are used, one-time enrollment, and request signatures. See docs/security.md.
 *
 * The X.509 machinery (@peculiar/x509) is loaded on first use: an SDK caller that only signs
 * requests, or `clawhub agents`, never pays for it at start-up.
 */
import type { CaOptions, CertificateAuthority } from "./ca.ts";

export type {
  CaOptions,
  CertificateAttestation,
  CertificateAuthority,
  IssuedCertificate,
  VerifiedCertificate,
} from "./ca.ts";
export {
  type Attestation,
  createEnrollment,
  createMemoryEnrollmentStore,
  type EnrollmentRecord,
  type EnrollmentStore,
  parseEnrollmentToken,
} from "./enrollment.ts";
export { caFingerprint, spkiId } from "./fingerprint.ts";
export {
  createReplayGuard,
  newNonce,
  type SignedFields,
  signFields,
  verifySignedFields,
  verifySignedFieldsAsync,
} from "./signing.ts";
export {
  checkTrustDomain,
  type IdentityKind,
  parseSpiffeId,
  type SpiffeId,
  spiffeId,
} from "./spiffe.ts";

/** Leaf certificates live at most a day: identities are short-lived by design. */
export const MAX_LEAF_TTL_MS = 86_400_000;

/** Opens (or creates) the hub CA in a directory; see ca.ts. */
export async function openCertificateAuthority(options: CaOptions): Promise<CertificateAuthority> {
  return (await import("./ca.ts")).openCertificateAuthority(options);
}

/**
 * A key pair and a CSR made where the key is used; `keyPem` given: a CSR for that key (a
 * renewal keeps the key, so open streams stay valid).
 */
export async function createKeyAndCsr(
  name: string,
  keyPem?: string,
): Promise<{ keyPem: string; csrPem: string }> {
  return (await import("./ca.ts")).createKeyAndCsr(name, keyPem);
}
