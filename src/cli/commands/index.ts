import type { CommandSpec } from "../command.ts";

/**
 * Every command of the CLI, by its words and where its code lives. Modules load when their
 * command runs: `clawhub agents` loads the hub client, never the registry or the search engine.
 * Adding a command is a spec in its module and a line here (a test checks the two agree).
 */
export interface CommandEntry {
  path: readonly string[];
  load(): Promise<CommandSpec>;
}

const entry = <M>(
  path: string[],
  module: () => Promise<M>,
  pick: (m: M) => CommandSpec,
): CommandEntry => ({ path, load: async () => pick(await module()) });

const admin = () => import("./admin.ts");
const auth = () => import("./auth.ts");
const discover = () => import("./discover.ts");
const flow = () => import("./flow.ts");
const hub = () => import("./hub.ts");
const hubIdentity = () => import("./hub-identity.ts");
const install = () => import("./install.ts");
const manage = () => import("./manage.ts");
const org = () => import("./org.ts");
const publish = () => import("./publish.ts");

export const COMMAND_ENTRIES: ReadonlyArray<CommandEntry> = [
  entry(
    ["skill", "init"],
    () => import("./skill-init.ts"),
    (m) => m.skillInit,
  ),
  entry(
    ["skill", "validate"],
    () => import("./skill-validate.ts"),
    (m) => m.skillValidate,
  ),
  entry(
    ["skill", "pack"],
    () => import("./skill-pack.ts"),
    (m) => m.skillPack,
  ),
  entry(
    ["skill", "unpack"],
    () => import("./skill-unpack.ts"),
    (m) => m.skillUnpack,
  ),
  entry(["skill", "publish"], publish, (m) => m.publishCommand),
  entry(["publish"], publish, (m) => m.publishAlias),
  entry(
    ["serve"],
    () => import("./serve.ts"),
    (m) => m.serveCommand,
  ),
  entry(["login"], auth, (m) => m.loginCommand),
  entry(["logout"], auth, (m) => m.logoutCommand),
  entry(["whoami"], auth, (m) => m.whoamiCommand),
  entry(["token"], auth, (m) => m.tokenCommand),
  entry(["search"], discover, (m) => m.searchCommand),
  entry(["explore"], discover, (m) => m.exploreCommand),
  entry(["inspect"], discover, (m) => m.inspectCommand),
  entry(["install"], install, (m) => m.installCommand),
  entry(["update"], install, (m) => m.updateCommand),
  entry(["uninstall"], install, (m) => m.uninstallCommand),
  entry(["list"], install, (m) => m.listCommand),
  entry(["verify"], install, (m) => m.verifyCommand),
  entry(["outdated"], install, (m) => m.outdatedCommand),
  entry(["pin"], install, (m) => m.pinCommand),
  entry(["unpin"], install, (m) => m.unpinCommand),
  entry(["sync"], publish, (m) => m.syncCommand),
  entry(["visibility"], org, (m) => m.visibilityCommand),
  entry(["delete"], manage, (m) => m.deleteCommand),
  entry(["undelete"], manage, (m) => m.undeleteCommand),
  entry(["star"], manage, (m) => m.starCommand),
  entry(["unstar"], manage, (m) => m.unstarCommand),
  entry(["tag"], manage, (m) => m.tagCommand),
  entry(["org", "create"], org, (m) => m.orgCreate),
  entry(["org", "add"], org, (m) => m.orgAdd),
  entry(["org", "remove"], org, (m) => m.orgRemove),
  entry(["org", "list"], org, (m) => m.orgList),
  entry(["admin", "user", "create"], admin, (m) => m.adminUserCreate),
  entry(["admin", "user", "list"], admin, (m) => m.adminUserList),
  entry(["admin", "user", "disable"], admin, (m) => m.adminUserDisable),
  entry(["admin", "token", "create"], admin, (m) => m.adminTokenCreate),
  entry(["admin", "token", "list"], admin, (m) => m.adminTokenList),
  entry(["admin", "token", "revoke"], admin, (m) => m.adminTokenRevoke),
  entry(["admin", "reset-token"], admin, (m) => m.adminResetToken),
  entry(["admin", "gc"], admin, (m) => m.adminGc),
  entry(["hub"], hub, (m) => m.hubCommand),
  entry(["hub", "enroll"], hubIdentity, (m) => m.hubEnroll),
  entry(["hub", "login"], hubIdentity, (m) => m.hubLogin),
  entry(["hub", "identities"], hubIdentity, (m) => m.hubIdentities),
  entry(["hub", "revoke"], hubIdentity, (m) => m.hubRevoke),
  entry(["agents"], hub, (m) => m.agentsCommand),
  entry(["discover"], hub, (m) => m.discoverCommand),
  entry(["call"], hub, (m) => m.callCommand),
  entry(["flow", "validate"], flow, (m) => m.flowValidate),
  entry(["flow", "graph"], flow, (m) => m.flowGraph),
  entry(["run"], flow, (m) => m.runCommand),
  entry(["runs", "list"], flow, (m) => m.runsList),
  entry(["runs", "show"], flow, (m) => m.runsShow),
  entry(["runs", "cancel"], flow, (m) => m.runsCancel),
  entry(["runs", "resume"], flow, (m) => m.runsResume),
  entry(
    ["moderation", "status"],
    () => import("./moderation.ts"),
    (m) => m.moderationStatus,
  ),
  entry(
    ["moderation", "rescan"],
    () => import("./moderation.ts"),
    (m) => m.moderationRescan,
  ),
  entry(
    ["moderation", "appeal"],
    () => import("./moderation.ts"),
    (m) => m.moderationAppeal,
  ),
  entry(
    ["moderation", "notifications"],
    () => import("./moderation.ts"),
    (m) => m.moderationNotifications,
  ),
  entry(
    ["admin", "moderation", "queue"],
    () => import("./moderation.ts"),
    (m) => m.adminModerationQueue,
  ),
  entry(
    ["admin", "moderation", "approve"],
    () => import("./moderation.ts"),
    (m) => m.adminModerationApprove,
  ),
  entry(
    ["admin", "moderation", "reject"],
    () => import("./moderation.ts"),
    (m) => m.adminModerationReject,
  ),
  entry(
    ["keys", "generate"],
    () => import("./keys.ts"),
    (m) => m.keysGenerate,
  ),
  entry(
    ["keys", "add"],
    () => import("./keys.ts"),
    (m) => m.keysAdd,
  ),
  entry(
    ["keys", "list"],
    () => import("./keys.ts"),
    (m) => m.keysList,
  ),
  entry(
    ["keys", "revoke"],
    () => import("./keys.ts"),
    (m) => m.keysRevoke,
  ),
  entry(
    ["log", "checkpoint"],
    () => import("./log.ts"),
    (m) => m.logCheckpoint,
  ),
  entry(
    ["log", "proof"],
    () => import("./log.ts"),
    (m) => m.logProof,
  ),
  entry(
    ["log", "monitor"],
    () => import("./log.ts"),
    (m) => m.logMonitor,
  ),
  entry(
    ["scan"],
    () => import("./scan.ts"),
    (m) => m.scanCommand,
  ),
  entry(
    ["audit", "verify"],
    () => import("./audit.ts"),
    (m) => m.auditVerify,
  ),
  entry(
    ["audit", "log"],
    () => import("./audit.ts"),
    (m) => m.auditLog,
  ),
  entry(
    ["audit", "export"],
    () => import("./audit.ts"),
    (m) => m.auditExport,
  ),
  entry(
    ["completion"],
    () => import("./completion.ts"),
    (m) => m.completionCommand,
  ),
  entry(
    ["demo"],
    () => import("./demo.ts"),
    (m) => m.demoCommand,
  ),
];

/** Global options that take a value: their value is not a command word. */
const VALUE_OPTIONS = new Set(["--registry", "--workdir", "--dir"]);

/**
 * The specs `argv` needs: the one command it names (the longest path its leading words match),
 * or every command when it names none or only a group (help, a typo, `clawhub skill`).
 */
export async function loadCommands(argv: readonly string[]): Promise<CommandSpec[]> {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") break;
    if (arg.startsWith("-")) {
      if (VALUE_OPTIONS.has(arg)) i++;
      continue;
    }
    words.push(arg);
  }
  let best: CommandEntry | undefined;
  for (const e of COMMAND_ENTRIES)
    if (e.path.every((w, i) => words[i] === w) && (!best || e.path.length > best.path.length))
      best = e;
  const helpAsked = argv.includes("--help") || argv.includes("-h");
  // `clawhub flow --help` lists the group: every command under it is needed.
  if (best && !(helpAsked && words.length < best.path.length)) return [await best.load()];
  return Promise.all(COMMAND_ENTRIES.map((e) => e.load()));
}

/** Every command's spec (loads every command module). */
export async function allCommands(): Promise<CommandSpec[]> {
  return Promise.all(COMMAND_ENTRIES.map((e) => e.load()));
}
