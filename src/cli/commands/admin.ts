import type { CommandSpec } from "../command.ts";
import { table } from "../output.ts";
import { clientFor } from "./shared.ts";

const when = (ms: number | null) =>
  ms === null ? "-" : new Date(ms).toISOString().slice(0, 16).replace("T", " ");

export const adminUserCreate: CommandSpec = {
  path: ["admin", "user", "create"],
  args: "<handle>",
  summary: "create a user (admin)",
  configure(cmd) {
    cmd.option("--role <role>", "user|moderator|admin", "user");
  },
  async run([handle = ""], options, ctx) {
    const user = await (await clientFor(ctx, { auth: true })).admin.createUser(
      handle,
      String(options.role),
    );
    return { data: user, text: `Created @${user.handle} (${user.role})` };
  },
};

export const adminUserList: CommandSpec = {
  path: ["admin", "user", "list"],
  summary: "list users (admin)",
  async run(_args, _options, ctx) {
    const { items } = await (await clientFor(ctx, { auth: true })).admin.listUsers();
    return {
      data: { items },
      text: table(
        items.map((u) => [
          `@${u.handle}`,
          u.role,
          u.disabled ? "disabled" : "active",
          when(u.createdAt),
        ]),
      ),
    };
  },
};

export const adminUserDisable: CommandSpec = {
  path: ["admin", "user", "disable"],
  args: "<handle>",
  summary: "disable a user: their tokens stop working (admin)",
  configure(cmd) {
    cmd.option("--enable", "enable the user again instead");
  },
  async run([handle = ""], options, ctx) {
    await (await clientFor(ctx, { auth: true })).admin.setDisabled(handle, options.enable !== true);
    return {
      data: { handle, disabled: options.enable !== true },
      text: `${options.enable ? "Enabled" : "Disabled"} @${handle}`,
    };
  },
};

export const adminTokenCreate: CommandSpec = {
  path: ["admin", "token", "create"],
  args: "<handle>",
  summary: "create an API token for a user; it is shown once (admin)",
  configure(cmd) {
    cmd.option("--name <name>", "label", "cli");
    cmd.option("--expires-days <n>", "expire after this many days");
  },
  async run([handle = ""], options, ctx) {
    const created = await (await clientFor(ctx, { auth: true })).admin.createToken(handle, {
      name: String(options.name),
      ...(options.expiresDays ? { expiresInDays: Number(options.expiresDays) } : {}),
    });
    return {
      data: created,
      text: `${created.token}\n(token ${created.id} for @${handle}; shown only now${created.expiresAt ? `, expires ${when(created.expiresAt)}` : ""})`,
    };
  },
};

export const adminTokenList: CommandSpec = {
  path: ["admin", "token", "list"],
  summary: "list tokens (never their secrets) (admin)",
  configure(cmd) {
    cmd.option("--user <handle>", "only this user's tokens");
  },
  async run(_args, options, ctx) {
    const { items } = await (await clientFor(ctx, { auth: true })).admin.listTokens(
      typeof options.user === "string" ? options.user : undefined,
    );
    const rows = items.map((t) => [
      t.id,
      `@${t.handle}`,
      t.name,
      `${t.prefix}…`,
      t.revokedAt ? "revoked" : t.expiresAt && t.expiresAt < ctx.now() ? "expired" : "active",
      `used ${when(t.lastUsedAt)}`,
    ]);
    return { data: { items }, text: table(rows) };
  },
};

export const adminTokenRevoke: CommandSpec = {
  path: ["admin", "token", "revoke"],
  args: "<id>",
  summary: "revoke a token (admin)",
  async run([id = ""], _options, ctx) {
    await (await clientFor(ctx, { auth: true })).admin.revokeToken(id);
    return { data: { id, revoked: true }, text: `Revoked ${id}` };
  },
};
