/**
 * The hub's certificate authority: an ECDSA P-256 key and a self-signed CA certificate, created
 * on first start in the hub's data directory (key file 0600) or imported from files. It issues
 * short-lived leaf certificates whose only name is a SPIFFE URI SAN, for keys that were
 * generated where they are used: the CA signs a CSR, it never sees a private key but its own.
 */
import { type KeyObject, randomBytes, X509Certificate } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ClawHubError } from "../errors/index.ts";
import { writePrivateFile } from "../schema/index.ts";
import { caFingerprint, spkiId } from "./fingerprint.ts";
import { checkTrustDomain, parseSpiffeId, type SpiffeId } from "./spiffe.ts";
import { x509 } from "./x509.ts";

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
/** Leaf certificates live at most a day: identities are short-lived by design. */
export const MAX_LEAF_TTL_MS = 86_400_000;
/**
 * The extension that carries what enrollment attested (roles, labels, issue time), signed by the
 * CA with the rest of the certificate: a hub node, or a restarted hub, reads a peer's roles and
 * labels from the certificate itself, never from what the peer says. OID under 2.25 (ITU-T
 * X.667), the first 32 bits of a random UUID: @peculiar/x509 writes arcs only up to 2^32 (a full 128-bit UUID arc
 * was written as plain `2.25`, and read back as nothing, so certificates carried no roles). The
 * extension is not critical and only this CA writes and reads it.
 */
export const ATTESTATION_OID = "2.25.2620467701";

/** What a certificate attests beyond its name. */
export interface CertificateAttestation {
  roles: string[];
  labels: Record<string, string>;
  /**
   * Capability name patterns (`echo`, `payments.*`, `text.>`) an agent may serve; empty: any
   * (the enrollment named none).
   */
  capabilities: string[];
  /** When the CA issued it: a revocation refuses certificates issued before it. */
  issuedAt: number;
}

/** A certificate issued to an identity. */
export interface IssuedCertificate {
  certificatePem: string;
  serial: string;
  identity: SpiffeId;
  notBefore: number;
  notAfter: number;
}

/** A verified peer certificate. */
export interface VerifiedCertificate extends CertificateAttestation {
  identity: SpiffeId;
  serial: string;
  notBefore: number;
  notAfter: number;
  publicKey: KeyObject;
  /** sha256 (base64url) of the certificate's public key (SPKI DER): stable across renewals. */
  keyId: string;
}

/** The hub CA. */
export interface CertificateAuthority {
  readonly trustDomain: string;
  /** The CA certificate (what peers trust). */
  readonly certificatePem: string;
  /** sha256 (base64url) of the CA certificate's DER: what an enrollment token pins. */
  readonly fingerprint: string;
  /**
   * Signs a CSR for `identity`: the CSR's own names are ignored, the identity is the CA's.
   * `sameKeyAs` (a renewal) requires the CSR's key to be that key id.
   */
  issue(options: {
    csrPem: string;
    identity: SpiffeId;
    ttlMs: number;
    roles?: string[];
    labels?: Record<string, string>;
    capabilities?: string[];
    sameKeyAs?: string;
  }): Promise<IssuedCertificate>;
  /**
   * Checks a peer certificate: issued by this CA, in its validity window (unless
   * `allowExpired`: the caller then decides, e.g. for a renewed key), naming an identity.
   */
  verify(certificatePem: string, options?: { allowExpired?: boolean }): VerifiedCertificate;
}

/** Options of {@link openCertificateAuthority}. */
export interface CaOptions {
  /** Where `ca.crt.pem` and `ca.key.pem` live (created when missing). */
  dir: string;
  trustDomain?: string;
  now?: () => number;
  /** Validity of a newly created CA certificate (default ten years). */
  validityMs?: number;
}

/**
 * Opens the CA in `dir`, creating it on first use. A CA created for another trust domain is
 * refused rather than silently reused.
 */
