import { createClient } from "../../client/index.ts";
import { ClawHubError } from "../../errors/index.ts";
import { visibleText } from "../../schema/index.ts";
import type { CommandSpec } from "../command.ts";
import { updateConfigFile } from "../config.ts";
import { clientFor } from "./shared.ts";

/** `clawhub login`: verifies a token and stores it with the registry. */
export const loginCommand: CommandSpec = {
  path: ["login"],
  summary: "store an API token (verified with the registry) in the config file",
  help:
    'Without --token: --token-stdin reads it from standard input (echo "$TOKEN" | clawhub login\n' +
    "--token-stdin), else a terminal prompts for it without echo. Both keep the token out of your\n" +
    "shell history; --token is for scripts that already hold it in a variable.",
  configure(cmd) {
    cmd.option("--token <token>", "API token (clh_...); visible in shell history and ps");
    cmd.option("--token-stdin", "read the token from standard input");
  },
  async run(_args, options, ctx) {
    let token: string;
    if (typeof options.token === "string") token = options.token.trim();
    else if (options.tokenStdin === true) {
      if (!ctx.io.readStdin)
        throw new ClawHubError("USAGE", "--token-stdin: there is no standard input to read");
      token = (await ctx.io.readStdin()).trim();
    } else if (ctx.io.askSecret && !ctx.config.noInput) {
      token = (await ctx.io.askSecret(`API token for ${ctx.config.registry}: `)).trim();
    } else
      throw new ClawHubError("USAGE", "no token given: pass --token-stdin, or --token clh_...", {
        hint: 'echo "$CLAWHUB_TOKEN" | clawhub login --token-stdin',
      });
    if (!token) throw new ClawHubError("USAGE", "the token is empty");
    const client = createClient({ registry: ctx.config.registry, token });
    const { user } = await client.whoami();
    await updateConfigFile(ctx.config.configPath, { registry: ctx.config.registry, token });
    return {
      data: {
        handle: user.handle,
        registry: ctx.config.registry,
        configPath: ctx.config.configPath,
      },
      text: `OK. Logged in as @${user.handle} on ${ctx.config.registry}`,
    };
  },
};

/** `clawhub logout`: removes the stored token. */
export const logoutCommand: CommandSpec = {
  path: ["logout"],
  summary: "remove the stored API token",
  async run(_args, _options, ctx) {
    await updateConfigFile(ctx.config.configPath, { token: undefined });
    return { data: { ok: true }, text: "Logged out." };
  },
};

/** `clawhub whoami`. */
export const whoamiCommand: CommandSpec = {
  path: ["whoami"],
  summary: "show the user of the stored token",
  async run(_args, _options, ctx) {
    const { user, notifications = [] } = await (await clientFor(ctx, { auth: true })).whoami();
    return {
      data: { ...user, notifications },
      text: [
        user.handle ?? "",
        ...(notifications.length > 0
          ? [
              `${notifications.length} recent notification${notifications.length === 1 ? "" : "s"} about your versions (all: clawhub moderation notifications):`,
              ...notifications.map((n) => `  ${visibleText(n.subject)}: ${visibleText(n.message)}`),
            ]
          : []),
      ].join("\n"),
    };
  },
};

/** `clawhub token`: prints the stored token, as the official CLI does. */
export const tokenCommand: CommandSpec = {
  path: ["token"],
  summary: "print the stored API token",
  async run(_args, _options, ctx) {
    if (!ctx.config.token)
      throw new ClawHubError("UNAUTHENTICATED", "no token stored", {
        hint: "Run `clawhub login --token clh_...`.",
      });
    return { data: { token: ctx.config.token }, text: ctx.config.token };
  },
};
