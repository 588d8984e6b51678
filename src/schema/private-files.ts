/**
 * Files the product writes for itself (registry data, blobs, the hub's journal, keys) are the
 * owner's alone whatever the umask: directories 0700, files 0600. Blobs hold private skills and
 * the journal holds run inputs, so the usual umask 022 (world-readable) is not good enough.
 */
import { chmod, lstat, mkdir, readdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** Mode of directories the product keeps its own data in. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of files the product keeps its own data in. */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates `dir` if needed and makes it and everything below owner-only. Directories already
 * 0700 are taken as done (everything written into them since was written owner-only), so a
 * large data directory costs one walk on the first start after an upgrade, not on every start.
 */
export async function makePrivate(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await walk(dir, true);
}

async function walk(dir: string, top: boolean): Promise<void> {
  const st = await lstat(dir);
  const done = (st.mode & 0o777) === PRIVATE_DIR_MODE;
  if (!done) await chmod(dir, PRIVATE_DIR_MODE);
  if (done && !top) return;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, false);
    else if (entry.isFile()) {
      const mode = (await lstat(path)).mode & 0o777;
      if (mode !== PRIVATE_FILE_MODE) await chmod(path, PRIVATE_FILE_MODE);
    }
  }
}

/**
 * Writes a file owner-only (0600) whatever the umask, atomically: to a temporary sibling, then
 * renamed, so a reader or a crash never sees half of it. Its directory is created 0700 when
 * missing (an existing one is left as it is: it may be the user's).
 */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: PRIVATE_FILE_MODE });
  await chmod(tmp, PRIVATE_FILE_MODE);
  await rename(tmp, path);
}
