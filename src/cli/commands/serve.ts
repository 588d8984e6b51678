import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { ClawHubError } from "../../errors/index.ts";
import { startRegistryServer } from "../../registry/index.ts";
import { createHttpEmbedder, type Embedder } from "../../search/index.ts";
import type { CommandSpec } from "../command.ts";

/** `clawhub serve`: the self-hosted registry (ClawHub API v1). Runs until interrupted. */
export const serveCommand: CommandSpec = {
  path: ["serve"],
  summary: "run a self-hosted ClawHub registry (API v1) until interrupted",
  help:
    "Data: a SQLite database and content-addressed blobs under --data (default $XDG_DATA_HOME/clawhub).\n" +
    "--db postgres://... keeps the database in PostgreSQL (several serve processes may share it\n" +
    "together with one --data directory for the blobs). On the first start of an empty database an\n" +
    "`admin` user is created and its token printed once.",
  configure(cmd) {
    cmd.option("--host <host>", "address to listen on", "127.0.0.1");
    cmd.option("--port <port>", "port to listen on (0: any free port)", "3000");
    cmd.option("--data <dir>", "data directory (database and blobs)");
    cmd.option("--db <url>", "database: a SQLite file path or postgres:// URL");
    cmd.option("--base-url <url>", "public URL of this registry (default: from each request)");
    cmd.option(
      "--trust-proxy",
      "take client addresses from X-Forwarded-For (only behind your own proxy)",
    );
    cmd.option(
      "--no-rate-limit",
      "turn rate limiting off (private registries on a trusted network)",
    );
    cmd.option(
      "--embedder <kind>",
      "semantic search: local (bundled model), http (OpenAI-compatible), none",
      "local",
    );
    cmd.option(
      "--embedder-url <url>",
      "with --embedder http: API base, e.g. http://127.0.0.1:11434/v1",
    );
    cmd.option("--embedder-model <name>", "with --embedder http: model name");
  },
  async run(_args, options, ctx) {
    const dataDir = resolve(
      ctx.cwd,
      typeof options.data === "string"
        ? options.data
        : join(ctx.config.dataHome ?? join(homedir(), ".local/share"), "clawhub"),
    );
    const port = Number(options.port);
    const server = await startRegistryServer({
      host: String(options.host),
      port: Number.isInteger(port) ? port : 3000,
      dataDir,
      db: typeof options.db === "string" ? options.db : undefined,
      baseUrl: typeof options.baseUrl === "string" ? options.baseUrl : undefined,
      trustProxy: options.trustProxy === true,
      ...(options.rateLimit === false ? { rateLimits: false as const } : {}),
      embedder: embedderOf(options, ctx.config.embedderKey),
      logger: (line) => ctx.io.stderr.write(`${line}\n`),
    });
    const lines = [
      `ClawHub registry listening on ${server.url} (data: ${dataDir}${options.db ? `, db: ${String(options.db).replace(/\/\/[^@]*@/, "//***@")}` : ""})`,
    ];
    if (server.bootstrap) {
      lines.push(
        `Created the first admin user @${server.bootstrap.handle}. Its token is shown only now:`,
        `  ${server.bootstrap.token}`,
        `Log in with: clawhub login --token ${server.bootstrap.token} --registry ${server.url}`,
      );
    }
    ctx.io.stdout.write(
      ctx.json
        ? `${JSON.stringify({ url: server.url, dataDir, bootstrap: server.bootstrap ?? null })}\n`
        : `${lines.join("\n")}\n`,
    );
    await ctx.waitForShutdown();
    await server.close();
    return { data: undefined, text: "" };
  },
};

function embedderOf(
  options: Record<string, unknown>,
  apiKey: string | undefined,
): Embedder | "local" | "none" {
  const kind = String(options.embedder ?? "local");
  if (kind === "local" || kind === "none") return kind;
  if (kind !== "http")
    throw new ClawHubError(
      "INVALID_ARGUMENT",
      `unknown --embedder "${kind}": use local, http or none`,
    );
  if (typeof options.embedderUrl !== "string" || typeof options.embedderModel !== "string") {
    throw new ClawHubError(
      "INVALID_ARGUMENT",
      "--embedder http needs --embedder-url and --embedder-model",
      {
        hint: "The API key, if any, comes from CLAWHUB_EMBEDDER_KEY.",
      },
    );
  }
  return createHttpEmbedder({ url: options.embedderUrl, model: options.embedderModel, apiKey });
}
