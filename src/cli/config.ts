import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { ClawHubError } from "../errors/index.ts";
import { writePrivateFile } from "../schema/index.ts";

/** Environment variables as the CLI entry received them. */
export type Env = Readonly<Record<string, string | undefined>>;

/** What the config file may hold (`config.json`, the official CLI's format plus our keys). */
export interface ConfigFile {
  registry?: string;
  token?: string;
  workdir?: string;
  dir?: string;
  /** `host:port` of the hub that `agents`, `discover` and `call` talk to. */
  hub?: string;
}

/** Configuration resolved once at the CLI edge and passed down to commands. */
export interface ResolvedConfig {
  registry: string;
  token: string | undefined;
  workdir: string;
  /** Install directory under the workdir. */
  dir: string;
  configPath: string;
  /** `$XDG_DATA_HOME` (default data location of `serve`). */
  dataHome: string | undefined;
  /** Download cache: `$CLAWHUB_CACHE_DIR`, else `$XDG_CACHE_HOME/clawhub`, else `~/.cache/clawhub`. */
  cacheDir: string;
  /** The user's home directory (`--global` installs). */
  home: string;
  /** The hub (`host:port`): `--hub` > `CLAWHUB_HUB` > config `hub` > 127.0.0.1:7070. */
  hub: string;
  /** API key of an HTTP embedder (`CLAWHUB_EMBEDDER_KEY`), for `serve --embedder http`. */
  embedderKey: string | undefined;
  /** API key of the scanner's language-model judge (`CLAWHUB_JUDGE_KEY`), for `scan --judge http`. */
  judgeKey: string | undefined;
  noInput: boolean;
  /** Where each value came from, for `--verbose` and debugging. */
  sources: Record<"registry" | "token" | "workdir" | "dir", "flag" | "env" | "config" | "default">;
}

/** Flags that override configuration. */
export interface ConfigFlags {
  registry?: string | undefined;
  workdir?: string | undefined;
  dir?: string | undefined;
  input?: boolean | undefined;
  hub?: string | undefined;
}

/** Where a hub listens unless told otherwise. */
export const DEFAULT_HUB = "127.0.0.1:7070";

/** The public registry, the official CLI's default. */
export const DEFAULT_REGISTRY = "https://clawhub.ai";

/**
 * Path of the config file, as the official CLI resolves it: `CLAWHUB_CONFIG_PATH` (legacy
 * `CLAWDHUB_CONFIG_PATH`), else `$XDG_CONFIG_HOME/clawhub/config.json`, else
 * `~/.config/clawhub/config.json`.
 */
export function configPath(env: Env): string {
  const override = env.CLAWHUB_CONFIG_PATH ?? env.CLAWDHUB_CONFIG_PATH;
  if (override) return resolve(override);
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "clawhub", "config.json");
}

async function readConfigFile(path: string): Promise<ConfigFile> {
  let raw: string;
  try {
    raw = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw error;
  }
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new Error("not an object");
    const out: ConfigFile = {};
    for (const key of ["registry", "token", "workdir", "dir", "hub"] as const) {
      const value = (parsed as Record<string, unknown>)[key];
      if (typeof value === "string" && value !== "") out[key] = value;
    }
    return out;
  } catch (error) {
    throw new ClawHubError("CONFIG_INVALID", `config file ${path} is not a valid JSON object`, {
      cause: error,
      hint: "Fix or delete the file; `clawhub login` writes a new one.",
    });
  }
}

/**
 * Resolves configuration once: flag > `CLAWHUB_*` env (legacy `CLAWDHUB_*`) > config file >
 * default. Library code receives the result and never reads the environment itself.
 */
export async function resolveConfig(options: {
  flags: ConfigFlags;
  env: Env;
  cwd: string;
}): Promise<ResolvedConfig> {
  const { flags, env, cwd } = options;
  const path = configPath(env);
  const file = await readConfigFile(path);
  const pick = <K extends "registry" | "workdir" | "dir">(
    key: K,
    envName: string,
    fallback: string,
  ) => {
    const flag = flags[key];
    if (flag) return { value: flag, source: "flag" as const };
    const fromEnv = env[`CLAWHUB_${envName}`] ?? env[`CLAWDHUB_${envName}`];
    if (fromEnv) return { value: fromEnv, source: "env" as const };
    if (file[key]) return { value: file[key] as string, source: "config" as const };
    return { value: fallback, source: "default" as const };
  };
  const registry = pick("registry", "REGISTRY", DEFAULT_REGISTRY);
  const workdir = pick("workdir", "WORKDIR", cwd);
  const dir = pick("dir", "DIR", "skills");
  const envToken = env.CLAWHUB_TOKEN;
  const token = envToken ?? file.token;
  return {
    registry: normalizeRegistryUrl(registry.value),
    token,
    workdir: resolve(cwd, workdir.value),
    dir: dir.value,
    configPath: path,
    dataHome: env.XDG_DATA_HOME || (env.HOME ? join(env.HOME, ".local", "share") : undefined),
    cacheDir:
      env.CLAWHUB_CACHE_DIR ||
      join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache"), "clawhub"),
    home: env.HOME || homedir(),
    hub: flags.hub || env.CLAWHUB_HUB || file.hub || DEFAULT_HUB,
    embedderKey: env.CLAWHUB_EMBEDDER_KEY || undefined,
    judgeKey: env.CLAWHUB_JUDGE_KEY || undefined,
    noInput: flags.input === false || env.CI === "true" || env.CLAWHUB_NO_INPUT === "1",
    sources: {
      registry: registry.source,
      token: envToken ? "env" : file.token ? "config" : "default",
      workdir: workdir.source,
      dir: dir.source,
    },
  };
}

/**
 * Updates the config file: sets the given keys, removes those set to undefined. Written
 * atomically with mode 0600, since it holds the token.
 */
export async function updateConfigFile(
  path: string,
  patch: Partial<Record<keyof ConfigFile, string | undefined>>,
): Promise<void> {
  const current = await readConfigFile(path);
  const next: Record<string, string> = { ...(current as Record<string, string>) };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete next[key];
    else next[key] = value;
  }
  await writePrivateFile(path, `${JSON.stringify(next, null, 2)}\n`);
}

/**
 * A registry URL as people type it: `127.0.0.1:3000` or `localhost:3000` get `http://`, other
 * bare hosts `https://`; a trailing `/api/v1` (or `/api`), copied from an endpoint, and trailing
 * slashes go.
 */
export function normalizeRegistryUrl(value: string): string {
  let url = value.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    const local = /^(localhost|127\.|\[::1\]|0\.0\.0\.0|10\.|192\.168\.)/i.test(url);
    url = `${local ? "http" : "https"}://${url}`;
  }
  return url
    .replace(/\/+$/, "")
    .replace(/\/api(\/v1)?$/i, "")
    .replace(/\/+$/, "");
}
