import { createHash } from "node:crypto";

/** A file's path (POSIX, relative to the skill folder) and the sha256 of its content. */
export interface FileHash {
  path: string;
  sha256: string;
  size: number;
}

/** Lowercase hex sha256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Bytes hashed per turn of the event loop by the async digests (~2 ms of SHA-256). */
const SLICE = 1024 * 1024;

/**
 * A digest of large bytes computed a slice per turn of the event loop: a server hashing a
 * 45 MiB publish (about 100 ms of SHA-256 and as much of SHA-512) keeps answering others.
 */
export async function digestInSlices(
  algorithm: "sha256" | "sha512",
  bytes: Uint8Array,
  encoding: "hex" | "base64",
): Promise<string> {
  const hash = createHash(algorithm);
  for (let at = 0; at < bytes.byteLength; at += SLICE) {
    if (at > 0) await new Promise((r) => setImmediate(r));
    hash.update(bytes.subarray(at, at + SLICE));
  }
  return hash.digest(encoding);
}

/** Subresource-integrity string (`sha512-<base64>`) of `bytes`, as npm and ClawHub use. */
export function integrityOf(bytes: Uint8Array): string {
  return `sha512-${createHash("sha512").update(bytes).digest("base64")}`;
}

/** The hex sha512 digest an integrity string (`sha512-<base64>`) names; undefined for another form. */
export function sha512HexOf(integrity: string): string | undefined {
  return integrity.startsWith("sha512-")
    ? Buffer.from(integrity.slice(7), "base64").toString("hex")
    : undefined;
}

// The official clawhub CLI sorts with String#localeCompare. A fixed locale keeps our result
// independent of the user's LANG; code-point order breaks the ties collation leaves.
const collator = new Intl.Collator("en");

/** Compares paths the way the ClawHub fingerprint orders them. */
export function compareFingerprintPaths(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The ClawHub file-set fingerprint: sha256 over the lines `path:sha256(content)`, sorted by path
 * as the official CLI sorts them, joined by "\n" (no trailing newline). A registry maps a local
 * folder to a published version with it (`/api/v1/resolve?hash=`).
 */
export function fingerprintOf(files: ReadonlyArray<Pick<FileHash, "path" | "sha256">>): string {
  const lines = files
    .filter((f) => f.path !== "" && f.sha256 !== "")
    .map((f) => ({ path: f.path, sha256: f.sha256 }))
    .sort((a, b) => compareFingerprintPaths(a.path, b.path))
    .map((f) => `${f.path}:${f.sha256}`);
  return sha256Hex(lines.join("\n"));
}