export async function openCertificateAuthority(options: CaOptions): Promise<CertificateAuthority> {
  const now = options.now ?? Date.now;
  const trustDomain = checkTrustDomain(options.trustDomain ?? "clawhub.local");
  const certPath = join(options.dir, "ca.crt.pem");
  const keyPath = join(options.dir, "ca.key.pem");
  let certificatePem: string;
  let signingKey: import("node:crypto").webcrypto.CryptoKey;
  const existing = await readFile(certPath, "utf8").catch(() => undefined);
  if (existing !== undefined) {
    certificatePem = existing.trim();
    const keyPem = await readFile(keyPath, "utf8").catch(() => {
      throw new ClawHubError(
        "CONFIG_INVALID",
        `${certPath} exists but its key ${keyPath} does not`,
      );
    });
    signingKey = await crypto.subtle.importKey("pkcs8", pemBody(keyPem), ALG, false, ["sign"]);
  } else {
    const keys = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=ClawHub hub CA, O=${trustDomain}`,
      notBefore: new Date(now() - 60_000),
      notAfter: new Date(now() + (options.validityMs ?? 10 * 365 * 86_400_000)),
      signingAlgorithm: ALG,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
        new x509.SubjectAlternativeNameExtension([
          { type: "url", value: `spiffe://${trustDomain}` },
        ]),
      ],
    });
    certificatePem = cert.toString("pem").trim();
    const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    await writePrivateFile(keyPath, toPem(pkcs8, "PRIVATE KEY"));
    await writePrivateFile(certPath, `${certificatePem}\n`);
    signingKey = keys.privateKey;
  }
  const caCert = new X509Certificate(certificatePem);
  const caDomain = /URI:spiffe:\/\/([^,\s]+)/.exec(caCert.subjectAltName ?? "")?.[1];
  if (caDomain !== trustDomain)
    throw new ClawHubError(
      "CONFIG_INVALID",
      `the CA in ${options.dir} is for trust domain ${caDomain ?? "(none)"}, not ${trustDomain}`,
      { hint: "Use its trust domain (--trust-domain), or another data directory." },
    );

  return {
    trustDomain,
    certificatePem,
    fingerprint: caFingerprint(certificatePem),
    async issue({
      csrPem,
      identity,
      ttlMs,
      roles = [],
      labels = {},
      capabilities = [],
      sameKeyAs,
    }) {
      if (identity.trustDomain !== trustDomain)
        throw new ClawHubError("INVALID_ARGUMENT", `${identity.uri} is not in ${trustDomain}`);
      if (!(ttlMs > 0 && ttlMs <= MAX_LEAF_TTL_MS))
        throw new ClawHubError("INVALID_ARGUMENT", `certificate lifetime must be 1 ms to 24 h`);
      let csr: InstanceType<typeof x509.Pkcs10CertificateRequest>;
      try {
        csr = new x509.Pkcs10CertificateRequest(csrPem);
      } catch {
        throw new ClawHubError("INVALID_ARGUMENT", "not a PEM certificate request (PKCS#10)");
      }
      // Proof of possession: the CSR is signed by the key it asks a certificate for.
      if (!(await csr.verify()))
        throw new ClawHubError("UNAUTHENTICATED", "the certificate request's signature is invalid");
      if (sameKeyAs !== undefined && spkiId(Buffer.from(csr.publicKey.rawData)) !== sameKeyAs)
        throw new ClawHubError(
          "INVALID_ARGUMENT",
          "a renewal keeps the key: the request must be signed by the current certificate's key",
        );
      const issuedAt = now();
      const notBefore = now() - 30_000;
      const notAfter = now() + ttlMs;
      const sn = serial();
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: sn,
        subject: `CN=${identity.name}`,
        issuer: caCert.subject.replace(/\n/g, ", "),
        notBefore: new Date(notBefore),
        notAfter: new Date(notAfter),
        signingAlgorithm: ALG,
        publicKey: csr.publicKey,
        signingKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([CLIENT_AUTH, SERVER_AUTH]),
          new x509.SubjectAlternativeNameExtension([{ type: "url", value: identity.uri }], true),
          new x509.Extension(
            ATTESTATION_OID,
            false,
            derUtf8(
              JSON.stringify({
                roles,
                labels,
                issuedAt,
                ...(capabilities.length > 0 ? { capabilities } : {}),
              }),
            ),
          ),
        ],
      });
      return { certificatePem: cert.toString("pem"), serial: sn, identity, notBefore, notAfter };
    },
    verify(pem, verifyOptions = {}) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(pem);
      } catch {
        throw new ClawHubError("UNAUTHENTICATED", "not a PEM certificate");
      }
      if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey))
        throw new ClawHubError("UNAUTHENTICATED", "certificate not issued by this hub's CA");
      const t = now();
      if (
        t < Date.parse(cert.validFrom) ||
        (t > Date.parse(cert.validTo) && !verifyOptions.allowExpired)
      )
        throw new ClawHubError(
          "UNAUTHENTICATED",
          `certificate expired or not yet valid (until ${cert.validTo})`,
        );
      const uri = /URI:(spiffe:\/\/[^,\s]+)/.exec(cert.subjectAltName ?? "")?.[1];
      if (!uri) throw new ClawHubError("UNAUTHENTICATED", "certificate names no identity");
      const identity = parseSpiffeId(uri);
      if (identity.trustDomain !== trustDomain)
        throw new ClawHubError("UNAUTHENTICATED", `${uri} is not in ${trustDomain}`);
      return {
        identity,
        ...attestationOf(pem),
        serial: cert.serialNumber.toLowerCase(),
        notBefore: Date.parse(cert.validFrom),
        notAfter: Date.parse(cert.validTo),
        publicKey: cert.publicKey,
        keyId: spkiId(cert.publicKey.export({ type: "spki", format: "der" })),
      };
    },
  };
}

