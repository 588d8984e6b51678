/**
 * `clawhub keys generate|add|list|revoke`: publisher signing keys (docs/security.md#signed-
 * versions). The private key stays in `keys/` beside the config file (0600 in 0700); only the
 * public key goes to the registry. `clawhub publish` signs with the default key when there is one.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { chmod, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ClawHubError } from "../../errors/index.ts";
import { ed25519RawKey, keyIdOf } from "../../trust/index.ts";
import type { CommandContext, CommandSpec } from "../command.ts";
import { clientFor } from "./shared.ts";

/** Where the CLI keeps publisher private keys. */
export const keysDir = (ctx: CommandContext) => join(dirname(ctx.config.configPath), "keys");

async function store(ctx: CommandContext, key: KeyObject): Promise<string> {
  const dir = keysDir(ctx);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const id = keyIdOf(key);
  const file = join(dir, `${id}.pem`);
  await writeFile(file, key.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
  await chmod(file, 0o600);
  await writeFile(join(dir, "default"), `${id}\n`, { mode: 0o600 });
  return id;
}

/**
 * The private key publish signs with: `--key <keyId|file>`, else the default one (the last
 * generated or added). Undefined when there is none.
 */
export async function signingKey(
  ctx: CommandContext,
  chosen?: string,
): Promise<{ id: string; key: KeyObject } | undefined> {
  const dir = keysDir(ctx);
  let file: string;
  if (chosen && /^[0-9a-f]{64}$/.test(chosen)) file = join(dir, `${chosen}.pem`);
  else if (chosen) file = resolve(ctx.cwd, chosen);
  else {
    const id = (await readFile(join(dir, "default"), "utf8").catch(() => "")).trim();
    if (!/^[0-9a-f]{64}$/.test(id)) return undefined;
    file = join(dir, `${id}.pem`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(await readFile(file, "utf8"));
  } catch (error) {
    throw new ClawHubError("CONFIG_INVALID", `cannot read the signing key ${file}`, {
      cause: error,
      hint: "`clawhub keys list` shows your keys; `clawhub keys generate` makes one.",
    });
  }
  if (key.asymmetricKeyType !== "ed25519")
    throw new ClawHubError("CONFIG_INVALID", `${file} is not an Ed25519 private key`);
  return { id: keyIdOf(key), key };
}

/** `clawhub keys generate`. */
export const keysGenerate: CommandSpec = {
  path: ["keys", "generate"],
  summary: "make an Ed25519 signing key, register its public half, and sign publishes with it",
  help: "The private key is written to keys/<keyId>.pem beside the config file (0600) and becomes\nthe default signing key of `clawhub publish`. Needs a login (the key is registered to you).",
  configure(cmd) {
    cmd.option("--name <name>", "a label for the key (default: keys-<date>)");
  },
  async run(_args, options, ctx) {
    const client = await clientFor(ctx, { auth: true });
    const { privateKey } = generateKeyPairSync("ed25519");
    const name =
      typeof options.name === "string"
        ? options.name
        : `key-${new Date(ctx.now()).toISOString().slice(0, 10)}`;
    const { key } = await client.keys.add(name, ed25519RawKey(privateKey).toString("base64"));
    const id = await store(ctx, privateKey);
    return {
      data: { key, file: join(keysDir(ctx), `${id}.pem`), default: true },
      text: `Generated key ${key.keyId} ("${key.name}") for @${key.handle}; publishes are signed with it.\nPrivate key: ${join(keysDir(ctx), `${id}.pem`)} (keep it; the registry has only the public half)`,
    };
  },
};

/** `clawhub keys add <file>`. */
export const keysAdd: CommandSpec = {
  path: ["keys", "add"],
  args: "<file>",
  summary: "register a key you already have (PEM): a private key also becomes the signing key",
  configure(cmd) {
    cmd.option("--name <name>", "a label for the key", "added key");
  },
  async run([file = ""], options, ctx) {
    const text = await readFile(resolve(ctx.cwd, file), "utf8").catch((error: unknown) => {
      throw new ClawHubError("IO_ERROR", `cannot read ${file}`, { cause: error });
    });
    let privateKey: KeyObject | undefined;
    let publicKey: KeyObject;
    try {
      if (text.includes("PRIVATE KEY")) {
        privateKey = createPrivateKey(text);
        publicKey = createPublicKey(privateKey);
      } else publicKey = createPublicKey(text);
    } catch (error) {
      throw new ClawHubError("INVALID_ARGUMENT", `${file} holds no PEM key`, { cause: error });
    }
    if (publicKey.asymmetricKeyType !== "ed25519")
      throw new ClawHubError("INVALID_ARGUMENT", "publisher keys are Ed25519");
    const client = await clientFor(ctx, { auth: true });
    const { key } = await client.keys.add(
      String(options.name),
      ed25519RawKey(publicKey).toString("base64"),
    );
    if (privateKey) await store(ctx, privateKey);
    return {
      data: { key, signing: privateKey !== undefined },
      text: `Registered key ${key.keyId} ("${key.name}") for @${key.handle}${privateKey ? "; publishes are signed with it" : " (public half only: sign elsewhere)"}.`,
    };
  },
};

/** `clawhub keys list`. */
export const keysList: CommandSpec = {
  path: ["keys", "list"],
  summary: "your registered keys, which is the signing key, and which are revoked",
  async run(_args, _options, ctx) {
    const client = await clientFor(ctx, { auth: true });
    const { items } = await client.keys.list();
    const local = new Set(
      (await readdir(keysDir(ctx)).catch(() => [] as string[]))
        .filter((f) => f.endsWith(".pem"))
        .map((f) => f.slice(0, -4)),
    );
    const current = (await signingKey(ctx).catch(() => undefined))?.id;
    const rows = items.map((k) => ({
      ...k,
      local: local.has(k.keyId),
      signing: k.keyId === current,
    }));
    return {
      data: { keys: rows },
      text:
        rows
          .map(
            (k) =>
              `${k.signing ? "*" : " "} ${k.keyId}  ${k.name}  ${k.revokedAt ? `revoked ${new Date(k.revokedAt).toISOString()}` : `since ${new Date(k.createdAt).toISOString()}`}${k.local ? "" : "  (no private key here)"}`,
          )
          .join("\n") || "No keys. `clawhub keys generate` makes one.",
    };
  },
};

/** `clawhub keys revoke <keyId>`. */
export const keysRevoke: CommandSpec = {
  path: ["keys", "revoke"],
  args: "<keyId>",
  summary: "revoke a key: versions it signs from now on are refused (earlier ones still verify)",
  async run([keyId = ""], _options, ctx) {
    const client = await clientFor(ctx, { auth: true });
    await client.keys.revoke(keyId);
    // A revoked default key would make every later publish fail: publishes go unsigned (the
    // registry still signs) until another key is generated or added.
    const pointer = join(keysDir(ctx), "default");
    const wasDefault = (await readFile(pointer, "utf8").catch(() => "")).trim() === keyId;
    if (wasDefault) await rm(pointer, { force: true });
    return {
      data: { ok: true, keyId, wasDefault },
      text: `Revoked ${keyId}.${wasDefault ? " It was your signing key: publishes are unsigned until `clawhub keys generate` makes another." : ""}`,
    };
  },
};
