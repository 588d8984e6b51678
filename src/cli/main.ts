import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import {
  type ClawHubError,
  type ErrorCategory,
  redactSecrets,
  toClawHubError,
} from "../errors/index.ts";
import { visibleText } from "../schema/index.ts";
import type { CommandContext, CommandResult, CommandSpec } from "./command.ts";
import { loadCommands } from "./commands/index.ts";
import { type Env, resolveConfig } from "./config.ts";
import { type CliIo, createProgress } from "./output.ts";

/** Exit codes: one per error category. */
export const EXIT_CODES: Record<ErrorCategory, number> = {
  user: 1,
  internal: 1,
  usage: 2,
  network: 3,
  security: 4,
};

/** Everything the CLI takes from its process, injected so tests can run it in-process. */
export interface MainOptions {
  io: CliIo;
  env: Env;
  cwd: string;
  now?: () => number;
  /** Resolves when the process should stop; default: never (tests stop servers themselves). */
  shutdown?: () => Promise<void>;
}

const VERSION = (() => {
  try {
    const pkg = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    return pkg.version;
  } catch {
    return "0.0.0";
  }
})();

/**
 * Runs the CLI with `argv` (without the node and script paths) and returns the exit code. The
 * only place that prints results and maps errors to text, hint and exit code.
 */
export async function main(argv: string[], options: MainOptions): Promise<number> {
  const { env, cwd } = options;
  // Everything printed passes through visibleText: skill names, descriptions, agent output and
  // error messages come from other people, and a control character in them would act on the
  // user's terminal (clear it, retitle it, plant a link). The progress line alone writes raw.
  const raw = options.io;
  const io: CliIo = {
    ...raw,
    stdout: { write: (text: string) => raw.stdout.write(visibleText(String(text))) },
    stderr: { write: (text: string) => raw.stderr.write(visibleText(String(text))) },
  };
  const json = argv.includes("--json");
  const rest = argv.filter((a) => a !== "--json");
  if (rest.length === 1 && (rest[0] === "--version" || rest[0] === "-V")) {
    io.stdout.write(json ? `${JSON.stringify({ version: VERSION })}\n` : `${VERSION}\n`);
    return 0;
  }
  let exitCode = 0;
  let commands: CommandSpec[];
  try {
    commands = await loadCommands(argv);
  } catch (error) {
    const err = toClawHubError(error);
    printError(io, json, err, env.CLAWHUB_DEBUG === "1" ? err : undefined);
    return EXIT_CODES[err.category];
  }
  const program = buildProgram(commands, io, async (spec, args, opts, cmd) => {
    const globals = cmd.optsWithGlobals() as Record<string, unknown>;
    const config = await resolveConfig({
      flags: {
        registry: globals.registry as string | undefined,
        workdir: globals.workdir as string | undefined,
        dir: globals.dir as string | undefined,
        input: globals.input as boolean | undefined,
        hub: globals.hub as string | undefined,
      },
      env,
      cwd,
    });
    const ctx: CommandContext = {
      config,
      io,
      json,
      cwd,
      now: options.now ?? Date.now,
      waitForShutdown: options.shutdown ?? (() => new Promise<void>(() => {})),
      progress: () =>
        createProgress(raw, { enabled: !json, ...(options.now ? { now: options.now } : {}) }),
    };
    const result: CommandResult = await spec.run(args, opts, ctx);
    if (json && result.data !== undefined)
      io.stdout.write(`${JSON.stringify(result.data, null, 2)}\n`);
    else if (result.text) io.stdout.write(`${result.text}\n`);
    exitCode = result.exitCode ?? 0;
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0; // --help, --version
      // A bare group (`clawhub org`) or a bare `clawhub`: its help was printed, and that is the
      // whole answer (git and kubectl do the same), not an error.
      if (error.code === "commander.help") return 0;
      const message = error.message.replace(/^error:\s*/i, "");
      printError(io, json, { code: "USAGE", message, hint: "Run `clawhub --help` for usage." });
      return EXIT_CODES.usage;
    }
    const err = toClawHubError(error);
    printError(io, json, err, env.CLAWHUB_DEBUG === "1" ? err : undefined);
    return EXIT_CODES[err.category];
  }
}

