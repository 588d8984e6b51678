import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ClawHubError } from "../../errors/index.ts";
import { type CallResult, isTensor, toFloat32 } from "../../sdk/index.ts";
import type { CommandSpec } from "../command.ts";
import { table } from "../output.ts";
import {
  auditMaxBytesOf,
  durationFlag,
  hubSecurityOptions,
  hubTlsOf,
  hubTuningOf,
  hubTuningOptions,
  intFlag,
} from "./hub-options.ts";
import { logFormatOption, loggerOf } from "./log-format.ts";
import {
  age,
  collect,
  defaultDataDir,
  embedderOf,
  embedderOptions,
  hubOption,
  localEmbedderOf,
  withHubClient,
} from "./shared.ts";

/** Typed arrays and tensors as plain number lists, for printing. */
export function printable(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, v: unknown) =>
      v instanceof Float32Array || isTensor(v) ? Array.from(toFloat32(v as Float32Array)) : v,
    ),
  );
}

/** `clawhub hub`: the hub alone (`clawhub serve` also starts one). */
export const hubCommand: CommandSpec = {
  path: ["hub"],
  summary: "run the agent hub (gRPC) until interrupted",
  help:
    "Agents connect with the SDK (`clawhub-hub/sdk`, createAgent) and register capabilities; callers use\n" +
    "`clawhub call`, `clawhub discover` and `clawhub agents`. State, locks and events live in the\n" +
    "in-process control plane. See docs/hub.md.\n\n" +
    "The hub accepts enrolled identities only (mutual TLS). On start it stores an admin\n" +
    "identity for the user who started it under the config directory, so `clawhub agents`, `call`,\n" +
    "`run` and `runs` on this machine just work. Identities: `clawhub hub enroll <name>`, `hub login\n" +
    "--token`, `hub identities`, `hub revoke <identity>` (docs/security.md).",
  configure(cmd) {
    cmd.option("--host <host>", "address to listen on", "127.0.0.1");
    cmd.option("--port <port>", "port to listen on (0: any free port)", "7070");
    hubSecurityOptions(cmd);
    hubTuningOptions(cmd);
    logFormatOption(cmd);
    cmd.option(
      "--data <dir>",
      "where the control plane keeps its journal (workflow runs, locks); default $XDG_DATA_HOME/clawhub/hub",
    );
    embedderOptions(cmd);
  },
  async run(_args, options, ctx) {
    const chosen = await embedderOf(options, ctx.config.embedderKey);
    const dataDir = resolve(
      ctx.cwd,
      typeof options.data === "string" ? options.data : defaultDataDir(ctx, "hub"),
    );
    const tuning = hubTuningOf(options);
    const logger = loggerOf(options, (text) => ctx.io.stderr.write(text));
    const port = intFlag(options.port, "--port", 0, 65_535);
    const secure = hubTlsOf(options, String(options.host), logger);
    const controlPlane = await openControlPlane(dataDir);
    const { createHub } = await import("../../hub/index.ts");
    const security = secure
      ? await openHubSecurity(dataDir, controlPlane, auditMaxBytesOf(options))
      : undefined;
    const hub = await createHub({
      ...tuning,
      controlPlane,
      host: String(options.host),
      port,
      embedder:
        chosen === "none"
          ? undefined
          : chosen === "local"
            ? await localEmbedderOf(options)
            : chosen,
      logger,
      ...(security ? { security } : {}),
    }).catch(async (error: unknown) => {
      await security?.close();
      await controlPlane.close();
      throw error;
    });
    const operator = security
      ? await keepOperatorIdentity(ctx, security, hub.address, dataDir)
      : undefined;
    // Listening for the stop signal before saying "ready": a SIGTERM sent the moment the line
    // appears (as supervisors and tests do) must drain, not kill the process outright.
    const stopped = ctx.waitForShutdown();
    ctx.io.stdout.write(
      ctx.json
        ? `${JSON.stringify({ hub: hub.address, id: hub.id, data: dataDir, ...(operator ? { tls: true, identity: operator.identity, credentials: operator.file } : { tls: false }) })}\n`
        : `ClawHub hub listening on ${hub.address}${operator ? " (mutual TLS)" : ""}\nAgents and callers: --hub ${hub.address} (or CLAWHUB_HUB=${hub.address})\n` +
            (operator
              ? `Operator identity: ${operator.identity} (stored in ${operator.file})\nEnroll an agent: clawhub hub enroll <name> --hub ${hub.address}\n`
              : ""),
    );
    await stopped;
    operator?.stop();
    await hub.close();
    await security?.close();
    await controlPlane.close();
    return { data: undefined, text: "" };
  },
};

