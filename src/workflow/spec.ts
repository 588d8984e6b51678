import { parse as parseYaml } from "yaml";
import { ClawHubError } from "../errors/index.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "../resilience/index.ts";
import { parseDuration } from "../schema/index.ts";
import { type Expr, exprsIn, parseExpr, pathsOf, templatePieces } from "./expr.ts";

/** Retry policy of a node: the shared RetryPolicy, plus parameter variation per retry. */
export interface NodeRetry extends RetryPolicy {
  /**
   * Parameter changes per retry: a number is added once per retry (temperature: 0.2 gives
   * +0.2, +0.4...), a string is appended from the first retry on (a prompt suffix).
   */
  vary: Record<string, number | string>;
}

/** Where a task goes: a capability by name, or by meaning. */
export interface Target {
  capability?: string | undefined;
  query?: string | undefined;
}

/** One node of a workflow. */
export interface NodeSpec extends Target {
  id: string;
  /** Template: strings may hold `${{ expr }}`. */
  input: unknown;
  /** Explicit dependencies plus those implied by `nodes.<id>` references. */
  needs: string[];
  when?: string | undefined;
  retry: NodeRetry;
  timeoutMs?: number | undefined;
  /**
   * Most tokens one task of this node may use (`max_tokens`): reserved against the run's token
   * budget before the task starts, and told to the agent.
   */
  maxTokens?: number | undefined;
  fallback?: (Target & { input?: unknown }) | undefined;
  params: Record<string, unknown>;
  /** Circuit-breaker key of an external dependency behind the capability (default: the capability). */
  dependency?: string | undefined;
  map?:
    | {
        /** A template evaluating to a list: one task per element (`${{ item }}`, `${{ index }}`). */
        over?: string | undefined;
        /** Or split a text into chunks (by tokens, with overlap, at paragraph boundaries). */
        chunks?:
          | { text: string; maxTokens?: number | undefined; overlapTokens: number }
          | undefined;
        parallelism: number;
      }
    | undefined;
  /** Merges a map's outputs (`${{ items }}`) into the node's output. */
  reduce?: (Target & { input: unknown }) | undefined;
}

/** A validated workflow. */
export interface WorkflowSpec {
  name: string;
  description?: string | undefined;
  inputs?: Record<string, unknown> | undefined;
  nodes: NodeSpec[];
  outputs: Record<string, unknown>;
  budget: { maxTokens?: number | undefined; maxDurationMs?: number | undefined };
  /** Tasks of one run in flight at once. */
  concurrency: number;
}

/** What is known of a capability (from the hub), for validation and chunking. */
export interface CapabilityInfo {
  inputSchema?: Record<string, unknown> | undefined;
  outputSchema?: Record<string, unknown> | undefined;
  contextLimit?: number | undefined;
}

/** One problem of a workflow file. */
export interface SpecIssue {
  rule: string;
  message: string;
  node?: string;
}

/** A node's retry policy when it says nothing: the shared default, without variation. */
export const DEFAULT_RETRY: NodeRetry = {
  ...DEFAULT_RETRY_POLICY,
  nonRetryableTypes: [],
  vary: {},
};

/** A `when` condition without the `${{ }}` it may be written in. */
function unwrapWhen(text: string): string {
  let t = text.trim();
  if (t.startsWith("${{")) t = t.slice(3);
  if (t.endsWith("}}")) t = t.slice(0, -2);
  return t.trim();
}

/** A duration of a workflow file, or NaN when malformed (reported with the other problems). */
function durationOf(value: unknown): number | undefined {
  try {
    return parseDuration(value);
  } catch {
    return Number.NaN;
  }
}

/** The default input of a reduce: the map's outputs, as a list. */
const ITEMS = ["$", "{{ items }}"].join("");
const ID = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const KNOWN_NODE_KEYS = new Set([
  "id",
  "capability",
  "query",
  "input",
  "needs",
  "when",
  "retry",
  "timeout",
  "fallback",
  "map",
  "reduce",
  "params",
  "dependency",
  "max_tokens",
  "maxTokens",
]);

