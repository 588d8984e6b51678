import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ClawHubError } from "../../errors/index.ts";
import type { CommandContext, CommandSpec } from "../command.ts";
import { table } from "../output.ts";
import { durationFlag } from "./hub-options.ts";
import { hubOption } from "./shared.ts";

/** `clawhub audit verify <file>`: checks an exported audit log, offline. */
export const auditVerify: CommandSpec = {
  path: ["audit", "verify"],
  args: "<file>",
  summary: "verify an exported audit log: hash chain and signed checkpoints",
  help:
    "Exit 0 when intact; 4 naming the first broken entry: edited, deleted, reordered, truncated\n" +
    "or forged. --key is the hub's public key (PEM), obtained from the hub, not from the file:\n" +
    "without it the key in the file's first line is used, which catches damage and edits but not\n" +
    "a complete forgery made with another key.",
  configure(cmd) {
    cmd.option("--key <file>", "the hub's audit public key (PEM)");
  },
  async run([file = ""], options, ctx) {
    const text = await readFile(resolve(ctx.cwd, file), "utf8").catch(() => {
      throw new ClawHubError("NOT_FOUND", `no such file: ${file}`);
    });
    const key =
      typeof options.key === "string"
        ? await readFile(resolve(ctx.cwd, options.key), "utf8")
        : undefined;
    const { verifyAuditLog } = await import("../../audit/index.ts");
    const verdict = verifyAuditLog(text, key);
    if (!verdict.ok)
      throw new ClawHubError(
        "INTEGRITY_MISMATCH",
        `${file}:${verdict.line}: ${verdict.problem}: ${verdict.message}`,
        {
          details: verdict,
        },
      );
    return {
      data: verdict,
      text: `OK. ${verdict.from > 1 ? `entries ${verdict.from}..${verdict.entries} (older ones dropped by retention; verified from a signed head)` : `${verdict.entries} entries`}, ${verdict.checkpoints} signed checkpoints, head ${verdict.head.slice(0, 16)}${key ? "" : " (key from the file: pass --key to rule out a forgery)"}`,
    };
  },
};

/**
 * The audit log of a hub: from the running hub (its IdentityService, as an admin identity
 * stored for it), or with `--data` from a stopped hub's data directory.
 */
async function auditSource(ctx: CommandContext, options: Record<string, unknown>) {
  if (typeof options.data === "string") {
    const dataDir = resolve(ctx.cwd, options.data);
    const dir = join(dataDir, "identity");
    if (!existsSync(join(dir, "audit.key.pem")))
      throw new ClawHubError("NOT_FOUND", `${dataDir} holds no secured hub's audit log`, {
        hint: "--data is the hub's data directory (of `clawhub hub --tls`, or <serve data>/hub).",
      });
    const { openControlPlane } = await import("./hub.ts");
    const { openHubAudit } = await import("../../hub/index.ts");
    const controlPlane = await openControlPlane(dataDir);
    const audit = await openHubAudit({ dir, controlPlane });
    return {
      async entries() {
        return (await audit.lines()).filter((l) => l.type === "entry") as unknown as Entry[];
      },
      export: () => audit.export(),
      close: async () => {
        audit.release();
        await controlPlane.close();
      },
    };
  }
  const { openHubAdmin } = await import("./hub-identity.ts");
  const admin = await openHubAdmin(
    ctx,
    "When the hub is stopped, pass --data <its data directory>.",
  );
  return {
    entries: () => admin.auditLog() as Promise<Entry[]>,
    export: () => admin.auditExport(),
    close: async () => admin.close(),
  };
}

type Entry = Record<string, unknown> & {
  seq: number;
  time: number;
  kind: string;
  actor?: string;
  onBehalfOf?: string;
  capability?: string;
  outcome?: string;
  reason?: string;
};

/** `--since`: a duration back from now (`1h`) or a date (`2026-12-06T10:00Z`). */
function sinceOf(value: unknown, now: number): number {
  if (value === undefined) return 0;
  const text = String(value);
  const at = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && Number.isFinite(at)) return at;
  return now - durationFlag(text, "--since");
}

/** `clawhub audit log`: what the hub decided, filtered. */
export const auditLog: CommandSpec = {
  path: ["audit", "log"],
  summary: "show a secured hub's audit entries (enrollments, registrations, calls, results)",
  help:
    "Reads the running hub (as an admin identity stored for it), or with --data a stopped hub's\n" +
    "data directory. Entries name digests, never inputs or outputs.",
  configure(cmd) {
    hubOption(cmd);
    cmd.option("--since <when>", "only entries since a duration ago (1h) or a date");
    cmd.option("--identity <uri>", "only entries by or on behalf of this identity");
    cmd.option("--capability <name>", "only entries about this capability");
    cmd.option("--data <dir>", "read a stopped hub's data directory instead");
  },
  async run(_args, options, ctx) {
    const since = sinceOf(options.since, ctx.now());
    const source = await auditSource(ctx, options);
    let entries: Entry[];
    try {
      entries = (await source.entries()).filter(
        (e) =>
          e.time >= since &&
          (typeof options.identity !== "string" ||
            e.actor === options.identity ||
            e.onBehalfOf === options.identity) &&
          (typeof options.capability !== "string" || e.capability === options.capability),
      );
    } finally {
      await source.close();
    }
    return {
      data: entries,
      text:
        entries.length === 0
          ? "No audit entries match."
          : table([
              ["SEQ", "TIME", "KIND", "ACTOR", "CAPABILITY", "OUTCOME"],
              ...entries.map((e) => [
                String(e.seq),
                new Date(e.time).toISOString(),
                e.kind,
                `${e.actor ?? "-"}${e.onBehalfOf ? ` for ${e.onBehalfOf}` : ""}`,
                e.capability ?? "-",
                `${e.outcome ?? "-"}${e.reason ? `: ${e.reason}` : ""}`,
              ]),
            ]),
    };
  },
};

/** `clawhub audit export`: the whole log, for `clawhub audit verify`. */
export const auditExport: CommandSpec = {
  path: ["audit", "export"],
  summary: "export a secured hub's audit log as JSON lines with a final signed checkpoint",
  help:
    "Check it anywhere with `clawhub audit verify <file> --key <the hub's audit key>`. Reads the\n" +
    "running hub (as an admin identity stored for it), or with --data a stopped hub's data directory.",
  configure(cmd) {
    hubOption(cmd);
    cmd.option("--data <dir>", "read a stopped hub's data directory instead");
    cmd.option("-o, --output <file>", "write to a file (0600) instead of standard output");
  },
  async run(_args, options, ctx) {
    const source = await auditSource(ctx, options);
    let text: string;
    try {
      text = await source.export();
    } finally {
      await source.close();
    }
    if (!text.endsWith("\n")) text += "\n";
    if (typeof options.output === "string") {
      const file = resolve(ctx.cwd, options.output);
      await writeFile(file, text, { mode: 0o600 });
      const lines = text.trimEnd().split("\n").length;
      return { data: { file, lines }, text: `Wrote ${lines} lines to ${file}` };
    }
    ctx.io.stdout.write(text);
    return { data: undefined, text: "" };
  },
};
