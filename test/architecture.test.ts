/**
 * The layout DESIGN.md decides, checked on the sources: no import cycles between files, each
 * folder imports its siblings only through their index.ts, and the folders' arrows point down
 * (cli -> hub/registry/install -> workflow/search/... -> control-plane/skill/schema/errors).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../src", import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return path.endsWith(".ts") && !path.endsWith(".test.ts") && !path.endsWith("conformance.ts")
      ? [path]
      : [];
  });
}

/** Whether an import or export clause brings in only types (erased at run time). */
function typeOnly(clause: string): boolean {
  const c = clause.trim();
  if (/^(import|export)\s+type\s/.test(c)) return true;
  const braces = /\{([^}]*)\}/.exec(c);
  const outside = c
    .replace(/\{[^}]*\}/, "")
    .replace(/^(import|export)\s*/, "")
    .replace(/[\s,*]/g, "");
  if (!braces || outside) return false;
  const names = (braces[1] as string)
    .split(",")
    .map((n) => n.trim())
    .filter(Boolean);
  return names.length > 0 && names.every((n) => n.startsWith("type "));
}

/** Runtime imports (not type-only), static and dynamic, of a file: resolved paths. */
function importsOf(file: string): Array<{ target: string; dynamic: boolean }> {
  const text = readFileSync(file, "utf8");
  const out: Array<{ target: string; dynamic: boolean }> = [];
  for (const m of text.matchAll(/^(import|export)\b([^;]*?)\bfrom\s+"(\.[^"]+)";/gms)) {
    if (typeOnly(`${m[1]}${m[2]}`)) continue;
    out.push({ target: resolve(dirname(file), m[3] as string), dynamic: false });
  }
  for (const m of text.matchAll(/import\(\s*"(\.[^"]+)"\s*\)/g))
    out.push({ target: resolve(dirname(file), m[1] as string), dynamic: true });
  return out;
}

const all = files(SRC);
const graph = new Map(all.map((f) => [f, importsOf(f)]));
const folderOf = (file: string) => relative(SRC, file).split("/")[0] as string;

/** Layers, top to bottom: a folder may import folders of its own layer's lower layers only. */
const LAYERS: string[][] = [
  ["cli", "index.ts"],
  ["web", "interop"],
  ["hub", "registry", "install"],
  ["workflow", "search", "trust", "policy", "audit", "client", "sdk"],
  ["control-plane", "skill", "wire", "observability", "identity", "sandbox"],
  ["schema", "resilience"],
  ["errors"],
];
const layerOf = (folder: string) => LAYERS.findIndex((l) => l.includes(folder));

describe("architecture", () => {
  it("has no import cycles between files (runtime imports, static ones)", () => {
    const state = new Map<string, 1 | 2>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      state.set(file, 1);
      for (const { target, dynamic } of graph.get(file) ?? []) {
        if (dynamic || !graph.has(target)) continue;
        if (state.get(target) === 1)
          cycles.push(
            [...path.slice(path.indexOf(target)), target].map((f) => relative(SRC, f)).join(" -> "),
          );
        else if (!state.has(target)) visit(target, [...path, target]);
      }
      state.set(file, 2);
    };
    for (const f of all) if (!state.has(f)) visit(f, [f]);
    expect(cycles).toEqual([]);
  });

  it("imports a sibling folder only through its index.ts, and only downwards", () => {
    const problems: string[] = [];
    for (const [file, imports] of graph) {
      const from = folderOf(file);
      for (const { target } of imports) {
        const to = folderOf(target);
        if (to === from || !target.startsWith(SRC)) continue;
        const rel = relative(SRC, target);
        if (rel !== `${to}/index.ts`)
          problems.push(`${relative(SRC, file)} imports ${rel}, not ${to}/index.ts`);
        const [lf, lt] = [layerOf(from), layerOf(to)];
        if (lf < 0 || lt < 0) problems.push(`${from} or ${to} has no layer in this test`);
        else if (lt < lf) problems.push(`${from} -> ${to} points up`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("keeps the hub's composition root small", () => {
    const lines = readFileSync(join(SRC, "hub/hub.ts"), "utf8").split("\n");
    const start = lines.findIndex((l) => l.startsWith("export async function createHub"));
    let depth = 0;
    let end = start;
    for (let i = start; i < lines.length; i++) {
      depth += (lines[i]?.match(/\{/g) ?? []).length - (lines[i]?.match(/\}/g) ?? []).length;
      if (i > start && depth === 0) {
        end = i;
        break;
      }
    }
    expect(end - start).toBeLessThan(250);
  });
});
