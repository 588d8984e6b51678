import type { CommandSpec } from "../command.ts";
import {
  adminTokenCreate,
  adminTokenList,
  adminTokenRevoke,
  adminUserCreate,
  adminUserDisable,
  adminUserList,
} from "./admin.ts";
import { loginCommand, logoutCommand, tokenCommand, whoamiCommand } from "./auth.ts";
import { demoCommand } from "./demo.ts";
import { exploreCommand, inspectCommand, searchCommand } from "./discover.ts";
import {
  flowGraph,
  flowValidate,
  runCommand,
  runsCancel,
  runsList,
  runsResume,
  runsShow,
} from "./flow.ts";
import { agentsCommand, callCommand, discoverCommand, hubCommand } from "./hub.ts";
import {
  installCommand,
  listCommand,
  pinCommand,
  uninstallCommand,
  unpinCommand,
  updateCommand,
} from "./install.ts";
import { publishAlias, publishCommand, syncCommand } from "./publish.ts";
import { serveCommand } from "./serve.ts";
import { skillInit } from "./skill-init.ts";
import { skillPack } from "./skill-pack.ts";
import { skillUnpack } from "./skill-unpack.ts";
import { skillValidate } from "./skill-validate.ts";

/** Every command of the CLI. Adding a command is adding a spec and a line here. */
export const COMMANDS: ReadonlyArray<CommandSpec> = [
  skillInit,
  skillValidate,
  skillPack,
  skillUnpack,
  publishCommand,
  publishAlias,
  serveCommand,
  loginCommand,
  logoutCommand,
  whoamiCommand,
  tokenCommand,
  searchCommand,
  exploreCommand,
  inspectCommand,
  installCommand,
  updateCommand,
  uninstallCommand,
  listCommand,
  pinCommand,
  unpinCommand,
  syncCommand,
  adminUserCreate,
  adminUserList,
  adminUserDisable,
  adminTokenCreate,
  adminTokenList,
  adminTokenRevoke,
  hubCommand,
  agentsCommand,
  discoverCommand,
  callCommand,
  flowValidate,
  flowGraph,
  runCommand,
  runsList,
  runsShow,
  runsCancel,
  runsResume,
  demoCommand,
];
