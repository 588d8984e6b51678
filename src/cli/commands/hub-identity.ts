/**
 * `clawhub hub enroll|login|identities|revoke`: identities of a secured hub (`clawhub hub
 * --tls`). The operator on the hub's machine holds an admin identity the hub made on start;
 * `enroll` mints a one-time token for an agent or a caller, which `login` (or the SDK's
 * `enrollToken`) exchanges for a certificate. See docs/security.md.
 */
import { ClawHubError } from "../../errors/index.ts";
import type { HubAdmin } from "../../sdk/index.ts";
import type { CommandContext, CommandSpec } from "../command.ts";
import { table } from "../output.ts";
import { loadHubCredentials, saveHubCredentials } from "./hub-credentials.ts";
import { choiceFlag, durationFlag, intFlag } from "./hub-options.ts";
import { collect, hubOption } from "./shared.ts";

/**
 * The IdentityService of the resolved hub, as the identity stored for it; UNAUTHENTICATED saying
 * how to get one otherwise (`more` adds what else the command can do).
 */
export async function openHubAdmin(ctx: CommandContext, more?: string): Promise<HubAdmin> {
  const stored = await loadHubCredentials(ctx, ctx.config.hub);
  if (!stored)
    throw new ClawHubError("UNAUTHENTICATED", `no identity for the hub at ${ctx.config.hub}`, {
      hint:
        "On the hub's machine, `clawhub hub` stores the operator's admin identity on start; " +
        `elsewhere, \`clawhub hub login --token che_...\` with a token from the operator.${more ? ` ${more}` : ""}`,
    });
  const { createHubAdmin } = await import("../../sdk/index.ts");
  return createHubAdmin({ hub: ctx.config.hub, tls: stored });
}

/** Runs `fn` with {@link openHubAdmin}'s client, closed afterwards. */
async function withAdmin<T>(ctx: CommandContext, fn: (admin: HubAdmin) => Promise<T>): Promise<T> {
  const admin = await openHubAdmin(ctx);
  try {
    return await fn(admin);
  } finally {
    admin.close();
  }
}

const when = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** A time left, coarse: `45s`, `14m`, `23h`, `3d`. */
function remaining(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** `k=v` labels from repeated `--label`. */
function labelsOf(values: unknown): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of Array.isArray(values) ? values.map(String) : []) {
    const at = pair.indexOf("=");
    if (at < 1) throw new ClawHubError("USAGE", `--label takes key=value, got "${pair}"`);
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return labels;
}

/** An identity as typed: a full SPIFFE URI, `agent/<name>` or `caller/<name>`. */
function identityOf(value: string, trustDomain: string): string {
  if (value.startsWith("spiffe://")) return value;
  const m = /^(agent|caller)\/(.+)$/.exec(value);
  if (!m)
    throw new ClawHubError(
      "USAGE",
      `name an identity: agent/<name>, caller/<name> or spiffe://...`,
    );
  return `spiffe://${trustDomain}/${m[1]}/${m[2]}`;
}