/**
 * A key pair and a CSR, made where the key is used (an agent, the CLI): only the CSR leaves.
 * ECDSA P-256, the key as PKCS#8 PEM for TLS. With `keyPem`, a CSR for that key (renewal).
 */
export async function createKeyAndCsr(
  name: string,
  keyPem?: string,
): Promise<{ keyPem: string; csrPem: string }> {
  type Key = import("node:crypto").webcrypto.CryptoKey;
  let keys: { privateKey: Key; publicKey: Key };
  if (keyPem) {
    const privateKey = await crypto.subtle.importKey("pkcs8", pemBody(keyPem), ALG, true, ["sign"]);
    // WebCrypto derives no public key from a private one: go through its JWK (x, y are public).
    const { d: _d, ...jwk } = await crypto.subtle.exportKey("jwk", privateKey);
    const publicKey = await crypto.subtle.importKey(
      "jwk",
      { ...jwk, key_ops: ["verify"] },
      ALG,
      true,
      ["verify"],
    );
    keys = { privateKey, publicKey };
  } else keys = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${name.replace(/[,=+<>#;"\\]/g, "_")}`,
    keys,
    signingAlgorithm: ALG,
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { keyPem: toPem(pkcs8, "PRIVATE KEY"), csrPem: csr.toString("pem") };
}

/** The attestation a CA-verified certificate carries (none: no roles, no labels). */
function attestationOf(pem: string): CertificateAttestation {
  const ext = new x509.X509Certificate(pem).getExtension(ATTESTATION_OID);
  if (!ext) return { roles: [], labels: {}, capabilities: [], issuedAt: 0 };
  const parsed = JSON.parse(fromDerUtf8(Buffer.from(ext.value))) as Partial<CertificateAttestation>;
  return {
    roles: Array.isArray(parsed.roles) ? parsed.roles.map(String) : [],
    labels:
      parsed.labels && typeof parsed.labels === "object"
        ? Object.fromEntries(Object.entries(parsed.labels).map(([k, v]) => [k, String(v)]))
        : {},
    capabilities: Array.isArray(parsed.capabilities) ? parsed.capabilities.map(String) : [],
    issuedAt: typeof parsed.issuedAt === "number" ? parsed.issuedAt : 0,
  };
}

/** A DER UTF8String (tag 12): the extension's value is a proper ASN.1 value, not raw bytes. */
function derUtf8(text: string): ArrayBuffer {
  const body = Buffer.from(text, "utf8");
  const n = body.length;
  const len =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : Buffer.from([0x82, n >> 8, n & 0xff]);
  const out = Buffer.concat([Buffer.from([0x0c]), len, body]);
  return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength) as ArrayBuffer;
}

function fromDerUtf8(der: Buffer): string {
  if (der[0] !== 0x0c) throw new ClawHubError("UNAUTHENTICATED", "malformed attestation");
  const first = der[1] ?? 0;
  const [len, start] =
    first < 0x80
      ? [first, 2]
      : first === 0x81
        ? [der[2] ?? 0, 3]
        : [((der[2] ?? 0) << 8) | (der[3] ?? 0), 4];
  return der.subarray(start, start + len).toString("utf8");
}

/** A positive 128-bit serial number, hex (RFC 5280: at most 20 octets, unpredictable). */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f;
  return bytes.toString("hex");
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${b64.trimEnd()}\n-----END ${label}-----\n`;
}

function pemBody(pem: string): ArrayBuffer {
  const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  const buf = Buffer.from(b64, "base64");
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}
