import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { connect, type DetailedPeerCertificate as PeerCertificate } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { ClawHubError } from "../errors/index.ts";
import { caFingerprint, createKeyAndCsr, parseEnrollmentToken } from "../identity/index.ts";
import type { WireEnrollResponse } from "../wire/index.ts";
import { identityCall, identityClient } from "./identity-rpc.ts";
import type { ClientTls } from "./tls.ts";

/** What enrollment gives a process: its certificate and key, and what the hub attested. */
export interface EnrolledIdentity extends ClientTls {
  /** `spiffe://<trust domain>/<agent|caller>/<name>`. */
  identity: string;
  roles: string[];
  labels: Record<string, string>;
  /** When the certificate expires (ms since the epoch); renew before. */
  notAfter: number;
  trustDomain: string;
}

/** Options of {@link enroll}. */
export interface EnrollOptions {
  /** `host:port` of the hub. */
  hub: string;
  /** The one-time token `clawhub hub enroll` printed (`che_<secret>.<CA pin>`). */
  token: string;
  /** Gives up after this long (default 15 s). */
  timeoutMs?: number;
}

const splitAddress = (address: string) => {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address.trim());
  if (!m) throw new ClawHubError("USAGE", `not a host:port address: ${address}`);
  return { host: m[1] as string, port: Number(m[2]) };
};

/**
 * The hub's CA as the hub presents it in its TLS chain, accepted only when it is the CA the
 * token pins: a process that trusts nothing yet checks the hub before it sends its secret.
 */
async function pinnedCa(address: string, pin: string, timeoutMs: number): Promise<string> {
  const { host, port } = splitAddress(address);
  const chain = await new Promise<PeerCertificate>((resolve, reject) => {
    const socket = connect({
      host,
      port,
      // Not verified against system roots: the pin below is the check.
      rejectUnauthorized: false,
      ALPNProtocols: ["h2"],
      ...(isIP(host) ? {} : { servername: host }),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ClawHubError("NETWORK_ERROR", `no TLS answer from the hub at ${address}`));
    }, timeoutMs);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const peer = socket.getPeerCertificate(true);
      socket.end();
      resolve(peer);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(
        new ClawHubError(
          "NETWORK_ERROR",
          `cannot reach a TLS hub at ${address}: ${error.message}`,
          {
            cause: error,
            hint: "Is the hub running with --tls? A plaintext hub cannot enroll anyone.",
          },
        ),
      );
    });
  });
  const seen = new Set<PeerCertificate>();
  for (let cert: PeerCertificate | undefined = chain; cert && !seen.has(cert); ) {
    seen.add(cert);
    if (cert.raw) {
      const pem = new X509Certificate(cert.raw).toString();
      if (caFingerprint(pem) === pin) {
        const leaf = new X509Certificate(chain.raw);
        if (!leaf.verify(new X509Certificate(pem).publicKey))
          throw new ClawHubError(
            "UNAUTHENTICATED",
            `the hub at ${address} is not signed by its CA`,
          );
        return pem;
      }
    }
    cert = cert.issuerCertificate;
  }
  throw new ClawHubError(
    "UNAUTHENTICATED",
    `the hub at ${address} is not the hub that made this token (its CA does not match the token's pin)`,
    { hint: "Check --hub: the token names the CA of the hub that printed it." },
  );
}

/**
 * Exchanges a one-time enrollment token for a short-lived certificate: checks the hub against
 * the CA the token pins, makes a key here (it never leaves this process) and a CSR, and calls
 * IdentityService.Enroll over server-side TLS (no client certificate needed to enroll).
 */
export async function enroll(options: EnrollOptions): Promise<EnrolledIdentity> {
  const parsed = parseEnrollmentToken(options.token);
  if (!parsed)
    throw new ClawHubError("INVALID_ARGUMENT", "not an enrollment token (che_<secret>.<pin>)", {
      hint: "`clawhub hub enroll <name>` on the hub's machine prints one.",
    });
  const timeoutMs = options.timeoutMs ?? 15_000;
  const caPem = await pinnedCa(options.hub, parsed.pin, timeoutMs);
  const { keyPem, csrPem } = await createKeyAndCsr("enrolling");
  const credentials = grpc.credentials.createSsl(Buffer.from(caPem), null, null, {
    checkServerIdentity: (_host, cert) =>
      /URI:spiffe:\/\/[^/]+\/hub\//.test(cert.subjectaltname ?? "")
        ? undefined
        : new Error(`the server is not a hub (${cert.subjectaltname ?? "no names"})`),
  });
  const client = identityClient(options.hub, credentials);
  try {
    const res = await identityCall<WireEnrollResponse>(
      client,
      options.hub,
      "Enroll",
      { token: options.token.trim(), csrPem },
      timeoutMs,
    );
    return {
      caPem: res.caPem || caPem,
      certPem: res.certificatePem,
      keyPem,
      trustDomain: res.trustDomain,
      identity: res.identity,
      roles: res.roles,
      labels: res.labels,
      notAfter: res.notAfterUnixMs,
    };
  } finally {
    client.close();
  }
}
