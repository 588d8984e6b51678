/**
 * Identities for the hub: the certificate authority, SPIFFE-style names, keys and CSRs made
 * where they are used, and one-time enrollment. (The hub's mTLS listeners, request signatures
 * and revocation build on this; see docs/security.md once they land.)
 */
export {
  type CaOptions,
  type CertificateAuthority,
  createKeyAndCsr,
  type IssuedCertificate,
  MAX_LEAF_TTL_MS,
  openCertificateAuthority,
  type VerifiedCertificate,
} from "./ca.ts";
export {
  type Attestation,
  createEnrollment,
  createMemoryEnrollmentStore,
  type EnrollmentRecord,
  type EnrollmentStore,
} from "./enrollment.ts";
export {
  createReplayGuard,
  newNonce,
  type SignedFields,
  signFields,
  verifySignedFields,
} from "./signing.ts";
export {
  checkTrustDomain,
  type IdentityKind,
  parseSpiffeId,
  type SpiffeId,
  spiffeId,
} from "./spiffe.ts";
