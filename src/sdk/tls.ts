import { createPrivateKey } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { newNonce, signFields } from "../identity/index.ts";
import { CHANNEL_OPTIONS, type SignedRequestFields, type WireSignature } from "../wire/index.ts";

/**
 * What an agent or caller needs for a hub with mutual TLS: the hub CA's certificate, and its
 * own certificate and key (from enrollment; the key never leaves this process).
 */
export interface ClientTls {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** The hub's trust domain (default `clawhub.local`): the hub must be `spiffe://<it>/hub/...`. */
  trustDomain?: string;
}

/**
 * gRPC channel credentials: insecure without `tls`; with it, the hub's certificate must chain
 * to the CA and name a hub identity of the trust domain (checked instead of a DNS name, since
 * hubs are found by address).
 */
export function channelCredentials(tls?: ClientTls): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  const prefix = `URI:spiffe://${tls.trustDomain ?? "clawhub.local"}/hub/`;
  return grpc.credentials.createSsl(
    Buffer.from(tls.caPem),
    Buffer.from(tls.keyPem),
    Buffer.from(tls.certPem),
    {
      checkServerIdentity: (_host, cert) =>
        (cert.subjectaltname ?? "").split(/,\s*/).some((n) => n.startsWith(prefix))
          ? undefined
          : new Error(
              `the server is not a hub of ${tls.trustDomain ?? "clawhub.local"} (${cert.subjectaltname ?? "no names"})`,
            ),
    },
  );
}

/**
 * Channel options for a hub, secured or not. With TLS the name sent in SNI is fixed: hubs are
 * reached by address, and Node warns (DEP0123) when SNI carries an IP; the hub's identity is
 * checked from its certificate's SPIFFE name instead (see {@link channelCredentials}).
 */
export function channelOptions(secure: boolean): grpc.ChannelOptions {
  return secure ? { ...CHANNEL_OPTIONS, "grpc.ssl_target_name_override": "hub" } : CHANNEL_OPTIONS;
}

/**
 * Signs what a process sends to a secured hub (calls, task results) with the key of its
 * certificate: the fields given (their time and nonce are filled in here) as identity/signing.ts
 * defines it. The hub checks it against the connection's certificate and refuses a replay.
 */
export function createSigner(keyPem: string, now: () => number = Date.now) {
  const key = createPrivateKey(keyPem);
  return {
    sign(fields: SignedRequestFields): WireSignature {
      const signed = { ...fields, time: now(), nonce: newNonce() };
      return {
        timeUnixMs: signed.time,
        nonce: signed.nonce,
        signature: Buffer.from(signFields(key, signed), "base64"),
      };
    },
  };
}
