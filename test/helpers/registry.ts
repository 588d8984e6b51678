import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type RunningServer, startRegistryServer } from "../../src/registry/index.ts";
import { publishBody } from "./multipart.ts";

export const OUR_BIN = fileURLToPath(new URL("../../bin/clawhub.js", import.meta.url));
export const OFFICIAL_BIN = fileURLToPath(
  new URL("../../node_modules/clawhub-official/bin/clawdhub.js", import.meta.url),
);

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A registry on a free loopback port with its own data directory, plus an isolated HOME. */
export interface Sandbox {
  server: RunningServer;
  adminToken: string;
  root: string;
  home: string;
  /** Runs a CLI (ours or the official one) with HOME and config isolated in the sandbox. */
  run(
    bin: string,
    args: string[],
    options?: { cwd?: string; env?: Record<string, string>; input?: string },
  ): Promise<Run>;
  close(): Promise<void>;
}

type ServerOptions = Parameters<typeof startRegistryServer>[0];

export async function createSandbox(
  options: Pick<
    ServerOptions,
    | "rateLimits"
    | "limits"
    | "now"
    | "embedder"
    | "baseUrl"
    | "maxPublishBytes"
    | "popularDownloads"
  > = {},
): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), "clawhub-e2e-"));
  const home = join(root, "home");
  await mkdir(home, { recursive: true });
  const server = await startRegistryServer({
    port: 0,
    dataDir: join(root, "data"),
    // Lexical search unless a test asks for embeddings: loading the model in every sandbox
    // would only cost CPU (semantic search has its own tests).
    embedder: "none",
    ...options,
  });
  if (!server.bootstrap) throw new Error("expected a bootstrap admin on a fresh database");
  const adminToken = server.bootstrap.token;
  return {
    server,
    adminToken,
    root,
    home,
    run(bin, args, opts = {}) {
      return new Promise((resolve) => {
        const child = execFile(
          process.execPath,
          [bin, ...args],
          {
            cwd: opts.cwd ?? root,
            env: {
              PATH: process.env.PATH ?? "",
              HOME: home,
              XDG_CONFIG_HOME: join(home, ".config"),
              XDG_DATA_HOME: join(home, ".local/share"),
              XDG_CACHE_HOME: join(home, ".cache"),
              CLAWHUB_REGISTRY: server.url,
              CLAWHUB_DISABLE_TELEMETRY: "1",
              NO_COLOR: "1",
              ...opts.env,
            },
            timeout: 60_000,
          },
          (error, stdout, stderr) => {
            resolve({
              code: error ? (typeof error.code === "number" ? error.code : 1) : 0,
              stdout,
              stderr,
            });
          },
        );
        // Standard input ends at once (or after `input`): nothing waits for a terminal.
        child.stdin?.end(opts.input ?? "");
      });
    },
    async close() {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A SKILL.md for test publishes. */
export const skillMd = (name: string) =>
  `---\nname: ${name}\ndescription: Forecasts the weather for a city.\n---\n\n# ${name}\n\nSteps.\n`;

/**
 * Publishes `slug@version` as the sandbox's admin over multipart (SKILL.md plus `files`),
 * with `extra` payload fields (visibility...). Throws unless the registry answers 200.
 */
export async function publishSkill(
  s: Sandbox,
  slug: string,
  version: string,
  extra: Record<string, unknown> = {},
  files: Array<{ path: string; content: string | Buffer }> = [],
): Promise<void> {
  const { body, type } = publishBody({ slug, version, ...extra }, [
    { path: "SKILL.md", content: skillMd(slug) },
    ...files,
  ]);
  const res = await fetch(`${s.server.url}/api/v1/skills`, {
    method: "POST",
    headers: { authorization: `Bearer ${s.adminToken}`, "content-type": type },
    body,
  });
  if (res.status !== 200)
    throw new Error(`publish ${slug}@${version}: ${res.status} ${await res.text()}`);
}

/**
 * Creates a user (or moderator, admin) through the admin API of the sandbox's registry and
 * returns a token of theirs. Throws unless the registry creates both.
 */
export async function createUserToken(
  s: Sandbox,
  handle: string,
  role: "user" | "moderator" | "admin" = "user",
): Promise<string> {
  const post = (path: string, body: unknown) =>
    fetch(`${s.server.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const created = await post("/api/v1/admin/users", { handle, role });
  if (created.status !== 201) throw new Error(`create @${handle}: ${created.status}`);
  const token = await post("/api/v1/admin/tokens", { handle });
  if (token.status !== 201) throw new Error(`token of @${handle}: ${token.status}`);
  return ((await token.json()) as { token: string }).token;
}
