/**
 * Helpers the commands share. Heavy modules (the registry client, the hub SDK, the search
 * engine) are imported when a command runs, not when the CLI starts: `clawhub --version` and
 * `clawhub agents` load only what they use.
 */
import { dirname, join } from "node:path";
import type { RegistryClient } from "../../client/index.ts";
import { ClawHubError } from "../../errors/index.ts";
import type { AgentName, TrustLevel } from "../../install/index.ts";
import type { HubClient } from "../../sdk/index.ts";
import type { Embedder } from "../../search/index.ts";
import type { CommandContext } from "../command.ts";

/** A registry client for the resolved registry; `auth` requires a token. */
export async function clientFor(
  ctx: CommandContext,
  options: { auth?: boolean; token?: string } = {},
): Promise<RegistryClient> {
  const token = options.token ?? ctx.config.token;
  if (options.auth && !token) {
    throw new ClawHubError("UNAUTHENTICATED", "not logged in", {
      hint: "Run `clawhub login --token clh_...` (or set CLAWHUB_TOKEN).",
    });
  }
  const { createClient } = await import("../../client/index.ts");
  return createClient({ registry: ctx.config.registry, token });
}

/**
 * A published skill named on the command line, `@owner/slug` or a bare slug, as the registry's
 * routes take it (slug and owner lowercased; `name` as the user should read it back).
 */
export function skillRef(ref: string): { slug: string; owner?: string; name: string } {
  const m = /^@([^/]+)\/(.+)$/.exec(ref);
  const slug = (m ? (m[2] as string) : ref).toLowerCase();
  if (!slug) throw new ClawHubError("USAGE", "name a skill: <slug> or @owner/slug");
  const owner = m ? (m[1] as string).toLowerCase() : undefined;
  return { slug, ...(owner ? { owner } : {}), name: owner ? `@${owner}/${slug}` : slug };
}

/** Commander collector for repeatable options (`--agent`, `--label`, `--input`...). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Adds `--hub` to a command that talks to a hub. */
export function hubOption(cmd: import("commander").Command): void {
  cmd.option(
    "--hub <host:port>",
    "the hub to talk to (default: $CLAWHUB_HUB, config, 127.0.0.1:7070)",
  );
}

/** The stored identity for a hub as SDK TLS options, if there is one. */
export async function hubTlsFor(
  ctx: CommandContext,
  address: string,
): Promise<import("../../sdk/index.ts").ClientTls | undefined> {
  const { loadHubCredentials } = await import("./hub-credentials.ts");
  const stored = await loadHubCredentials(ctx, address.split(",")[0] ?? address);
  return stored
    ? {
        caPem: stored.caPem,
        certPem: stored.certPem,
        keyPem: stored.keyPem,
        trustDomain: stored.trustDomain,
      }
    : undefined;
}

/** Runs `fn` with a client of the resolved hub, closed afterwards. */
export async function withHubClient<T>(
  ctx: CommandContext,
  fn: (client: HubClient) => Promise<T>,
): Promise<T> {
  const { createHubClient } = await import("../../sdk/index.ts");
  // A secured hub: the identity stored for it (the local operator's, or `hub login`'s).
  const tls = await hubTlsFor(ctx, ctx.config.hub);
  const client = createHubClient({ hub: ctx.config.hub, ...(tls ? { tls } : {}) });
  try {
    return await fn(client);
  } catch (error) {
    // A plaintext client sees a TLS hub as unreachable: say what else it may be.
    if (!tls && error instanceof ClawHubError && error.code === "NETWORK_ERROR")
      throw new ClawHubError(error.code, error.message, {
        cause: error,
        ...(error.details ? { details: error.details } : {}),
        hint: `${error.hint ? `${error.hint}\n` : ""}If the hub runs with --tls it needs an identity: \`clawhub hub login --token che_...\` with a token from its operator (\`clawhub hub enroll\`).`,
      });
    throw error;
  } finally {
    client.close();
  }
}