/** A secured hub's CA, enrollments and audit key, under `<data>/identity` (owner-only). */
export async function openHubSecurity(
  dataDir: string,
  controlPlane: import("../../control-plane/index.ts").ControlPlane,
  auditMaxBytes?: number,
) {
  const { makePrivate } = await import("../../schema/index.ts");
  const dir = join(dataDir, "identity");
  await makePrivate(dir);
  const { createHubSecurity } = await import("../../hub/index.ts");
  return createHubSecurity({
    dir,
    controlPlane,
    ...(auditMaxBytes ? { audit: { maxBytes: auditMaxBytes } } : {}),
  });
}

/** Life of the local operator's certificate; re-issued at two thirds of it while the hub runs. */
const OPERATOR_TTL_MS = 24 * 3_600_000;

/**
 * The local operator's admin identity, as kubeconfig's for a local cluster: issued by the hub's
 * CA for the user who started it and stored under the config directory for this hub's address
 * and in the data directory (0600), re-issued before it expires. No shared secret: whoever can
 * read the user's files is the user.
 */
export async function keepOperatorIdentity(
  ctx: import("../command.ts").CommandContext,
  security: import("../../hub/index.ts").HubSecurity,
  address: string,
  dataDir: string,
): Promise<{ identity: string; file: string; stop(): void }> {
  const { saveHubCredentials, writePrivateJson } = await import("./hub-credentials.ts");
  const { userInfo } = await import("node:os");
  const user =
    (() => {
      try {
        return userInfo().username;
      } catch {
        return "";
      }
    })()
      .toLowerCase()
      .replace(/[^a-z0-9._-]/g, "-")
      .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "")
      .slice(0, 64) || "operator";
  const issue = async () => {
    const issued = await security.issueLocal({
      name: user,
      kind: "caller",
      roles: ["admin"],
      ttlMs: OPERATOR_TTL_MS,
    });
    const credentials = { hub: address, ...issued, issuedAt: ctx.now() };
    await writePrivateJson(join(dataDir, "identity", "operator.json"), credentials);
    return { identity: issued.identity, file: await saveHubCredentials(ctx, address, credentials) };
  };
  const first = await issue();
  const timer = setInterval(
    () => {
      issue().catch((error: unknown) =>
        ctx.io.stderr.write(`hub: could not renew the operator identity: ${String(error)}\n`),
      );
    },
    Math.floor((OPERATOR_TTL_MS * 2) / 3),
  );
  timer.unref();
  return { ...first, stop: () => clearInterval(timer) };
}

/** The embedded control plane, journaled under `dir` so runs and locks survive restarts. */
export async function openControlPlane(dir: string) {
  const { makePrivate } = await import("../../schema/index.ts");
  // Owner-only: the journal holds run inputs (secrets among them). Existing data directories
  // are fixed up on upgrade.
  await makePrivate(dir);
  const { createMemoryControlPlane } = await import("../../control-plane/index.ts");
  const controlPlane = createMemoryControlPlane({ file: join(dir, "control-plane.jsonl") });
  await makePrivate(dir);
  return controlPlane;
}

const positive = (value: unknown, flag: string) => intFlag(value, flag, 1, 1_000_000);

