import { X509Certificate } from "node:crypto";
import { createKeyAndCsr } from "../identity/index.ts";
import type { WireEnrollResponse } from "../wire/index.ts";
import { identityCall, identityClient } from "./identity-rpc.ts";
import { type ClientTls, channelCredentials } from "./tls.ts";

/** When a certificate expires, in ms since the epoch. */
const notAfterOf = (certPem: string) => Date.parse(new X509Certificate(certPem).validTo);

/**
 * Keeps a process's certificate valid: at two thirds of its life it asks the hub for a new one
 * for the same key (IdentityService.Renew over the current mutual-TLS connection), and stores it
 * in `tls` (so channels made from then on present it). Streams already open stay as they are:
 * the hub accepts a connection whose certificate was renewed for the same key, so nothing in
 * flight is dropped. A failed renewal is retried every tenth of the time left, until it expires.
 */
export function keepRenewed(
  hub: string | readonly string[],
  tls: ClientTls,
  options: {
    log?: (line: string) => void;
    onRenewed?: (notAfter: number) => void;
    now?: () => number;
  } = {},
): { stop(): void } {
  const now = options.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(renew, Math.max(200, delay));
    timer.unref();
  };
  // Two thirds of the time left: for a certificate just issued that is two thirds of its life
  // (its notBefore is backdated for clock skew, so it does not tell when it was issued).
  const nextFor = (certPem: string) => ((notAfterOf(certPem) - now()) * 2) / 3;
  // Every hub of a cluster can renew: a renewal tries each in turn, starting with the one that
  // answered last, so one hub down does not let the certificate run out.
  const hubs = typeof hub === "string" ? [hub] : [...hub];
  let preferred = 0;
  const renewFromAny = async () => {
    let lastError: unknown;
    for (let k = 0; k < hubs.length; k++) {
      const i = (preferred + k) % hubs.length;
      try {
        const renewed = await renewCertificate(hubs[i] as string, tls);
        preferred = i;
        return renewed;
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  };
  async function renew() {
    const notAfter = notAfterOf(tls.certPem);
    try {
      const renewed = await renewFromAny();
      tls.certPem = renewed.certPem;
      options.onRenewed?.(renewed.notAfter);
      schedule(nextFor(renewed.certPem));
    } catch (error) {
      const left = notAfter - now();
      options.log?.(
        `certificate renewal failed (${(error as Error).message}); ${left > 0 ? `retrying, it expires in ${Math.round(left / 1000)} s` : "it has expired: enroll again"}`,
      );
      if (left > 0) schedule(left / 10);
    }
  }
  schedule(nextFor(tls.certPem));
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

/**
 * A new certificate for the same identity and key, from the hub (IdentityService.Renew, over
 * mutual TLS with the current certificate). The key never changes, so connections already open
 * with the old certificate stay valid.
 */
export async function renewCertificate(
  hub: string,
  tls: ClientTls,
): Promise<{ certPem: string; notAfter: number }> {
  const client = identityClient(hub, channelCredentials(tls));
  try {
    const { csrPem } = await createKeyAndCsr("renewal", tls.keyPem);
    const res = await identityCall<WireEnrollResponse>(client, hub, "Renew", { csrPem }, 15_000);
    return { certPem: res.certificatePem, notAfter: res.notAfterUnixMs };
  } finally {
    client.close();
  }
}
