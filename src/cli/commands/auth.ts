import { createClient } from "../../client/index.ts";
import { ClawHubError } from "../../errors/index.ts";
import type { CommandSpec } from "../command.ts";
import { updateConfigFile } from "../config.ts";
import { clientFor } from "./shared.ts";

/** `clawhub login --token clh_...`: verifies the token and stores it with the registry. */
export const loginCommand: CommandSpec = {
  path: ["login"],
  summary: "store an API token (verified with the registry) in the config file",
  configure(cmd) {
    cmd.requiredOption("--token <token>", "API token (clh_...)");
  },
  async run(_args, options, ctx) {
    const token = String(options.token);
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
    const { user } = await (await clientFor(ctx, { auth: true })).whoami();
    return { data: user, text: user.handle ?? "" };
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
