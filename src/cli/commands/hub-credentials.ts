/**
 * Where the CLI keeps its identities for secured hubs, as kubeconfig keeps a cluster's: one file
 * per hub address under the config directory (`hubs/127.0.0.1_7070.json`, 0600 in a 0700
 * directory), holding the hub's CA, this user's certificate and its key. `clawhub hub` writes the
 * local operator's admin identity there on start; `clawhub hub login` writes an enrolled one.
 * Commands that talk to a hub (`agents`, `call`, `run`, `runs`, `hub enroll`...) read it.
 */
import { chmod, mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ClawHubError } from "../../errors/index.ts";
import type { LocalIdentity } from "../../hub/index.ts";
import { PRIVATE_DIR_MODE, writePrivateFile } from "../../schema/index.ts";
import type { CommandContext } from "../command.ts";

/** An identity for one hub, as stored: what the hub issued, and the hub's address. */
export interface HubCredentials extends LocalIdentity {
  hub: string;
  /** When the certificate was received (ms): it is renewed once two thirds of its life passed. */
  issuedAt?: number;
}

/**
 * The file name for a hub address. Loopback spellings (`localhost`, `0.0.0.0`, `[::1]`, `::`)
 * are one hub: a hub listening on all interfaces is reached at 127.0.0.1 by its operator.
 */
export function credentialsKey(address: string): string {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address.trim());
  if (!m) throw new ClawHubError("USAGE", `not a host:port hub address: ${address}`);
  const host = (m[1] as string).toLowerCase();
  const local = ["localhost", "127.0.0.1", "0.0.0.0", "::1", "::", ""].includes(host);
  return `${(local ? "127.0.0.1" : host).replace(/[^a-z0-9.-]/g, "_")}_${m[2]}`;
}

const fileOf = (ctx: CommandContext, address: string) =>
  join(dirname(ctx.config.configPath), "hubs", `${credentialsKey(address)}.json`);

/** The stored identity for `address`, if any. */
export async function loadHubCredentials(
  ctx: CommandContext,
  address: string,
): Promise<HubCredentials | undefined> {
  let text: string;
  try {
    text = await readFile(fileOf(ctx, address), "utf8");
  } catch {
    return undefined;
  }
  const parsed = JSON.parse(text) as Partial<HubCredentials>;
  if (
    typeof parsed.caPem !== "string" ||
    typeof parsed.certPem !== "string" ||
    typeof parsed.keyPem !== "string"
  )
    throw new ClawHubError("INVALID_ARGUMENT", `${fileOf(ctx, address)} is not a hub identity`, {
      hint: "Log in again: `clawhub hub login --token che_...`.",
    });
  return renewIfDue(ctx, address, parsed as HubCredentials);
}

/**
 * A stored certificate past two thirds of its life is renewed for the same key before it is
 * used (as the SDK does for long-running processes), so a `hub login` lasts as long as it is
 * used. A failed renewal leaves it as it was: the hub says why when it is refused.
 */
async function renewIfDue(
  ctx: CommandContext,
  address: string,
  stored: HubCredentials,
): Promise<HubCredentials> {
  const now = ctx.now();
  const issuedAt = stored.issuedAt;
  if (issuedAt === undefined || now >= stored.notAfter) return stored;
  if (now < issuedAt + ((stored.notAfter - issuedAt) * 2) / 3) return stored;
  try {
    const { renewCertificate } = await import("../../sdk/index.ts");
    const renewed = await renewCertificate(address, stored);
    const next = { ...stored, certPem: renewed.certPem, notAfter: renewed.notAfter, issuedAt: now };
    await saveHubCredentials(ctx, address, next);
    return next;
  } catch {
    return stored;
  }
}

/** Stores an identity for `address` (owner-only, written whole then renamed into place). */
export async function saveHubCredentials(
  ctx: CommandContext,
  address: string,
  credentials: HubCredentials,
): Promise<string> {
  const file = fileOf(ctx, address);
  await writePrivateJson(file, credentials);
  return file;
}

/** Writes JSON owner-only (its directory made 0700: ours), whatever the umask, atomically. */
export async function writePrivateJson(file: string, value: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  await chmod(dirname(file), PRIVATE_DIR_MODE);
  await writePrivateFile(file, `${JSON.stringify(value, null, 2)}\n`);
}
