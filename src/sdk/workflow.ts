/**
 * A TypeScript builder for workflow specs: the same document a YAML file holds, with types.
 *
 *   const flow = workflow("brief")
 *     .node("triage", { capability: "text.keywords", input: { text: ref("inputs.text") } })
 *     .node("summary", { capability: "text.summarize", input: { text: ref("inputs.text") }, needs: ["triage"] })
 *     .output("summary", ref("nodes.summary.output.summary"))
 *     .build();
 *   await client.flows.start(flow, { text });
 */

/** `${{ path }}`: a reference to a workflow input, an upstream output, or an expression. */
export function ref(expression: string): string {
  return `\${{ ${expression} }}`;
}

type Duration = number | string;

/** Where a task goes. */
export type FlowTarget =
  | { capability: string; query?: never }
  | { query: string; capability?: never };

/** A node of a workflow (see docs/workflows.md for each key). */
export type FlowNode = FlowTarget & {
  input?: unknown;
  needs?: string[];
  when?: string;
  retry?: {
    maxAttempts?: number;
    initialInterval?: Duration;
    backoffCoefficient?: number;
    maxInterval?: Duration;
    jitter?: number;
    nonRetryableErrors?: string[];
    vary?: Record<string, number | string>;
  };
  timeout?: Duration;
  fallback?: string | (FlowTarget & { input?: unknown });
  params?: Record<string, unknown>;
  dependency?: string;
  map?: {
    over?: string;
    chunks?: { text: string; maxTokens?: number; overlapTokens?: number };
    parallelism?: number;
  };
  reduce?: FlowTarget & { input?: unknown };
};

/** Options of a workflow. */
export interface FlowOptions {
  description?: string;
  /** JSON Schema of the inputs. */
  inputs?: Record<string, unknown>;
  budget?: { maxTokens?: number; maxDuration?: Duration };
  concurrency?: number;
}

/** Builds a workflow spec; `build()` returns the plain object the hub validates. */
export function workflow(name: string, options: FlowOptions = {}) {
  const nodes: Array<FlowNode & { id: string }> = [];
  const outputs: Record<string, unknown> = {};
  const builder = {
    node(id: string, node: FlowNode) {
      nodes.push({ id, ...node });
      return builder;
    },
    output(key: string, template: unknown) {
      outputs[key] = template;
      return builder;
    },
    build() {
      return { name, ...options, nodes: [...nodes], outputs: { ...outputs } };
    },
  };
  return builder;
}