/** `clawhub agents`: agents connected to the hub. */
export const agentsCommand: CommandSpec = {
  path: ["agents"],
  summary: "list the agents connected to the hub, with their load",
  configure(cmd) {
    hubOption(cmd);
  },
  async run(_args, _options, ctx) {
    const agents = await withHubClient(ctx, (c) => c.agents());
    const now = ctx.now();
    const rows = agents.map((a) => [
      a.name,
      a.agentId,
      a.capabilities.map((c) => c.name).join(","),
      `${a.inFlight}/${a.queued}`,
      Object.entries(a.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(",") || "-",
      a.draining ? "draining" : age(a.lastHeartbeatUnixMs, now),
    ]);
    return {
      // Capabilities in the same shape as `discover --json`: schemas as objects.
      data: agents.map((a) => ({ ...a, capabilities: a.capabilities.map(capabilityView) })),
      text:
        agents.length === 0
          ? `No agents connected to ${ctx.config.hub}.`
          : table([
              ["NAME", "ID", "CAPABILITIES", "RUNNING/QUEUED", "LABELS", "HEARTBEAT"],
              ...rows,
            ]),
    };
  },
};

/** A capability as `--json` prints it everywhere: its schemas as JSON objects, not strings. */
function capabilityView(c: {
  name: string;
  description: string;
  inputSchema: string;
  outputSchema: string;
  maxConcurrency: number;
  contextLimit: number;
}) {
  const parsed = (text: string): unknown => {
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  };
  return {
    name: c.name,
    description: c.description,
    input: parsed(c.inputSchema),
    output: parsed(c.outputSchema),
    maxConcurrency: c.maxConcurrency,
    contextLimit: c.contextLimit || null,
  };
}

/** `clawhub discover "<need>"`: capabilities of connected agents, by meaning. */
export const discoverCommand: CommandSpec = {
  path: ["discover"],
  args: "<need...>",
  summary: "find capabilities of connected agents by meaning",
  configure(cmd) {
    hubOption(cmd);
    cmd.option("--limit <n>", "matches to show", "10");
  },
  async run(args, options, ctx) {
    const query = args.join(" ");
    const matches = await withHubClient(ctx, (c) =>
      c.discover(query, { limit: positive(options.limit, "--limit") }),
    );
    const data = matches.map((m) => ({
      ...capabilityView(m.capability),
      similarity: Number(m.similarity.toFixed(3)),
      score: Number(m.score.toFixed(3)),
      agents: m.agentIds,
    }));
    return {
      data,
      text:
        data.length === 0
          ? `No capability matches "${query}".`
          : table([
              // Sorted by SCORE, the hub's ranking (similarity with the lexical and name
              // signals); SIMILARITY is the embedding's alone, which routing's floor uses.
              ["CAPABILITY", "SCORE", "SIMILARITY", "AGENTS", "DESCRIPTION"],
              ...data.map((d) => [
                d.name,
                d.score.toFixed(2),
                d.similarity.toFixed(2),
                String(d.agents.length),
                d.description.length > 70 ? `${d.description.slice(0, 69)}…` : d.description,
              ]),
            ]),
    };
  },
};

function pairs(
  values: unknown,
  flag: string,
  parse: (v: string) => unknown,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of Array.isArray(values) ? (values as string[]) : []) {
    const eq = item.indexOf("=");
    if (eq <= 0)
      throw new ClawHubError("INVALID_ARGUMENT", `${flag} takes key=value, got "${item}"`);
    out[item.slice(0, eq)] = parse(item.slice(eq + 1));
  }
  return out;
}

