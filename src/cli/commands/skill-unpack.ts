import { resolve } from "node:path";
import { extractZip, formatBytes } from "../../skill/index.ts";
import type { CommandSpec } from "../command.ts";

/** `clawhub skill unpack <zip> <dir>`: the safe extraction every install uses. */
export const skillUnpack: CommandSpec = {
  path: ["skill", "unpack"],
  args: "<zip> <dir>",
  summary: "safely extract a skill archive (refuses traversal, links, bombs; all or nothing)",
  help:
    "Every entry is checked before anything is written; a refused archive leaves nothing behind.\n" +
    "Refusals exit with code 4 and name the entry and the rule, e.g. [entry.path-traversal].",
  configure(cmd) {
    cmd.option("-f, --force", "replace the directory if it exists and is not empty");
  },
  async run([zip = "", dir = ""], options, ctx) {
    const result = await extractZip(resolve(ctx.cwd, zip), resolve(ctx.cwd, dir), {
      overwrite: options.force === true,
    });
    return {
      data: result,
      text: `Extracted ${result.files.length} files (${formatBytes(result.totalBytes)}) into ${result.dest}`,
    };
  },
};
