#!/usr/bin/env node
// The `clawhub` command. Installed as a package it runs the bundled CLI (dist/bundle, built by
// `npm run build`); in a repository checkout it runs the TypeScript sources directly (Node >=
// 22.18 strips types), so a stale build can never shadow the code being worked on.
import { existsSync } from "node:fs";
import module from "node:module";

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(
    `error: clawhub needs Node.js >= 22.12; this is ${process.version}\n` +
      "hint: in the repository, run it through npm (`npx clawhub ...`), which uses the pinned Node 24.\n",
  );
  process.exit(2);
}
// V8's on-disk compile cache (in the OS temp directory): later starts skip compiling the CLI.
module.enableCompileCache?.();
const at = (path) => new URL(path, import.meta.url);
const source = at("../src/cli/bin.ts");
const bundle = at("../dist/bundle/clawhub.mjs");
await import(
  existsSync(source)
    ? source.href
    : existsSync(bundle)
      ? bundle.href
      : at("../dist/cli/bin.js").href
);
