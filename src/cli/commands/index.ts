import type { CommandSpec } from "../command.ts";
import { serveCommand } from "./serve.ts";
import { skillInit } from "./skill-init.ts";
import { skillPack } from "./skill-pack.ts";
import { skillUnpack } from "./skill-unpack.ts";
import { skillValidate } from "./skill-validate.ts";

/** Every command of the CLI. Adding a command is adding a file and a line here. */
export const COMMANDS: ReadonlyArray<CommandSpec> = [
  skillInit,
  skillValidate,
  skillPack,
  skillUnpack,
  serveCommand,
];
