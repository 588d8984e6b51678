import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { ClawHubError } from "../../errors/index.ts";

/** Content-addressed storage: bytes are stored once, under their sha256. */
export interface BlobStore {
  /**
   * Stores bytes and returns their sha256. Idempotent. With `expected`, bytes of another hash
   * are refused (INTEGRITY_MISMATCH) before anything is written.
   */
  put(bytes: Uint8Array, expected?: string): Promise<string>;
  get(sha256: string): Promise<Buffer>;
  has(sha256: string): Promise<boolean>;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Blobs as files under `dir/ab/cdef…`. A blob is written to a temporary name, fsynced and
 * renamed, so a reader (or a crash) never sees a partial blob under its final name. Replicas
 * that share a database must share this directory too.
 */
export function createFsBlobStore(dir: string): BlobStore {
  const pathOf = (sha: string) => {
    if (!HEX64.test(sha))
      throw new ClawHubError("INVALID_ARGUMENT", `not a sha256: ${sha.slice(0, 80)}`);
    return join(dir, sha.slice(0, 2), sha.slice(2));
  };
  return {
    async put(bytes, expected) {
      const sha = createHash("sha256").update(bytes).digest("hex");
      if (expected !== undefined && sha !== expected)
        throw new ClawHubError("INTEGRITY_MISMATCH", "the bytes do not match the announced sha256");
      const final = pathOf(sha);
      try {
        await stat(final);
        return sha;
      } catch {
        // not stored yet
      }
      await mkdir(join(dir, sha.slice(0, 2)), { recursive: true });
      const tmp = `${final}.tmp-${randomBytes(6).toString("hex")}`;
      const handle = await open(tmp, "wx", 0o644);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await rename(tmp, final);
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
      return sha;
    },
    async get(sha) {
      try {
        return await readFile(pathOf(sha));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") {
          throw new ClawHubError("NOT_FOUND", `blob ${sha} not found`);
        }
        throw error;
      }
    },
    async has(sha) {
      try {
        await stat(pathOf(sha));
        return true;
      } catch {
        return false;
      }
    },
  };
}
