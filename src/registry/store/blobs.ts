import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { ClawHubError } from "../../errors/index.ts";
import { digestInSlices } from "../../skill/index.ts";
import { knownDigests } from "../digests.ts";

/** Content-addressed storage: bytes are stored once, under their sha256. */
export interface BlobStore {
  /**
   * Stores bytes and returns their sha256. Idempotent. With `expected`, bytes of another hash
   * are refused (INTEGRITY_MISMATCH) before anything is written.
   */
  put(bytes: Uint8Array, expected?: string): Promise<string>;
  get(sha256: string): Promise<Buffer>;
  has(sha256: string): Promise<boolean>;
  /** Every stored blob with its size and modification time (for garbage collection). */
  list(): AsyncIterable<{ sha256: string; size: number; mtimeMs: number }>;
  delete(sha256: string): Promise<void>;
  /** Removes temporary files of writes that never finished, older than `olderThanMs`. */
  sweepTemporary(olderThanMs: number, now: number): Promise<number>;
}

const HEX64 = /^[0-9a-f]{64}$/;
const TEMP = /^[0-9a-f]{62}\.tmp-[0-9a-f]+$/;

/**
 * A write error as clients see it: the storage is unavailable (503), never the server's paths
 * (EACCES, EROFS, ENOSPC...); the cause, with the path, stays in the server's log.
 */
function unavailable(error: unknown): ClawHubError {
  const code = (error as NodeJS.ErrnoException)?.code ?? "error";
  return new ClawHubError("UNAVAILABLE", `the registry cannot store files right now (${code})`, {
    cause: error,
    hint: "The operator has to check the registry's blob directory (space, permissions).",
  });
}

/**
 * Blobs as files under `dir/ab/cdef…`. A blob is written to a temporary name, fsynced and
 * renamed, so a reader (or a crash) never sees a partial blob under its final name; a failed
 * write removes its temporary file. Replicas that share a database must share this directory.
 */
export function createFsBlobStore(dir: string): BlobStore {
  const pathOf = (sha: string) => {
    if (!HEX64.test(sha))
      throw new ClawHubError("INVALID_ARGUMENT", `not a sha256: ${sha.slice(0, 80)}`);
    return join(dir, sha.slice(0, 2), sha.slice(2));
  };
  return {
    async put(bytes, expected) {
      const sha = knownDigests(bytes)?.sha256 ?? (await digestInSlices("sha256", bytes, "hex"));
      if (expected !== undefined && sha !== expected)
        throw new ClawHubError("INTEGRITY_MISMATCH", "the bytes do not match the announced sha256");
      const final = pathOf(sha);
      try {
        await stat(final);
        return sha;
      } catch {
        // not stored yet
      }
      const tmp = `${final}.tmp-${randomBytes(6).toString("hex")}`;
      try {
        // Owner-only, whatever the umask: blobs hold private skills.
        await mkdir(join(dir, sha.slice(0, 2)), { recursive: true, mode: 0o700 });
        const handle = await open(tmp, "wx", 0o600);
        try {
          await handle.writeFile(bytes);
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(tmp, final);
      } catch (error) {
        await rm(tmp, { force: true }).catch(() => undefined);
        throw unavailable(error);
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
        throw unavailable(error);
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
    async *list() {
      const prefixes = await readdir(dir).catch(() => [] as string[]);
      for (const prefix of prefixes.sort()) {
        if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
        const names = await readdir(join(dir, prefix)).catch(() => [] as string[]);
        for (const name of names.sort()) {
          const sha = `${prefix}${name}`;
          if (!HEX64.test(sha)) continue;
          const st = await stat(join(dir, prefix, name)).catch(() => undefined);
          if (st?.isFile()) yield { sha256: sha, size: st.size, mtimeMs: st.mtimeMs };
        }
      }
    },
    async delete(sha) {
      await rm(pathOf(sha), { force: true });
    },
    async sweepTemporary(olderThanMs, now) {
      let removed = 0;
      const prefixes = await readdir(dir).catch(() => [] as string[]);
      for (const prefix of prefixes) {
        if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
        for (const name of await readdir(join(dir, prefix)).catch(() => [] as string[])) {
          if (!TEMP.test(name)) continue;
          const path = join(dir, prefix, name);
          const st = await stat(path).catch(() => undefined);
          if (st && now - st.mtimeMs > olderThanMs) {
            await rm(path, { force: true });
            removed++;
          }
        }
      }
      return removed;
    },
  };
}
