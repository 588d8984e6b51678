import type { Command } from "commander";
import type { ResolvedConfig } from "./config.ts";
import type { CliIo, Progress } from "./output.ts";

/** What a command handler gets: resolved config and output helpers, nothing global. */
export interface CommandContext {
  config: ResolvedConfig;
  io: CliIo;
  /** `--json` was given: the entry prints `data` as JSON instead of `text`. */
  json: boolean;
  cwd: string;
  progress(): Progress;
  now(): number;
  /** Resolves when the process is asked to stop (SIGINT or SIGTERM), for long-running commands. */
  waitForShutdown(): Promise<void>;
}

/** What a handler returns; only the CLI entry prints it and sets the exit code. */
export interface CommandResult {
  /** Printed as JSON under `--json` (nothing when undefined: the command printed as it ran). */
  data: unknown;
  /** Printed for humans otherwise. */
  text: string;
  /** Defaults to 0. */
  exitCode?: number;
}

/** One command of the registry: its place in the tree, its flags, and its handler. */
export interface CommandSpec {
  /** Words of the command, e.g. ["skill", "validate"]. */
  path: string[];
  /** Arguments in commander syntax, e.g. "<dir...>". */
  args?: string;
  summary: string;
  /** Longer help shown after the options. */
  help?: string;
  /** Adds the command's options. */
  configure?(cmd: Command): void;
  run(
    args: string[],
    options: Record<string, unknown>,
    ctx: CommandContext,
  ): Promise<CommandResult>;
}
