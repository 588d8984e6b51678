import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { ClawHubError } from "../errors/index.ts";
import { makePrivate } from "../schema/index.ts";
import { createLocalEmbedder, type Embedder } from "../search/index.ts";
import { resolveLimits, type SkillLimits } from "../skill/index.ts";
import { createScanPool } from "../trust/index.ts";
import { createApp } from "./http.ts";
import { createRegistryLog, loadLogSigner } from "./log.ts";
import type { RateLimitConfig } from "./ratelimit.ts";
import { createRegistry, type Registry } from "./service.ts";
import { createFsBlobStore, openStore } from "./store/index.ts";

/** Options of {@link startRegistryServer}. */
export interface ServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Where the SQLite database and the blobs live. */
  dataDir: string;
  /** `postgres://...` to use PostgreSQL instead of SQLite. */
  db?: string | undefined;
  /** Public URL handed out in discovery and upload URLs (default: the listening address). */
  baseUrl?: string | undefined;
  /** More public URLs, chosen by a request's Host (see AppOptions.publicUrls). */
  publicUrls?: string[] | undefined;
  rateLimits?: Partial<RateLimitConfig> | false;
  /** Package limits (default: the documented ones). */
  limits?: Partial<SkillLimits>;
  /** Downloads from which a skill counts as popular for the typosquat check (default 100). */
  popularDownloads?: number;
  trustProxy?: boolean;
  /** Bytes of publishes in flight at once (see AppOptions.maxPublishBytes; default 256 MiB). */
  maxPublishBytes?: number;
  /** Embedder for semantic search: "local" (default, the bundled model), "none", or an instance. */
  embedder?: Embedder | "local" | "none" | undefined;
  now?: () => number;
  logger?: (line: string) => void;
  /** How long close() lets requests in flight finish (default 10 s). */
  shutdownGraceMs?: number;
  /**
   * How often garbage collection runs while serving (default 1 h; 0 only at start): expired
   * uploads and the blobs of failed publishes go without an admin running `admin gc`.
   */
  gcIntervalMs?: number;
  /** How long an announced upload stays usable (default 1 h). */
  uploadTtlMs?: number;
  /**
   * The transparency log's signing key file (default `<dataDir>/log-key`, created 0600 for a
   * new log). Replicas sharing a database need the same file.
   */
  logKey?: string | undefined;
  /**
   * Name of a new log (its checkpoints' origin): default `<host of baseUrl>/log`, or a unique
   * `clawhub.local/log-<hex>` without a base URL. Kept in the key: later starts reuse it.
   */
  logOrigin?: string | undefined;
}

/** A running registry server. */
export interface RunningServer {
  url: string;
  registry: Registry;
  /** The first admin's token when this start created it (printed once, never stored). */
  bootstrap: { handle: string; token: string } | undefined;
  /** Stops accepting, waits for requests in flight (up to `graceMs`), closes the store. */
  close(graceMs?: number): Promise<void>;
}

