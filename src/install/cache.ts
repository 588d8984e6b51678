import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/**
 * A content-addressed archive cache: archives are stored by sha256 and indexed by
 * (registry, owner, slug, version), which never changes once published. A cached archive is
 * re-hashed before use, so a corrupted cache entry is fetched again rather than trusted.
 */
export function createArchiveCache(dir: string) {
  const keyOf = (registry: string, owner: string, slug: string, version: string) =>
    createHash("sha256").update(`${registry}\n${owner}\n${slug}\n${version}`).digest("hex");
  const archivePath = (sha: string) => join(dir, "archives", sha.slice(0, 2), `${sha}.zip`);
  return {
    async get(
      registry: string,
      owner: string,
      slug: string,
      version: string,
    ): Promise<Buffer | undefined> {
      try {
        const index = JSON.parse(
          await readFile(
            join(dir, "index", `${keyOf(registry, owner, slug, version)}.json`),
            "utf8",
          ),
        ) as { sha256: string };
        const bytes = await readFile(archivePath(index.sha256));
        return createHash("sha256").update(bytes).digest("hex") === index.sha256
          ? bytes
          : undefined;
      } catch {
        return undefined;
      }
    },
    async put(
      registry: string,
      owner: string,
      slug: string,
      version: string,
      bytes: Buffer,
    ): Promise<void> {
      const sha = createHash("sha256").update(bytes).digest("hex");
      const path = archivePath(sha);
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, path);
      await mkdir(join(dir, "index"), { recursive: true });
      await writeFile(
        join(dir, "index", `${keyOf(registry, owner, slug, version)}.json`),
        JSON.stringify({ sha256: sha, registry, owner, slug, version }),
      );
    },
  };
}
