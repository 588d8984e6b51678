import { resolve } from "node:path";
import { initSkill } from "../../skill/index.ts";
import type { CommandSpec } from "../command.ts";

/** `clawhub skill init <dir>`: scaffold a skill that passes strict validation. */
export const skillInit: CommandSpec = {
  path: ["skill", "init"],
  args: "<dir>",
  summary: "create a new skill folder with a SKILL.md that passes strict validation",
  help: "The folder's name becomes the skill name, so it must be lowercase letters, digits and hyphens.",
  configure(cmd) {
    cmd.option("-d, --description <text>", "what the skill does and when to use it");
    cmd.option("-f, --force", "overwrite an existing SKILL.md");
  },
  async run([dir = "."], options, ctx) {
    const result = await initSkill(resolve(ctx.cwd, dir), {
      ...(typeof options.description === "string" ? { description: options.description } : {}),
      force: options.force === true,
    });
    return {
      data: result,
      text: `Created ${result.dir}/SKILL.md\nNext: edit it, then run \`clawhub skill validate ${dir} --strict\`.`,
    };
  },
};
