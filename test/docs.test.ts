import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { allCommands, COMMAND_ENTRIES } from "../src/cli/index.ts";
import { ARCHIVE_RULES, findSkillDirs, RULES, validateMany } from "../src/skill/index.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const read = (path: string) => readFile(`${root}/${path}`, "utf8");

describe("documentation and examples stay current", () => {
  it("documents every validation and archive rule", async () => {
    const doc = await read("docs/skill-format.md");
    for (const rule of [...Object.keys(RULES), ...Object.keys(ARCHIVE_RULES)]) {
      expect(doc, `docs/skill-format.md lacks ${rule}`).toContain(`\`${rule}\``);
    }
  });

  it("lists every command in the README's CLI reference, each loaded from where the index says", async () => {
    const readme = await read("README.md");
    const specs = await allCommands();
    expect(specs.map((s) => s.path.join(" "))).toEqual(
      COMMAND_ENTRIES.map((e) => e.path.join(" ")),
    );
    for (const spec of specs) {
      expect(readme, `README lacks clawhub ${spec.path.join(" ")}`).toContain(
        `clawhub ${spec.path.join(" ")}`,
      );
    }
  });

  it("starts the README with the two newcomer commands", async () => {
    const readme = await read("README.md");
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    expect(firstBlock).toContain("npm ci && npm run demo");
    expect(firstBlock).toContain("npm test");
  });

  it("ships example skills that pass strict validation", async () => {
    const dirs = await findSkillDirs([`${root}/examples/skills`]);
    expect(dirs.length).toBeGreaterThanOrEqual(2);
    const { summary, reports } = await validateMany(dirs, { mode: "strict" });
    expect(reports.flatMap((r) => r.issues)).toEqual([]);
    expect(summary.valid).toBe(dirs.length);
  });
});
