import { join, resolve } from "node:path";
import { ClawHubError } from "../../errors/index.ts";
import { createHub, type Hub, type HubSecurity } from "../../hub/index.ts";
import { startRegistryServer } from "../../registry/index.ts";
import type { CommandSpec } from "../command.ts";
import { keepOperatorIdentity, openControlPlane, openHubSecurity } from "./hub.ts";
import {
  auditMaxBytesOf,
  bytesFlag,
  hubSecurityOptions,
  hubTlsOf,
  hubTuningOf,
  hubTuningOptions,
  intFlag,
} from "./hub-options.ts";
import { logFormatOption, loggerOf } from "./log-format.ts";
import { defaultDataDir, embedderOf, embedderOptions, localEmbedderOf } from "./shared.ts";

/** An http(s) URL flag, or a usage error naming the flag. */
function urlFlag(value: unknown, flag: string): string {
  try {
    const url = new URL(String(value));
    if (url.protocol === "http:" || url.protocol === "https:")
      return String(value).replace(/\/+$/, "");
  } catch {
    // reported below
  }
  throw new ClawHubError(
    "USAGE",
    `${flag} must be an http:// or https:// URL (got ${JSON.stringify(value)})`,
  );
}

/**
 * `clawhub serve`: the self-hosted registry (ClawHub API v1) and, unless `--no-hub`, the hub
 * agents connect to. Runs until interrupted.
 */
