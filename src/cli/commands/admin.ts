import { ClawHubError } from "../../errors/index.ts";
import type { CommandSpec } from "../command.ts";
import { table } from "../output.ts";
import { intFlag } from "./hub-options.ts";
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
      ...(options.expiresDays !== undefined
        ? { expiresInDays: intFlag(options.expiresDays, "--expires-days", 1, 3650) }
        : {}),
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

/**
 * `clawhub admin reset-token --data DIR`: local recovery on the server machine. Opens the
 * registry's database directly (whoever can read --data owns the registry anyway), re-enables
 * the admin and issues a new token. Works with the server running (SQLite WAL, PostgreSQL).
 */
export const adminResetToken: CommandSpec = {
  path: ["admin", "reset-token"],
  summary: "issue a new admin token from the server's data directory (lost admin access)",
  help: "Run on the server machine with the --data (and --db) that `clawhub serve` uses. With no\nadmin left, creates @admin. The new token is shown once; the old ones stay valid.",
  configure(cmd) {
    cmd.option("--data <dir>", "the registry's data directory (default: as clawhub serve)");
    cmd.option("--db <url>", "the registry's database, when not SQLite under --data");
    cmd.option("--handle <handle>", "the admin to recover (default: the first admin)");
  },
  async run(_args, options, ctx) {
    const { resolve, join } = await import("node:path");
    const { existsSync } = await import("node:fs");
    const { defaultDataDir } = await import("./shared.ts");
    const registryModule = await import("../../registry/index.ts");
    const dataDir = resolve(
      ctx.cwd,
      typeof options.data === "string" ? options.data : defaultDataDir(ctx),
    );
    const db = typeof options.db === "string" ? options.db : undefined;
    if (!db && !existsSync(join(dataDir, "registry.db")))
      throw new ClawHubError("NOT_FOUND", `no registry database in ${dataDir}`, {
        hint: "Pass the --data directory that clawhub serve uses (or --db for PostgreSQL).",
      });
    const store = await registryModule.openStore({ dataDir, db });
    try {
      const registry = registryModule.createRegistry({
        store,
        blobs: registryModule.createFsBlobStore(join(dataDir, "blobs")),
      });
      const users = await registry.listUsers();
      const wanted =
        typeof options.handle === "string" ? options.handle.replace(/^@/, "") : undefined;
      let admin = wanted
        ? users.find((u) => u.handle === wanted)
        : (users.find((u) => u.role === "admin" && !u.disabled) ??
          users.find((u) => u.role === "admin"));
      if (wanted && !admin) throw new ClawHubError("NOT_FOUND", `no user @${wanted} in ${dataDir}`);
      if (admin && admin.role !== "admin")
        throw new ClawHubError("INVALID_ARGUMENT", `@${admin.handle} is not an admin`);
      const created = !admin;
      admin ??= await registry.createUser("admin", "admin", "Administrator");
      if (admin.disabled) await registry.setUserDisabled(admin.handle, false);
      const { token } = await registry.createToken(admin.handle, { name: "reset-token" });
      return {
        data: { handle: admin.handle, token, created },
        text: `${created ? "Created" : "Recovered"} @${admin.handle}. Its new token is shown only now:\n  ${token}`,
      };
    } finally {
      await store.close();
    }
  },
};

/** `clawhub admin gc`: removes blobs nothing refers to (the server also does it at start). */
export const adminGc: CommandSpec = {
  path: ["admin", "gc"],
  summary: "remove stored files that no version or upload refers to (admin)",
  help: "Blobs younger than --grace are kept: a publish in flight writes its files before its rows.\nThe server runs the same collection in the background at every start.",
  configure(cmd) {
    cmd.option("--grace <seconds>", "keep unreferenced blobs younger than this", "3600");
  },
  async run(_args, options, ctx) {
    const grace = intFlag(options.grace, "--grace", 0, 30 * 86_400);
    const r = await (await clientFor(ctx, { auth: true })).admin.gc(grace);
    return {
      data: r,
      text: `Removed ${r.removed} of ${r.scanned} blobs (${r.bytes} bytes), ${r.temporary} temporary files and ${r.uploadsExpired ?? 0} expired uploads.`,
    };
  },
};