function printError(
  io: CliIo,
  json: boolean,
  err: Pick<ClawHubError, "code" | "message" | "hint"> & {
    details?: Record<string, unknown> | undefined;
    failure?: ClawHubError["failure"];
  },
  debug?: ClawHubError,
): void {
  const message = redactSecrets(err.message);
  if (json) {
    const body: Record<string, unknown> = { code: err.code, message };
    if (err.hint) body.hint = err.hint;
    // A task's failure travels whole (type, nonRetryable, its details) under details.failure,
    // so scripts branch on the agent's own type (docs/hub.md).
    if (err.details || err.failure)
      body.details = { ...err.details, ...(err.failure ? { failure: err.failure } : {}) };
    io.stdout.write(`${JSON.stringify({ error: body }, null, 2)}\n`);
    return;
  }
  io.stderr.write(`error: ${message}\n`);
  if (err.failure && err.failure.type !== err.code)
    io.stderr.write(
      `failure: ${err.failure.type}${err.failure.nonRetryable ? " (not retryable)" : ""}\n`,
    );
  const issues = err.details?.issues;
  if (Array.isArray(issues) && issues.length > 1) {
    for (const issue of issues as Array<{
      rule: string;
      message: string;
      line?: number;
      file?: string;
    }>) {
      io.stderr.write(
        `  ${issue.file ?? ""}${issue.line ? `:${issue.line}` : ""}  ${issue.rule}  ${issue.message}\n`,
      );
    }
  }
  if (err.hint) io.stderr.write(`hint: ${err.hint}\n`);
  if (debug?.cause instanceof Error && debug.cause.stack)
    io.stderr.write(`${redactSecrets(debug.cause.stack)}\n`);
}

type Runner = (
  spec: CommandSpec,
  args: string[],
  opts: Record<string, unknown>,
  cmd: Command,
) => Promise<void>;

/** Builds the commander tree from command specs. */
export function buildProgram(commands: readonly CommandSpec[], io: CliIo, runner: Runner): Command {
  const program = new Command("clawhub")
    // Set before subcommands are added so they inherit it. Usage errors are printed once, by
    // printError, in the common format.
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: () => {},
    })
    .description(
      "Package manager for AI-agent skills, self-hosted ClawHub registry, and agent hub.",
    )
    // Only -V here: subcommands have their own --version (publish, inspect, update), which a
    // program-level --version would swallow; a bare `clawhub --version` is answered in main,
    // and the help lists both spellings.
    .version(VERSION, "-V")
    .configureHelp({ optionTerm: (o) => (o.flags === "-V" ? "-V, --version" : o.flags) })
    .exitOverride()
    .showSuggestionAfterError(true)
    .addOption(new Option("--json", "machine-readable output (also for errors)"))
    .option("--registry <url>", "registry API base URL (env CLAWHUB_REGISTRY)")
    .option("--workdir <dir>", "working directory (env CLAWHUB_WORKDIR; default: cwd)")
    .option("--dir <dir>", "install directory under the workdir (default: skills)")
    .option("--no-input", "never prompt (implied when CI=true)");
  const groups = new Map<string, Command>();
  for (const spec of commands) {
    let parent = program;
    for (const [i, word] of spec.path.slice(0, -1).entries()) {
      const key = spec.path.slice(0, i + 1).join(" ");
      let group = groups.get(key);
      if (!group) {
        group = parent.command(word).description(groupDescriptions[word] ?? word);
        group.exitOverride();
        groups.set(key, group);
      }
      parent = group;
    }
    const name = spec.path[spec.path.length - 1] ?? "";
    // A command that is also a group (`hub`, with `hub enroll`...) was made as a group when a
    // subcommand came first: give that one its action instead of adding a second `hub`.
    const existing = groups.get(spec.path.join(" "));
    const cmd =
      existing && !spec.args
        ? existing.description(spec.summary)
        : parent.command(`${name}${spec.args ? ` ${spec.args}` : ""}`).description(spec.summary);
    groups.set(spec.path.join(" "), cmd);
    cmd.exitOverride();
    spec.configure?.(cmd);
    if (spec.help) cmd.addHelpText("after", `\n${spec.help}`);
    cmd.action(async (...received: unknown[]) => {
      const command = received[received.length - 1] as Command;
      const opts = received[received.length - 2] as Record<string, unknown>;
      const args = received
        .slice(0, -2)
        .flatMap((a) => (Array.isArray(a) ? a.map(String) : a === undefined ? [] : [String(a)]));
      await runner(spec, args, opts, command);
    });
  }
  return program;
}

const groupDescriptions: Record<string, string> = {
  skill: "author skills: init, validate, pack, unpack, publish",
  admin: "administer a registry: users and tokens (admin token), reset-token (on the server)",
  org: "organisations: create, add, remove, list (namespaces @org/slug with members)",
  user: "users: create, list, disable",
  token: "tokens: create, list, revoke",
  flow: "workflows: validate a flow file, draw its graph",
  audit: "audit trail of a secured hub: log, export, and verify an export offline",
  moderation:
    "moderation of flagged versions: status, rescan, appeal, notifications (admin moderation: queue, approve, reject)",
  keys: "publisher signing keys: generate, add, list, revoke (publishes are signed with them)",
  log: "the registry's transparency log: checkpoint, proof, monitor (checked against the pinned key)",
  runs: "workflow runs: list, show, cancel, resume (run ids match by unique prefix)",
};
