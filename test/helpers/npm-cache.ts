/**
 * Pinned npm packages that some tests drive but the project must not depend on (OpenClaw with
 * its dependencies is about 650 MB; a newcomer's `npm ci` stays small). Installed on first use
 * into a cache folder outside the repository (`$CLAWHUB_TEST_CACHE`, else
 * `$XDG_CACHE_HOME/clawhub-test`, else `~/.cache/clawhub-test`), once per version: later runs
 * reuse it. The install goes to a temporary folder renamed into place, so an interrupted or
 * concurrent install never leaves a half package behind.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

function cacheRoot(): string {
  if (process.env.CLAWHUB_TEST_CACHE) return process.env.CLAWHUB_TEST_CACHE;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "clawhub-test");
}

/** The folder holding `node_modules/<name>` of the pinned version, installing it if needed. */
export async function cachedPackage(name: string, version: string): Promise<string> {
  const dir = join(cacheRoot(), `${name}-${version}`);
  if (existsSync(join(dir, "node_modules", name, "package.json"))) return dir;
  await mkdir(cacheRoot(), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    // No install scripts: nothing of the package runs at install time; what a test runs, it
    // runs explicitly.
    await run(
      "npm",
      [
        "install",
        "--prefix",
        tmp,
        "--no-audit",
        "--no-fund",
        "--no-save",
        "--ignore-scripts",
        "--loglevel=error",
        `${name}@${version}`,
      ],
      { timeout: 600_000, maxBuffer: 64 * 1024 * 1024 },
    );
    await rename(tmp, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another run installed it meanwhile: keep theirs.
      if (!existsSync(join(dir, "node_modules", name, "package.json"))) throw error;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}
