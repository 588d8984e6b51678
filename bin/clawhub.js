#!/usr/bin/env node
// The `clawhub` command. In an installed package it runs the compiled CLI from dist/; in a
// repository checkout it runs the TypeScript sources directly (Node >= 22.18 strips types), so
// a stale build can never shadow the code being worked on.
import { existsSync } from "node:fs";

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(
    `error: clawhub needs Node.js >= 22.12; this is ${process.version}\n` +
      "hint: in the repository, run it through npm (`npx clawhub ...`), which uses the pinned Node 24.\n",
  );
  process.exit(2);
}
const source = new URL("../src/cli/bin.ts", import.meta.url);
await import(
  existsSync(source) ? source.href : new URL("../dist/cli/bin.js", import.meta.url).href
);