export const hubEnroll: CommandSpec = {
  path: ["hub", "enroll"],
  args: "<name>",
  summary: "mint a one-time enrollment token for an agent or a caller (admin)",
  help:
    "The token is shown once. The process that holds it runs `clawhub hub login --token <t>`, or\n" +
    "passes it to the SDK: createAgent({ enrollToken }), createHubClient({ enrollToken }). What the\n" +
    "hub trusts about the identity (roles, labels) comes from here, never from the process.",
  configure(cmd) {
    hubOption(cmd);
    cmd.option("--kind <kind>", "agent or caller", "agent");
    cmd.option("--role <role>", "a role (repeatable; admin may enroll and revoke)", collect);
    cmd.option("--label <k=v>", "a label routing may trust (repeatable)", collect);
    cmd.option(
      "--capability <pattern>",
      "what an agent may serve: a name, `payments.*` or `text.>` (repeatable; default any)",
      collect,
    );
    cmd.option("--ttl <duration>", "how long the token may be redeemed", "15m");
    cmd.option(
      "--cert-ttl <duration>",
      "life of each certificate issued with it (at most 24h)",
      "15m",
    );
    cmd.option("--uses <n>", "how many processes may redeem it", "1");
  },
  async run(args, options, ctx) {
    const name = args[0] as string;
    const request = {
      name,
      kind: choiceFlag(options.kind, ["agent", "caller"] as const, "--kind"),
      roles: Array.isArray(options.role) ? options.role.map(String) : [],
      labels: labelsOf(options.label),
      capabilities: Array.isArray(options.capability) ? options.capability.map(String) : [],
      tokenTtlMs: durationFlag(options.ttl, "--ttl", 1000, 7 * 86_400_000),
      certTtlMs: durationFlag(options.certTtl, "--cert-ttl", 10_000, 86_400_000),
      uses: intFlag(options.uses, "--uses", 1, 1000),
    };
    const created = await withAdmin(ctx, (admin) => admin.createEnrollment(request));
    return {
      data: { ...created, expiresAt: when(created.expiresAt) },
      text:
        `${created.token}\n` +
        `\nToken for ${created.identity}, valid until ${when(created.expiresAt)} (${request.uses} use${request.uses === 1 ? "" : "s"}); shown once.\n` +
        `Use it with: clawhub hub login --hub ${ctx.config.hub} --token <token>\n` +
        `         or: createAgent({ hub: "${ctx.config.hub}", enrollToken })\n`,
    };
  },
};

export const hubLogin: CommandSpec = {
  path: ["hub", "login"],
  summary: "exchange an enrollment token for a certificate and store it for this hub",
  help:
    "The key is made here and never leaves this machine; key and certificate are stored (0600)\n" +
    "under the config directory, per hub address, and used by every command that talks to it.",
  configure(cmd) {
    hubOption(cmd);
    cmd.requiredOption("--token <token>", "the token `clawhub hub enroll` printed (che_...)");
  },
  async run(_args, options, ctx) {
    const { enroll } = await import("../../sdk/index.ts");
    const identity = await enroll({ hub: ctx.config.hub, token: String(options.token) });
    const file = await saveHubCredentials(ctx, ctx.config.hub, {
      hub: ctx.config.hub,
      ...identity,
      issuedAt: ctx.now(),
    });
    return {
      data: {
        hub: ctx.config.hub,
        identity: identity.identity,
        roles: identity.roles,
        labels: identity.labels,
        notAfter: when(identity.notAfter),
        file,
      },
      text: `Logged in to ${ctx.config.hub} as ${identity.identity} until ${when(identity.notAfter)}\nCredentials: ${file}\n`,
    };
  },
};

export const hubIdentities: CommandSpec = {
  path: ["hub", "identities"],
  summary: "list the hub's identities with expiry and status (admin)",
  configure(cmd) {
    hubOption(cmd);
  },
  async run(_args, _options, ctx) {
    const list = await withAdmin(ctx, (admin) => admin.identities());
    const now = ctx.now();
    return {
      data: list.map((i) => ({ ...i, notAfter: when(i.notAfter), since: when(i.since) })),
      text: table([
        ["IDENTITY", "KIND", "STATUS", "EXPIRES", "ROLES", "LABELS"],
        ...list.map((i) => [
          i.identity,
          i.kind,
          i.status,
          i.notAfter > now ? `in ${remaining(i.notAfter - now)}` : when(i.notAfter),
          i.roles.join(",") || "-",
          Object.entries(i.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(",") || "-",
        ]),
      ]),
    };
  },
};

export const hubRevoke: CommandSpec = {
  path: ["hub", "revoke"],
  args: "<identity>",
  summary: "revoke an identity: its sessions end at once, its certificates are refused (admin)",
  configure(cmd) {
    hubOption(cmd);
  },
  async run(args, _options, ctx) {
    const stored = await loadHubCredentials(ctx, ctx.config.hub);
    const identity = identityOf(args[0] as string, stored?.trustDomain ?? "clawhub.local");
    const { sessionsEnded } = await withAdmin(ctx, (admin) => admin.revoke(identity));
    return {
      data: { identity, sessionsEnded },
      text: `Revoked ${identity}; ${sessionsEnded} session(s) ended.\n`,
    };
  },
};