/** `$XDG_DATA_HOME/clawhub[/sub...]` (else `~/.local/share/clawhub`): where servers keep data. */
export function defaultDataDir(ctx: CommandContext, ...sub: string[]): string {
  return join(ctx.config.dataHome ?? join(ctx.config.home, ".local/share"), "clawhub", ...sub);
}

/** Validates `--agent` values. */
export async function agentsOf(values: unknown): Promise<AgentName[]> {
  const { AGENTS } = await import("../../install/index.ts");
  const list = Array.isArray(values) ? values.map(String) : [];
  for (const a of list) {
    if (!Object.hasOwn(AGENTS, a)) {
      throw new ClawHubError("INVALID_ARGUMENT", `unknown agent "${a}"`, {
        hint: `Use one of: ${Object.keys(AGENTS).join(", ")}.`,
      });
    }
  }
  return [...new Set(list)] as AgentName[];
}

/** `--trust` (default registry), checked against the levels the installer knows. */
export async function trustOf(options: Record<string, unknown>): Promise<TrustLevel> {
  const { TRUST_LEVELS } = await import("../../install/index.ts");
  const trust = options.trust === undefined ? "registry" : String(options.trust);
  if (!(TRUST_LEVELS as readonly string[]).includes(trust))
    throw new ClawHubError("USAGE", `--trust must be one of ${TRUST_LEVELS.join(", ")}`);
  return trust as TrustLevel;
}

/** Where the CLI keeps the last verified checkpoint of each registry's transparency log. */
export const logStateDir = (ctx: CommandContext) => join(dirname(ctx.config.configPath), "logs");

/** The installer for this invocation's workdir, agents and scope. */
export async function installerFor(ctx: CommandContext, options: Record<string, unknown>) {
  const global = options.global === true;
  const { createInstaller, createFileWitness } = await import("../../install/index.ts");
  const trust = await trustOf(options);
  return createInstaller({
    // Every archive is checked against the registry's transparency log; the last checkpoint
    // seen of each registry is kept beside the config file.
    log: {
      witness: createFileWitness(logStateDir(ctx)),
      trust,
    },
    client: await clientFor(ctx),
    workdir: global ? ctx.config.home : ctx.config.workdir,
    dir:
      global && ctx.config.sources.dir === "default" ? join(".agents", "skills") : ctx.config.dir,
    cacheDir: ctx.config.cacheDir,
    agents: await agentsOf(options.agent),
    global,
    copy: options.copy === true,
    now: ctx.now,
    ...(options.signal instanceof AbortSignal ? { signal: options.signal } : {}),
  });
}

/** "3 minutes ago"-style age for listings. */
export function age(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return "just now";
  const units: Array<[number, string]> = [
    [86400 * 365, "year"],
    [86400 * 30, "month"],
    [86400, "day"],
    [3600, "hour"],
    [60, "minute"],
  ];
  for (const [size, name] of units) {
    if (s >= size) {
      const n = Math.floor(s / size);
      return `${n} ${name}${n === 1 ? "" : "s"} ago`;
    }
  }
  return "just now";
}

/** The embedder chosen by `--embedder` (shared by `serve` and `hub`). */
export async function embedderOf(
  options: Record<string, unknown>,
  apiKey: string | undefined,
): Promise<Embedder | "local" | "none"> {
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
  const { createHttpEmbedder } = await import("../../search/index.ts");
  return createHttpEmbedder({ url: options.embedderUrl, model: options.embedderModel, apiKey });
}

/** Adds the `--embedder` options (shared by `serve` and `hub`). */
export function embedderOptions(cmd: import("commander").Command): void {
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
  cmd.option(
    "--embed-workers <n>",
    "with --embedder local: worker threads running the model (one per core embeds a corpus faster; 1 leaves the other cores to requests)",
    "1",
  );
}

/** The bundled model with the `--embed-workers` asked for. */
export async function localEmbedderOf(options: Record<string, unknown>) {
  const { intFlag } = await import("./hub-options.ts");
  const { createLocalEmbedder } = await import("../../search/index.ts");
  return createLocalEmbedder({
    workers: intFlag(options.embedWorkers ?? "1", "--embed-workers", 1, 64),
  });
}
