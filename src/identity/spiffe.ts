import { ClawHubError } from "../errors/index.ts";

/** What an identity is: an agent serving capabilities, a caller using them, or a hub node. */
export type IdentityKind = "agent" | "caller" | "hub";

/** A SPIFFE-style identity: `spiffe://<trust domain>/<kind>/<name>`. */
export interface SpiffeId {
  trustDomain: string;
  kind: IdentityKind;
  name: string;
  uri: string;
}

const DOMAIN = /^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/;
const NAME = /^[a-z0-9](?:[a-z0-9._-]{0,126}[a-z0-9])?$/;
const KINDS: readonly IdentityKind[] = ["agent", "caller", "hub"];

/** Checks a trust domain name (lowercase DNS-like, as SPIFFE requires). */
export function checkTrustDomain(domain: string): string {
  if (!DOMAIN.test(domain) || domain.includes(".."))
    throw new ClawHubError(
      "INVALID_ARGUMENT",
      `invalid trust domain ${JSON.stringify(domain.slice(0, 80))}: lowercase letters, digits, dots and hyphens`,
    );
  return domain;
}

/** Builds an identity, validating every part. */
export function spiffeId(trustDomain: string, kind: IdentityKind, name: string): SpiffeId {
  checkTrustDomain(trustDomain);
  if (!KINDS.includes(kind))
    throw new ClawHubError("INVALID_ARGUMENT", `identity kind must be ${KINDS.join(", ")}`);
  if (!NAME.test(name))
    throw new ClawHubError(
      "INVALID_ARGUMENT",
      `invalid identity name ${JSON.stringify(name.slice(0, 80))}: 1-128 of a-z, 0-9, '.', '_' and '-'`,
    );
  return { trustDomain, kind, name, uri: `spiffe://${trustDomain}/${kind}/${name}` };
}

/** Parses `spiffe://domain/kind/name`; anything else is refused (UNAUTHENTICATED). */
export function parseSpiffeId(uri: string): SpiffeId {
  const m = /^spiffe:\/\/([^/]+)\/([a-z]+)\/([^/]+)$/.exec(uri);
  if (!m) throw new ClawHubError("UNAUTHENTICATED", `not a ClawHub identity: ${uri.slice(0, 120)}`);
  try {
    return spiffeId(m[1] as string, m[2] as IdentityKind, m[3] as string);
  } catch (error) {
    throw new ClawHubError(
      "UNAUTHENTICATED",
      `not a ClawHub identity: ${(error as Error).message}`,
    );
  }
}