/** Reads a workflow from YAML or JSON text. */
export function parseWorkflowText(text: string, file = "workflow"): unknown {
  try {
    return parseYaml(text) as unknown;
  } catch (error) {
    throw new ClawHubError(
      "INVALID_WORKFLOW",
      `${file} is not valid YAML or JSON: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Validates and normalises a workflow, reporting every problem at once: shape, unknown nodes,
 * bad templates, cycles (named), and with a capability catalog unknown capabilities and schema
 * mismatches between a producer's output and a consumer's input. Throws INVALID_WORKFLOW with
 * `details.issues`.
 */
export function validateWorkflow(
  raw: unknown,
  catalog?: ReadonlyMap<string, CapabilityInfo>,
): WorkflowSpec {
  const steps = validationSteps(raw, catalog);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * {@link validateWorkflow} for servers: the same checks, yielding to the event loop every few
 * hundred nodes, so a 10,000-node workflow never stalls the calls and agents sharing the process.
 */
export async function validateWorkflowAsync(
  raw: unknown,
  catalog?: ReadonlyMap<string, CapabilityInfo>,
): Promise<WorkflowSpec> {
  const steps = validationSteps(raw, catalog);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Nodes validated between two yields of {@link validationSteps}. */
const SLICE = 500;
/** Most nodes a workflow may have. */
export const MAX_NODES = 20_000;

/** The validation as a generator: it yields between slices of work (see validateWorkflowAsync). */
function* validationSteps(
  raw: unknown,
  catalog?: ReadonlyMap<string, CapabilityInfo>,
): Generator<void, WorkflowSpec> {
  const issues: SpecIssue[] = [];
  const add = (rule: string, message: string, node?: string) =>
    issues.push({ rule, message, ...(node ? { node } : {}) });
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ClawHubError("INVALID_WORKFLOW", "a workflow is an object with name and nodes", {
      details: { issues: [{ rule: "workflow.shape", message: "not an object" }] },
    });
  }
  const w = raw as Record<string, unknown>;
  const name = typeof w.name === "string" && w.name.trim() ? w.name.trim() : "workflow";
  if (name === "workflow" && w.name !== "workflow") add("workflow.name", "name is required");
  const rawNodes: Array<Record<string, unknown>> = Array.isArray(w.nodes)
    ? (w.nodes as Array<Record<string, unknown>>)
    : w.nodes && typeof w.nodes === "object"
      ? Object.entries(w.nodes as Record<string, Record<string, unknown>>).map(([id, n]) => ({
          id,
          ...n,
        }))
      : [];
  if (rawNodes.length === 0) add("workflow.nodes", "nodes must list at least one node");
  if (rawNodes.length > MAX_NODES)
    throw new ClawHubError(
      "INVALID_WORKFLOW",
      `workflow "${name}" has ${rawNodes.length} nodes; at most ${MAX_NODES} are allowed`,
      {
        details: { issues: [{ rule: "workflow.nodes", message: `at most ${MAX_NODES} nodes` }] },
        hint: "Split the work: map over a list instead of one node per item.",
      },
    );
  const ids = new Set<string>();
  for (const n of rawNodes) {
    if (typeof n?.id !== "string" || !ID.test(n.id))
      add(
        "node.id",
        `node id ${JSON.stringify(n?.id)} must be a letter then up to 63 letters, digits, _ or -`,
      );
    else if (ids.has(n.id)) add("node.id", `node id "${n.id}" is used twice`, n.id);
    else ids.add(n.id);
  }
  const inputNames = new Set(
    Object.keys(((w.inputs as Record<string, unknown>)?.properties as object) ?? {}),
  );
  const checkExprs = (
    value: unknown,
    where: string,
    nodeId: string | undefined,
    extraRoots: string[],
  ): Set<string> => {
    const refs = new Set<string>();
    let exprs: Expr[] = [];
    try {
      exprs = exprsIn(value);
    } catch (error) {
      add("template.syntax", `${where}: ${(error as Error).message}`, nodeId);
      return refs;
    }
    for (const p of exprs.flatMap(pathsOf)) {
      if (p.root === "nodes") {
        const target = p.steps[0];
        if (typeof target !== "string" || !ids.has(target))
          add("template.unknown-node", `${where}: no node "${String(target)}"`, nodeId);
        else {
          refs.add(target);
          if (p.steps[1] !== undefined && p.steps[1] !== "output")
            add("template.path", `${where}: use nodes.${target}.output`, nodeId);
        }
      } else if (p.root === "inputs") {
        const input = p.steps[0];
        if (inputNames.size > 0 && typeof input === "string" && !inputNames.has(input))
          add("template.unknown-input", `${where}: no workflow input "${input}"`, nodeId);
      } else if (!extraRoots.includes(p.root)) {
        add(
          "template.unknown-root",
          `${where}: "${p.root}" is not inputs, nodes${extraRoots.length ? `, ${extraRoots.join(", ")}` : ""}`,
          nodeId,
        );
      }
    }
    return refs;
  };
  const target = (t: Record<string, unknown>, where: string, nodeId: string): Target => {
    const capability = typeof t.capability === "string" ? t.capability : undefined;
    const query = typeof t.query === "string" ? t.query : undefined;
    if (Boolean(capability) === Boolean(query))
      add("node.target", `${where} needs exactly one of capability and query`, nodeId);
    if (capability && catalog && !catalog.has(capability))
      add("node.unknown-capability", `${where}: no connected agent serves "${capability}"`, nodeId);
    return { capability, query };
  };
  const nodes: NodeSpec[] = [];
  let done = 0;
  for (const n of rawNodes) {
    if (++done % SLICE === 0) yield;
    if (typeof n?.id !== "string") continue;
    const id = n.id;
    for (const key of Object.keys(n))
      if (!KNOWN_NODE_KEYS.has(key))
        add("node.unknown-key", `node "${id}": unknown key "${key}"`, id);
    const t = target(n, `node "${id}"`, id);
    const needs = new Set<string>();
    for (const dep of Array.isArray(n.needs) ? n.needs : n.needs === undefined ? [] : [n.needs]) {
      if (typeof dep !== "string" || !ids.has(dep))
        add("node.unknown-need", `node "${id}" needs unknown node "${String(dep)}"`, id);
      else needs.add(dep);
    }
    const mapRaw = n.map as Record<string, unknown> | undefined;
    const mapRoots = mapRaw ? ["item", "index"] : [];
    for (const ref of checkExprs(n.input, `node "${id}" input`, id, mapRoots)) needs.add(ref);
    if (typeof n.when === "string") {
      try {
        for (const ref of checkExprs(`\${{ ${unwrapWhen(n.when)} }}`, `node "${id}" when`, id, []))
          needs.add(ref);
      } catch (error) {
        add("template.syntax", `node "${id}" when: ${(error as Error).message}`, id);
      }
    }
    const r = (n.retry ?? {}) as Record<string, unknown>;
    const nonRetryable =
      r.non_retryable_errors ??
      r.nonRetryableErrors ??
      r.non_retryable_types ??
      r.nonRetryableTypes ??
      [];
    const retry: NodeRetry = {
      maximumAttempts: Number(r.max_attempts ?? r.maxAttempts ?? DEFAULT_RETRY.maximumAttempts),
      initialIntervalMs:
        durationOf(r.initial_interval ?? r.initialInterval) ?? DEFAULT_RETRY.initialIntervalMs,
      backoffCoefficient: Number(
        r.backoff_coefficient ?? r.backoffCoefficient ?? DEFAULT_RETRY.backoffCoefficient,
      ),
      maximumIntervalMs:
        durationOf(r.max_interval ?? r.maxInterval) ?? DEFAULT_RETRY.maximumIntervalMs,
      jitter: Number(r.jitter ?? DEFAULT_RETRY.jitter),
      nonRetryableTypes: (Array.isArray(nonRetryable) ? nonRetryable : [nonRetryable]).map(String),
      vary: (r.vary ?? {}) as Record<string, number | string>,
    };
    if (
      !Number.isInteger(retry.maximumAttempts) ||
      retry.maximumAttempts < 1 ||
      retry.maximumAttempts > 100
    )
      add("node.retry", `node "${id}": retry.max_attempts must be 1-100`, id);
    if (Number.isNaN(retry.initialIntervalMs) || Number.isNaN(retry.maximumIntervalMs))
      add("node.retry", `node "${id}": retry intervals are durations like 500ms or 2s`, id);
    if (!(retry.backoffCoefficient >= 1))
      add("node.retry", `node "${id}": retry.backoff_coefficient must be >= 1`, id);
    if (!(retry.jitter >= 0 && retry.jitter <= 1))
      add("node.retry", `node "${id}": retry.jitter must be 0-1`, id);
    const timeoutMs = durationOf(n.timeout);
    if (timeoutMs !== undefined && !(timeoutMs > 0))
      add("node.timeout", `node "${id}": timeout must be a positive duration`, id);
    const rawMaxTokens = n.max_tokens ?? n.maxTokens;
    const maxTokens = rawMaxTokens === undefined ? undefined : Number(rawMaxTokens);
    if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && maxTokens > 0))
      add("node.max_tokens", `node "${id}": max_tokens must be a positive whole number`, id);
    let fallback: NodeSpec["fallback"];
    if (n.fallback !== undefined) {
      const f = (
        typeof n.fallback === "string" ? { capability: n.fallback } : n.fallback
      ) as Record<string, unknown>;
      fallback = {
        ...target(f, `node "${id}" fallback`, id),
        ...(f.input !== undefined ? { input: f.input } : {}),
      };
      for (const ref of checkExprs(f.input, `node "${id}" fallback input`, id, mapRoots))
        needs.add(ref);
    }
    let map: NodeSpec["map"];
    if (mapRaw) {
      const parallelism = Number(mapRaw.parallelism ?? 4);
      if (!Number.isInteger(parallelism) || parallelism < 1)
        add("node.map", `node "${id}": map.parallelism must be a positive integer`, id);
      const chunks = mapRaw.chunks as Record<string, unknown> | undefined;
      if (Boolean(mapRaw.over) === Boolean(chunks))
        add("node.map", `node "${id}": map needs exactly one of over and chunks`, id);
      if (mapRaw.over !== undefined)
        for (const ref of checkExprs(mapRaw.over, `node "${id}" map.over`, id, [])) needs.add(ref);
      if (chunks)
        for (const ref of checkExprs(chunks.text, `node "${id}" map.chunks.text`, id, []))
          needs.add(ref);
      map = {
        over: typeof mapRaw.over === "string" ? mapRaw.over : undefined,
        chunks: chunks
          ? {
              text: String(chunks.text ?? ""),
              maxTokens:
                chunks.max_tokens === undefined && chunks.maxTokens === undefined
                  ? undefined
                  : Number(chunks.max_tokens ?? chunks.maxTokens),
              overlapTokens: Number(chunks.overlap_tokens ?? chunks.overlapTokens ?? 0),
            }
          : undefined,
        parallelism,
      };
    }
    let reduce: NodeSpec["reduce"];
    if (n.reduce !== undefined) {
      if (!map) add("node.reduce", `node "${id}": reduce needs map`, id);
      const rr = n.reduce as Record<string, unknown>;
      reduce = { ...target(rr, `node "${id}" reduce`, id), input: rr.input ?? ITEMS };
      for (const ref of checkExprs(rr.input, `node "${id}" reduce input`, id, ["items"]))
        needs.add(ref);
    }
    needs.delete(id);
    nodes.push({
      id,
      ...t,
      input: n.input ?? null,
      needs: [...needs].sort(),
      when: typeof n.when === "string" ? unwrapWhen(n.when) : undefined,
      retry,
      timeoutMs,
      maxTokens,
      fallback,
      params: (n.params ?? {}) as Record<string, unknown>,
      dependency: typeof n.dependency === "string" ? n.dependency : undefined,
      map,
      reduce,
    });
  }
  yield;
  for (const cycle of findCycles(nodes)) {
    const named =
      cycle.length <= 12
        ? cycle.join(" -> ")
        : `${cycle.slice(0, 5).join(" -> ")} -> ... -> ${cycle.slice(-5).join(" -> ")} (${cycle.length - 1} nodes)`;
    add("workflow.cycle", `cycle: ${named}`, cycle[0]);
  }
  yield;
  if (catalog) checkSchemas(nodes, catalog, add);
  const outputs = (w.outputs ?? {}) as Record<string, unknown>;
  checkExprs(outputs, "outputs", undefined, []);
  const budget = (w.budget ?? {}) as Record<string, unknown>;
  const maxTokens = budget.max_tokens ?? budget.maxTokens;
  const maxDurationMs = durationOf(budget.max_duration ?? budget.maxDuration);
  if (maxTokens !== undefined && !(Number(maxTokens) > 0))
    add("workflow.budget", "budget.max_tokens must be positive");
  if (maxDurationMs !== undefined && !(maxDurationMs > 0))
    add("workflow.budget", "budget.max_duration must be a positive duration");
  const concurrency = Number(w.concurrency ?? 8);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    add("workflow.concurrency", "concurrency must be a positive integer");
  if (issues.length > 0) {
    throw new ClawHubError(
      "INVALID_WORKFLOW",
      `workflow "${name}" has ${issues.length} problem${issues.length === 1 ? "" : "s"}: ${issues.map((i) => i.message).join("; ")}`,
      {
        details: { issues },
        hint: "Fix every listed problem; `clawhub flow validate <file>` checks again.",
      },
    );
  }
  return {
    name,
    description: typeof w.description === "string" ? w.description : undefined,
    inputs: w.inputs as Record<string, unknown> | undefined,
    nodes,
    outputs,
    budget: { maxTokens: maxTokens === undefined ? undefined : Number(maxTokens), maxDurationMs },
    concurrency,
  };
}

/**
 * Every cycle of the dependency graph, each named once (`a -> b -> a`), by an iterative
 * depth-first search: a 10,000-node chain needs no call stack of that depth.
 */
export function findCycles(nodes: ReadonlyArray<Pick<NodeSpec, "id" | "needs">>): string[][] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const state = new Map<string, 1 | 2>();
  const cycles: string[][] = [];
  for (const root of nodes) {
    if (state.has(root.id)) continue;
    // Each frame: a node on the current path and the index of its next dependency to visit.
    const path: string[] = [];
    const next: number[] = [];
    const onPath = new Map<string, number>();
    const enter = (id: string) => {
      state.set(id, 1);
      onPath.set(id, path.length);
      path.push(id);
      next.push(0);
    };
    enter(root.id);
    while (path.length > 0) {
      const top = path.length - 1;
      const id = path[top] as string;
      const needs = byId.get(id)?.needs ?? [];
      const i = next[top] as number;
      if (i < needs.length) {
        next[top] = i + 1;
        const dep = needs[i] as string;
        if (state.get(dep) === 1) cycles.push([...path.slice(onPath.get(dep)), dep]);
        else if (!state.has(dep) && byId.has(dep)) enter(dep);
        continue;
      }
      path.pop();
      next.pop();
      onPath.delete(id);
      state.set(id, 2);
    }
  }
  return cycles;
}

type JsonType = string | undefined;
function typeAt(
  schema: Record<string, unknown> | undefined,
  steps: Array<string | number>,
): JsonType {
  let s: Record<string, unknown> | undefined = schema;
  for (const step of steps) {
    if (!s) return undefined;
    if (typeof step === "number") s = s.items as Record<string, unknown> | undefined;
    else s = (s.properties as Record<string, Record<string, unknown>> | undefined)?.[step];
  }
  return typeof s?.type === "string" ? s.type : undefined;
}

/** Where a consumer's input field is exactly `${{ nodes.p.output... }}`, compare JSON types. */
function checkSchemas(
  nodes: NodeSpec[],
  catalog: ReadonlyMap<string, CapabilityInfo>,
  add: (rule: string, message: string, node?: string) => void,
): void {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const node of nodes) {
    if (!node.capability || node.map) continue;
    const consumer = catalog.get(node.capability)?.inputSchema;
    if (!consumer || !node.input || typeof node.input !== "object" || Array.isArray(node.input))
      continue;
    for (const [field, value] of Object.entries(node.input as Record<string, unknown>)) {
      if (typeof value !== "string" || !value.startsWith("${{")) continue;
      let pieces: ReturnType<typeof templatePieces>;
      try {
        pieces = templatePieces(value);
      } catch {
        continue; // reported as template.syntax already
      }
      const only = pieces.length === 1 ? pieces[0] : undefined;
      if (!only || !("expr" in only)) continue;
      const expr = parseExpr(only.expr);
      if (expr.kind !== "path" || expr.root !== "nodes") continue;
      const producer = byId.get(String(expr.steps[0]));
      if (!producer?.capability || producer.reduce || producer.map) continue;
      const produced = typeAt(catalog.get(producer.capability)?.outputSchema, expr.steps.slice(2));
      const wanted = typeAt(consumer, [field]);
      const compatible = produced === wanted || (produced === "integer" && wanted === "number");
      if (produced && wanted && !compatible)
        add(
          "schema.mismatch",
          `node "${node.id}" input.${field} wants ${wanted} but ${expr.steps.map(String).join(".")} of "${producer.capability}" is ${produced}`,
          node.id,
        );
    }
  }
}
