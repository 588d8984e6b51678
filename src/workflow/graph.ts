import type { NodeSpec, WorkflowSpec } from "./spec.ts";

const label = (n: NodeSpec) => {
  const target = n.capability ?? `"${n.query}"`;
  const extras = [
    n.map ? (n.map.chunks ? "map: chunks" : "map") : "",
    n.reduce ? `reduce: ${n.reduce.capability ?? n.reduce.query}` : "",
    n.fallback ? `fallback: ${n.fallback.capability ?? n.fallback.query}` : "",
    n.when ? `when ${n.when}` : "",
  ].filter(Boolean);
  return [n.id, target, ...extras].join("\\n");
};
const quote = (s: string) => s.replace(/"/g, "'");

/** The workflow as a Mermaid flowchart. */
export function toMermaid(spec: WorkflowSpec): string {
  const lines = ["flowchart TD"];
  for (const n of spec.nodes)
    lines.push(`  ${n.id}["${quote(label(n)).replace(/\\n/g, "<br/>")}"]`);
  for (const n of spec.nodes) for (const dep of n.needs) lines.push(`  ${dep} --> ${n.id}`);
  return lines.join("\n");
}

/** The workflow in Graphviz DOT. */
export function toDot(spec: WorkflowSpec): string {
  const lines = [`digraph "${quote(spec.name)}" {`, "  rankdir=TB;", "  node [shape=box];"];
  for (const n of spec.nodes) lines.push(`  "${n.id}" [label="${quote(label(n))}"];`);
  for (const n of spec.nodes) for (const dep of n.needs) lines.push(`  "${dep}" -> "${n.id}";`);
  lines.push("}");
  return lines.join("\n");
}
