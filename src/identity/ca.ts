/**
 * The hub's certificate authority: an ECDSA P-256 key and a self-signed CA certificate, created
 * on first start in the hub's data directory (key file 0600) or imported from files. It issues
 * short-lived leaf certificates whose only name is a SPIFFE URI SAN, for keys that were
 * generated where they are used: the CA signs a CSR, it never sees a private key but its own.
 */
import { randomBytes, X509Certificate } from "node:crypto";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ClawHubError } from "../errors/index.ts";
import { checkTrustDomain, parseSpiffeId, type SpiffeId } from "./spiffe.ts";
import { x509 } from "./x509.ts";

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
/** Leaf certificates live at most a day: identities are short-lived by design. */
export const MAX_LEAF_TTL_MS = 86_400_000;

/** A certificate issued to an identity. */
export interface IssuedCertificate {
  certificatePem: string;
  serial: string;
  identity: SpiffeId;
  notBefore: number;
  notAfter: number;
}

/** A verified peer certificate. */
export interface VerifiedCertificate {
  identity: SpiffeId;
  serial: string;
  notAfter: number;
}

/** The hub CA. */
export interface CertificateAuthority {
  readonly trustDomain: string;
  /** The CA certificate (what peers trust). */
  readonly certificatePem: string;
  /** Signs a CSR for `identity`: the CSR's own names are ignored, the identity is the CA's. */
  issue(options: { csrPem: string; identity: SpiffeId; ttlMs: number }): Promise<IssuedCertificate>;
  /** Checks a peer certificate: issued by this CA, in its validity window, naming an identity. */
  verify(certificatePem: string): VerifiedCertificate;
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
    await writeAtomic(keyPath, toPem(pkcs8, "PRIVATE KEY"), 0o600);
    await writeAtomic(certPath, `${certificatePem}\n`, 0o644);
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
    async issue({ csrPem, identity, ttlMs }) {
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
        ],
      });
      return { certificatePem: cert.toString("pem"), serial: sn, identity, notBefore, notAfter };
    },
    verify(pem) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(pem);
      } catch {
        throw new ClawHubError("UNAUTHENTICATED", "not a PEM certificate");
      }
      if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey))
        throw new ClawHubError("UNAUTHENTICATED", "certificate not issued by this hub's CA");
      const t = now();
      if (t < Date.parse(cert.validFrom) || t > Date.parse(cert.validTo))
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
        serial: cert.serialNumber.toLowerCase(),
        notAfter: Date.parse(cert.validTo),
      };
    },
  };
}

/**
 * A key pair and a CSR, made where the key is used (an agent, the CLI): only the CSR leaves.
 * ECDSA P-256, the key as PKCS#8 PEM for TLS.
 */
export async function createKeyAndCsr(name: string): Promise<{ keyPem: string; csrPem: string }> {
  const keys = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${name.replace(/[,=+<>#;"\\]/g, "_")}`,
    keys,
    signingAlgorithm: ALG,
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { keyPem: toPem(pkcs8, "PRIVATE KEY"), csrPem: csr.toString("pem") };
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

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}
