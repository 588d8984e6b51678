import { createHash } from "node:crypto";
import type { RegistryClient } from "../client/index.ts";
import { ClawHubError } from "../errors/index.ts";
import { integrityOf } from "../skill/index.ts";
import type { createArchiveCache } from "./cache.ts";

/** A verified archive: its bytes, digests, and whether it came from the cache. */
export interface FetchedArchive {
  bytes: Buffer;
  cached: boolean;
  /** sha512 SRI (what the registry declares and our lockfile records). */
  integrity: string;
  sha256: string;
}

/**
 * Gets a version's archive from the cache or the registry and checks it against what the
 * registry declares (and, given one, the integrity a lockfile recorded): nothing that fails
 * reaches the disk.
 */
export async function fetchArchive(options: {
  client: RegistryClient;
  cache: ReturnType<typeof createArchiveCache>;
  slug: string;
  owner: string;
  version: string;
  /** What the lockfile recorded for this version: the archive must match it. */
  expected?: { integrity?: string | undefined; sha256?: string | undefined } | undefined;
}): Promise<FetchedArchive> {
  const { client, cache, slug, owner, version } = options;
  const name = `${owner ? `@${owner}/` : ""}${slug}@${version}`;
  let bytes = await cache.get(client.registry, owner, slug, version);
  const cached = bytes !== undefined;
  if (!bytes) {
    const got = await client.download(slug, { version, ...(owner ? { ownerHandle: owner } : {}) });
    const integrity = integrityOf(got.bytes);
    if (got.integrity && got.integrity !== integrity)
      throw new ClawHubError(
        "INTEGRITY_MISMATCH",
        `the archive of ${name} does not match the integrity the registry declared`,
        {
          details: { expected: got.integrity, actual: integrity },
          hint: "Nothing was installed. The download was corrupted or tampered with; try again.",
        },
      );
    if (got.sha256 && got.sha256 !== createHash("sha256").update(got.bytes).digest("hex"))
      throw new ClawHubError(
        "INTEGRITY_MISMATCH",
        `the archive of ${name} does not match its declared sha256`,
      );
    bytes = got.bytes;
  }
  const integrity = integrityOf(bytes);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const want = options.expected;
  if (
    (want?.integrity !== undefined && want.integrity !== integrity) ||
    (want?.sha256 !== undefined && want.sha256 !== sha256)
  )
    throw new ClawHubError(
      "INTEGRITY_MISMATCH",
      `${name} is not what the lockfile recorded: the registry now serves other bytes for this version`,
      {
        details: { expected: want, actual: { integrity, sha256 } },
        hint: "Nothing was installed. A published version never changes: ask the registry's operator, or remove the lock entry to accept the new bytes.",
      },
    );
  if (!cached) await cache.put(client.registry, owner, slug, version, bytes);
  return {
    bytes,
    cached,
    integrity,
    sha256,
  };
}