export const serveCommand: CommandSpec = {
  path: ["serve"],
  summary: "run a self-hosted ClawHub registry (API v1) and the agent hub until interrupted",
  help:
    "Data: a SQLite database and content-addressed blobs under --data (default $XDG_DATA_HOME/clawhub).\n" +
    "--db postgres://... keeps the database in PostgreSQL (several serve processes may share it\n" +
    "together with one --data directory for the blobs). On the first start of an empty database an\n" +
    "`admin` user is created and its token printed once.\n" +
    "The hub (gRPC, for agents and `clawhub call`) listens on --hub-port (default 7070) on the same\n" +
    "host; --no-hub runs the registry alone.\n" +
    "Every publish is appended to a transparency log (RFC 9162) whose checkpoints are signed with\n" +
    "--log-key; clients pin that key and check the log on install (docs/security.md).",
  configure(cmd) {
    cmd.option("--host <host>", "address to listen on", "127.0.0.1");
    cmd.option("--port <port>", "port to listen on (0: any free port)", "3000");
    cmd.option("--data <dir>", "data directory (database and blobs)");
    cmd.option("--db <url>", "database: a SQLite file path or postgres:// URL");
    cmd.option(
      "--base-url <url>",
      "public URL of this registry, handed out in discovery and upload URLs (default: the listening address)",
    );
    cmd.option(
      "--public-url <url...>",
      "more public URLs (other host names); a request whose Host is one of them gets it back",
    );
    cmd.option(
      "--max-publish-bytes <size>",
      "bytes of publishes received and processed at once; more are refused with 429 and Retry-After",
      "256MiB",
    );
    cmd.option(
      "--trust-proxy",
      "take client addresses from X-Forwarded-For (only behind your own proxy)",
    );
    cmd.option(
      "--no-rate-limit",
      "turn rate limiting off (private registries on a trusted network)",
    );
    cmd.option(
      "--log-key <file>",
      "transparency log signing key (default <data>/log-key, created 0600; replicas need the same file)",
    );
    cmd.option(
      "--log-origin <name>",
      "name of a new transparency log (default <host of --base-url>/log); kept in the key file",
    );
    embedderOptions(cmd);
    cmd.option("--hub-port <port>", "port of the agent hub (0: any free port)", "7070");
    cmd.option("--no-hub", "do not start the agent hub");
    hubSecurityOptions(cmd);
    hubTuningOptions(cmd);
    logFormatOption(cmd);
  },
  async run(_args, options, ctx) {
    const dataDir = resolve(
      ctx.cwd,
      typeof options.data === "string" ? options.data : defaultDataDir(ctx),
    );
    const port = intFlag(options.port, "--port", 0, 65_535);
    const hubPort = intFlag(options.hubPort, "--hub-port", 0, 65_535);
    const tuning = options.hub !== false ? hubTuningOf(options) : {};
    const logger = loggerOf(options, (text) => ctx.io.stderr.write(text));
    const secure = options.hub !== false && hubTlsOf(options, String(options.host), logger);
    // One model instance serves both halves: registry search and capability search.
    const chosen = await embedderOf(options, ctx.config.embedderKey);
    const embedder = chosen === "local" ? await localEmbedderOf(options) : chosen;
    const server = await startRegistryServer({
      host: String(options.host),
      port,
      dataDir,
      db: typeof options.db === "string" ? options.db : undefined,
      baseUrl:
        typeof options.baseUrl === "string" ? urlFlag(options.baseUrl, "--base-url") : undefined,
      publicUrls: Array.isArray(options.publicUrl)
        ? options.publicUrl.map((u) => urlFlag(u, "--public-url"))
        : undefined,
      trustProxy: options.trustProxy === true,
      logKey: typeof options.logKey === "string" ? resolve(ctx.cwd, options.logKey) : undefined,
      logOrigin: typeof options.logOrigin === "string" ? options.logOrigin : undefined,
      maxPublishBytes: bytesFlag(options.maxPublishBytes, "--max-publish-bytes", 1024 * 1024),
      ...(options.rateLimit === false ? { rateLimits: false as const } : {}),
      embedder,
      logger,
    });
    let hub: Hub | undefined;
    let controlPlane: Awaited<ReturnType<typeof openControlPlane>> | undefined;
    let security: HubSecurity | undefined;
    let operator: Awaited<ReturnType<typeof keepOperatorIdentity>> | undefined;
    if (options.hub !== false) {
      const hubData = join(dataDir, "hub");
      try {
        controlPlane = await openControlPlane(hubData);
        if (secure)
          security = await openHubSecurity(hubData, controlPlane, auditMaxBytesOf(options));
        hub = await createHub({
          ...tuning,
          controlPlane,
          host: String(options.host),
          port: hubPort,
          embedder: embedder === "none" ? undefined : embedder,
          logger,
          ...(security ? { security } : {}),
        });
        if (security) operator = await keepOperatorIdentity(ctx, security, hub.address, hubData);
      } catch (error) {
        await hub?.close();
        await security?.close();
        await controlPlane?.close();
        await server.close();
        throw error;
      }
    }
    const lines = [
      `ClawHub registry listening on ${server.url} (data: ${dataDir}${options.db ? `, db: ${String(options.db).replace(/\/\/[^@]*@/, "//***@")}` : ""})`,
      hub
        ? `ClawHub hub listening on ${hub.address}${operator ? " (mutual TLS)" : ""} (agents: --hub ${hub.address})`
        : "Hub not started (--no-hub)",
      ...(operator
        ? [
            `Hub operator identity: ${operator.identity} (stored in ${operator.file}); enroll agents with: clawhub hub enroll <name> --hub ${hub?.address}`,
          ]
        : []),
    ];
    if (server.bootstrap) {
      lines.push(
        `Created the first admin user @${server.bootstrap.handle}. Its token is shown only now:`,
        `  ${server.bootstrap.token}`,
        `Log in with: clawhub login --token ${server.bootstrap.token} --registry ${server.url}`,
      );
    }
    // Listening for the stop signal before saying "ready": a SIGTERM sent the moment the line
    // appears (as supervisors and tests do) must drain, not kill the process outright.
    const stopped = ctx.waitForShutdown();
    ctx.io.stdout.write(
      ctx.json
        ? `${JSON.stringify({ url: server.url, hub: hub?.address ?? null, hubTls: Boolean(operator), dataDir, bootstrap: server.bootstrap ?? null })}\n`
        : `${lines.join("\n")}\n`,
    );
    await stopped;
    operator?.stop();
    await hub?.close();
    await security?.close();
    await controlPlane?.close();
    await server.close();
    return { data: undefined, text: "" };
  },
};
