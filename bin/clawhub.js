#!/usr/bin/env node
// The `clawhub` command. Installed as a package it runs the bundled CLI (dist/bundle, built by
// `npm run build`); in a repository checkout it runs the TypeScript sources directly (Node >=
// 22.18 strips types), so a stale build can never shadow the code being worked on.
import { existsSync } from "node:fs";
import module from "node:module";

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  // A checkout pins Node 24 as a devDependency (npm scripts and npx put it first on PATH); an
  // installed package has only the Node that runs it, so say how to get a supported one.
  const checkout = existsSync(new URL("../src/cli/bin.ts", import.meta.url));
  process.stderr.write(
    `error: clawhub needs Node.js 22.12 or newer (24 LTS recommended); this is Node.js ${process.version} (${process.execPath})\n` +
      (checkout
        ? "hint: in this repository run it through npm, which uses the pinned Node 24: `npx clawhub ...` or `npm run clawhub -- ...` (after `npm ci`).\n"
        : "hint: install Node.js 24 LTS (https://nodejs.org/en/download, or `nvm install 24`, `fnm install 24`, `volta install node@24`) and run clawhub with it;\n" +
          "      without changing your system Node: `npx -y -p node@24 -p clawhub-hub clawhub --version`.\n"),
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
