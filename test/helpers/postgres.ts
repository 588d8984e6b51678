import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "./process.ts";

/** A throwaway PostgreSQL server on loopback, or the one named by CLAWHUB_TEST_PG_URL. */
export interface TestPostgres {
  /** Creates an empty database and returns its URL. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

function findBin(name: string): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const p = join(root, v, "bin", name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Whether a PostgreSQL server can be used (installed, or given by URL). */
export function postgresAvailable(): boolean {
  return Boolean(process.env.CLAWHUB_TEST_PG_URL) || findBin("initdb") !== undefined;
}

/**
 * Starts PostgreSQL from Debian's binaries in a temporary directory on a free port (as the
 * `postgres` user when running as root, since PostgreSQL refuses to run as root), with fsync off:
 * the data is disposable.
 */
export async function startPostgres(): Promise<TestPostgres> {
  const external = process.env.CLAWHUB_TEST_PG_URL;
  let baseUrl: string;
  let stop = async () => {};
  if (external) {
    baseUrl = external;
  } else {
    const initdb = findBin("initdb");
    const pgCtl = findBin("pg_ctl");
    if (!initdb || !pgCtl)
      throw new Error(
        "PostgreSQL is not installed (apt-get install postgresql), and CLAWHUB_TEST_PG_URL is not set",
      );
    const dir = mkdtempSync(join(tmpdir(), "clawhub-pg-"));
    const asRoot = process.getuid?.() === 0;
    const run = (bin: string, args: string[]) =>
      asRoot
        ? execFileSync("runuser", ["-u", "postgres", "--", bin, ...args], { stdio: "pipe" })
        : execFileSync(bin, args, { stdio: "pipe" });
    if (asRoot) {
      const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
      const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
      chownSync(dir, uid, gid);
    }
    const data = join(dir, "data");
    run(initdb, ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
    const port = await freePort();
    run(pgCtl, [
      "-D",
      data,
      "-l",
      join(dir, "log"),
      "-w",
      "-t",
      "60",
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`,
      "start",
    ]);
    baseUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    stop = async () => {
      try {
        run(pgCtl, ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
  }
  let n = 0;
  return {
    async createDatabase() {
      const name = `clawhub_test_${process.pid}_${Date.now()}_${n++}`;
      const client = new pg.Client({ connectionString: baseUrl });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      const url = new URL(baseUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    stop,
  };
}
