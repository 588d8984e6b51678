/**
 * Digests the registry computed itself while a file's bytes streamed in (the multipart reader
 * hashes each 64 KiB chunk as it arrives), so a publish does not hash 45 MiB again in large
 * slices that hold the event loop. Kept beside the buffer, never taken from a client: only
 * registry code can vouch for them.
 */
export interface KnownDigests {
  /** Lowercase hex. */
  sha256: string;
  crc32: number;
}

const known = new WeakMap<Uint8Array, KnownDigests>();

/** Records what `bytes` hash to (the caller computed it from exactly these bytes). */
export function rememberDigests(bytes: Uint8Array, digests: KnownDigests): void {
  known.set(bytes, digests);
}

/** What {@link rememberDigests} recorded for these bytes, if anything. */
export function knownDigests(bytes: Uint8Array): KnownDigests | undefined {
  return known.get(bytes);
}
