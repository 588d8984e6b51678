import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { ClawHubError } from "../../errors/index.ts";
import type { CommandSpec } from "../command.ts";

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
      text: `OK. ${verdict.entries} entries, ${verdict.checkpoints} signed checkpoints, head ${verdict.head.slice(0, 16)}${key ? "" : " (key from the file: pass --key to rule out a forgery)"}`,
    };
  },
};