/** Opens the store, rebuilds the search index, creates the first admin if needed, and listens. */
export async function startRegistryServer(options: ServerOptions): Promise<RunningServer> {
  await checkDataDir(options.dataDir);
  const store = await openStore({ dataDir: options.dataDir, db: options.db });
  // Owner-only, whatever the umask (blobs hold private skills): after the store opened, so the
  // database and its WAL files are covered; an existing data directory is fixed up on upgrade.
  await makePrivate(options.dataDir);
  // Every publish is appended to the transparency log, signed with the registry's log key.
  let signer: Awaited<ReturnType<typeof loadLogSigner>>;
  try {
    signer = await loadLogSigner({
      store,
      file: options.logKey ?? join(options.dataDir, "log-key"),
      origin: options.logOrigin ?? defaultOrigin(options.baseUrl),
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  // Publishes are scanned on a worker thread of their own (src/trust), ended on close.
  const scanPool = createScanPool();
  const registry = createRegistry({
    store,
    scanPool,
    log: createRegistryLog(store.log, signer),
    blobs: createFsBlobStore(join(options.dataDir, "blobs")),
    limits: resolveLimits(options.limits),
    ...(options.popularDownloads !== undefined
      ? { popularDownloads: options.popularDownloads }
      : {}),
    embedder:
      options.embedder === "none"
        ? undefined
        : options.embedder === undefined || options.embedder === "local"
          ? createLocalEmbedder()
          : options.embedder,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.uploadTtlMs !== undefined ? { uploadTtlMs: options.uploadTtlMs } : {}),
  });
  await registry.rebuildIndex();
  const logged = await registry.logUnlogged();
  if (logged > 0)
    options.logger?.(`logged ${logged} versions published before the transparency log`);
  let listenUrl = "";
  const app = createApp({
    registry,
    baseUrl: options.baseUrl?.replace(/\/+$/, "") || (() => listenUrl),
    ...(options.publicUrls ? { publicUrls: options.publicUrls } : {}),
    ...(options.rateLimits !== undefined ? { rateLimits: options.rateLimits } : {}),
    ...(options.trustProxy ? { trustProxy: true } : {}),
    ...(options.maxPublishBytes ? { maxPublishBytes: options.maxPublishBytes } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const host = options.host ?? "127.0.0.1";
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port: options.port ?? 3000 }, () =>
      resolve(s),
    );
    s.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE"
          ? new ClawHubError("IO_ERROR", `port ${options.port} on ${host} is already in use`, {
              hint: "Pick another with --port.",
            })
          : error,
      );
    });
  });
  // Only once listening: a start that fails (port busy) must not create an admin whose token
  // nobody ever saw.
  let boot: Awaited<ReturnType<Registry["bootstrapAdmin"]>>;
  try {
    boot = await registry.bootstrapAdmin();
  } catch (error) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await store.close();
    throw error;
  }
  // Leftovers (publishes that failed after writing blobs, killed writes, expired uploads) go in
  // the background, at start and then periodically; blobs younger than an hour are kept for
  // publishes still in flight.
  const collect = () =>
    registry
      .collectGarbage()
      .then((r) => {
        if (r.removed > 0 || r.temporary > 0 || r.uploadsExpired > 0)
          options.logger?.(
            `removed ${r.removed} unreferenced blobs (${r.bytes} bytes), ${r.temporary} temporary files and ${r.uploadsExpired} expired uploads`,
          );
      })
      .catch((error: unknown) =>
        options.logger?.(`blob garbage collection failed: ${String(error)}`),
      );
  let gc = collect();
  const gcEvery = options.gcIntervalMs ?? 3_600_000;
  const gcTimer =
    gcEvery > 0
      ? setInterval(() => {
          gc = gc.then(collect);
        }, gcEvery)
      : undefined;
  gcTimer?.unref();
  // In-flight requests, so that close() lets them finish (a publish mid-way must not see its
  // database closed under it).
  let inFlight = 0;
  let drained: (() => void) | undefined;
  server.on("request", (_req, res) => {
    inFlight++;
    res.once("close", () => {
      inFlight--;
      if (inFlight === 0) drained?.();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  listenUrl = `http://${shownHost}:${address.port}`;
  return {
    url: listenUrl,
    registry,
    bootstrap: boot ? { handle: boot.user.handle, token: boot.token } : undefined,
    /**
     * Graceful: stops accepting, lets requests in flight finish (up to `graceMs`, default 10 s),
     * then closes what is left and the store.
     */
    async close(graceMs = options.shutdownGraceMs ?? 10_000) {
      const http = server as unknown as {
        closeIdleConnections?: () => void;
        closeAllConnections?: () => void;
      };
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      http.closeIdleConnections?.();
      if (inFlight > 0)
        await Promise.race([
          new Promise<void>((resolve) => {
            drained = resolve;
          }),
          new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref()),
        ]);
      http.closeAllConnections?.();
      await closed;
      if (gcTimer) clearInterval(gcTimer);
      await gc;
      await scanPool.close();
      await store.close();
    },
  };
}

/** A new log's name: the public host, or a unique local name when there is none. */
function defaultOrigin(baseUrl: string | undefined): string {
  if (baseUrl) {
    try {
      return `${new URL(baseUrl).host}/log`;
    } catch {
      // An invalid base URL is refused where it is used; the name falls back below.
    }
  }
  return `clawhub.local/log-${randomBytes(4).toString("hex")}`;
}

/** Fails at once, naming the path, when the data directory cannot be created or written. */
async function checkDataDir(dir: string): Promise<void> {
  const probe = join(dir, `.write-test-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, "");
    await rm(probe, { force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new ClawHubError("IO_ERROR", `cannot write the data directory ${dir} (${code})`, {
      cause: error,
      hint: "Pick a writable folder with --data.",
    });
  }
}
