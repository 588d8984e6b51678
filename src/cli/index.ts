/** The `clawhub` command line: entry, configuration resolution and the command registry. */
export type { CommandContext, CommandResult, CommandSpec } from "./command.ts";
export { allCommands, COMMAND_ENTRIES, type CommandEntry, loadCommands } from "./commands/index.ts";
export {
  type ConfigFile,
  configPath,
  DEFAULT_REGISTRY,
  type Env,
  type ResolvedConfig,
  resolveConfig,
  updateConfigFile,
} from "./config.ts";
export { buildProgram, EXIT_CODES, type MainOptions, main } from "./main.ts";
export { type CliIo, createProgress, type Progress } from "./output.ts";