function jsonOrString(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `clawhub call`: run one capability through the hub. */
export const callCommand: CommandSpec = {
  path: ["call"],
  args: "[capability]",
  summary: "call a capability by name (or --query by meaning) and print its output",
  help:
    "Examples:\n" +
    '  clawhub call text.stats --input \'{"text":"Hello world"}\'\n' +
    '  clawhub call --query "summarise a document" --input-file doc.json --timeout 30s\n' +
    "Exit codes: 0 ok, 1 task failed or input refused, 3 hub unreachable, busy (retry-after) or timed out.",
  configure(cmd) {
    hubOption(cmd);
    cmd.option("--query <need>", "pick the capability by meaning instead of by name");
    cmd.option("--input <json>", "the input, as JSON");
    cmd.option("--input-file <file>", "read the input from a JSON file");
    cmd.option("--timeout <duration>", "deadline of the call, e.g. 30s (default: the hub's, 5m)");
    cmd.option("--label <key=value>", "only agents with this label (repeatable)", collect);
    cmd.option("--param <key=value>", "a call parameter, JSON or text (repeatable)", collect);
    cmd.option("--attempts <n>", "attempts in all, on other agents after a failure (default 3)");
    cmd.option("--session <id>", "prefer the agent that served this session last");
    cmd.option("--idempotency-key <key>", "the same on every attempt (default: random)");
  },
  async run(args, options, ctx) {
    const capability = args[0];
    const query = typeof options.query === "string" ? options.query : undefined;
    if (Boolean(capability) === Boolean(query))
      throw new ClawHubError(
        "USAGE",
        "give a capability name or --query, not both and not neither",
        {
          hint: '`clawhub discover "<need>"` lists capabilities.',
        },
      );
    if (options.input !== undefined && options.inputFile !== undefined)
      throw new ClawHubError("USAGE", "give --input or --input-file, not both");
    let input: unknown = null;
    const raw =
      typeof options.inputFile === "string"
        ? await readFile(resolve(ctx.cwd, options.inputFile), "utf8")
        : typeof options.input === "string"
          ? options.input
          : undefined;
    if (raw !== undefined) {
      try {
        input = JSON.parse(raw);
      } catch (error) {
        throw new ClawHubError(
          "INVALID_ARGUMENT",
          `the input is not valid JSON: ${(error as Error).message}`,
          {
            cause: error,
            hint: `Quote it for the shell: --input '{"text":"..."}'`,
          },
        );
      }
    }
    const result: CallResult = await withHubClient(ctx, (client) =>
      client
        .call(query ? { query } : { capability: capability as string }, input, {
          ...(options.timeout !== undefined
            ? { timeoutMs: durationFlag(options.timeout, "--timeout") }
            : {}),
          labels: pairs(options.label, "--label", String) as Record<string, string>,
          params: pairs(options.param, "--param", jsonOrString),
          ...(options.attempts !== undefined
            ? { maxAttempts: positive(options.attempts, "--attempts") }
            : {}),
          ...(typeof options.session === "string" ? { session: options.session } : {}),
          ...(typeof options.idempotencyKey === "string"
            ? { idempotencyKey: options.idempotencyKey }
            : {}),
        })
        .catch(async (error: unknown) => {
          throw capability ? await missingCapability(client, capability, error) : error;
        }),
    );
    const output = printable(result.output);
    return {
      data: { ...result, output },
      text: typeof output === "string" ? output : JSON.stringify(output, null, 2),
    };
  },
};

/**
 * A call by a name no connected agent serves: the hub answers UNAVAILABLE (an agent serving it
 * may connect, and workflows wait for that), but a name no connected capability has is most
 * likely a typo, so the CLI, which tries once, says NOT_FOUND and suggests the nearest names.
 */
async function missingCapability(
  client: import("../../sdk/index.ts").HubClient,
  name: string,
  error: unknown,
): Promise<unknown> {
  if (!(error instanceof ClawHubError) || error.code !== "UNAVAILABLE") return error;
  if (!error.message.startsWith("no connected agent serves")) return error;
  const names = new Set(
    (await client.agents().catch(() => [])).flatMap((a) => a.capabilities.map((c) => c.name)),
  );
  if (names.has(name)) return error;
  const near = [...names]
    .map((n) => ({ n, d: editDistance(n, name) }))
    .filter((x) => x.d <= Math.max(2, Math.floor(name.length / 4)) || x.n.includes(name))
    .sort((a, b) => a.d - b.d || a.n.localeCompare(b.n))
    .slice(0, 3)
    .map((x) => x.n);
  return new ClawHubError("NOT_FOUND", `no connected agent has a capability named "${name}"`, {
    hint:
      near.length > 0
        ? `Did you mean ${near.map((n) => `"${n}"`).join(" or ")}? (\`clawhub agents\` lists them all)`
        : "`clawhub agents` lists the capabilities connected; `clawhub call --query` picks one by meaning.",
    details: { capability: name, suggestions: near },
  });
}

/** Levenshtein distance, for short names only (both are capped by the name pattern). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = row;
  }
  return prev[b.length] as number;
}
