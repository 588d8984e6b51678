import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { ClawHubError } from "../../errors/index.ts";
import type { HubClient } from "../../sdk/index.ts";
import {
  parseWorkflowText,
  type RunView,
  toDot,
  toMermaid,
  validateWorkflow,
} from "../../workflow/index.ts";
import type { CommandContext, CommandSpec } from "../command.ts";
import { table } from "../output.ts";
import { printable } from "./hub.ts";
import { intFlag } from "./hub-options.ts";
import { age, collect, hubOption, withHubClient } from "./shared.ts";

async function readFlow(ctx: CommandContext, file: string): Promise<unknown> {
  const path = resolve(ctx.cwd, file);
  return parseWorkflowText(await readFile(path, "utf8"), file);
}

/** `clawhub flow validate <file>`: every problem at once; `--live` also against the hub. */
export const flowValidate: CommandSpec = {
  path: ["flow", "validate"],
  args: "<file>",
  summary:
    "check a workflow file: cycles, references, templates (and, with --live, capabilities and schemas)",
  configure(cmd) {
    hubOption(cmd);
    cmd.option(
      "--live",
      "also check capabilities and schemas against the agents connected to the hub",
    );
  },
  async run([file], options, ctx) {
    const raw = await readFlow(ctx, file as string);
    const spec = validateWorkflow(raw);
    if (options.live === true) await withHubClient(ctx, (c) => c.flows.validate(raw));
    return {
      data: { valid: true, name: spec.name, nodes: spec.nodes.length, live: options.live === true },
      text: `${file}: workflow "${spec.name}" is valid (${spec.nodes.length} nodes${options.live === true ? ", checked against the hub" : ""})`,
    };
  },
};

/** `clawhub flow graph <file>`: Mermaid or DOT. */
export const flowGraph: CommandSpec = {
  path: ["flow", "graph"],
  args: "<file>",
  summary: "print a workflow's graph as Mermaid (default) or DOT",
  configure(cmd) {
    cmd.option("--format <format>", "mermaid or dot", "mermaid");
  },
  async run([file], options, ctx) {
    const spec = validateWorkflow(await readFlow(ctx, file as string));
    const format = String(options.format);
    if (format !== "mermaid" && format !== "dot")
      throw new ClawHubError(
        "INVALID_ARGUMENT",
        `unknown --format "${format}": use mermaid or dot`,
      );
    const text = format === "dot" ? toDot(spec) : toMermaid(spec);
    return { data: { format, graph: text }, text };
  },
};

/** `--input k=v` values (JSON when they parse, text otherwise) over `--input-file`. */
async function inputsOf(
  ctx: CommandContext,
  options: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  let inputs: Record<string, unknown> = {};
  if (typeof options.inputFile === "string") {
    const text = await readFile(resolve(ctx.cwd, options.inputFile), "utf8");
    const parsed = parseWorkflowText(text, options.inputFile);
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
      throw new ClawHubError(
        "INVALID_ARGUMENT",
        `${options.inputFile} must hold an object of inputs`,
      );
    inputs = parsed as Record<string, unknown>;
  }
  for (const item of (options.input as string[] | undefined) ?? []) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new ClawHubError("USAGE", `--input takes key=value, got "${item}"`);
    const raw = item.slice(eq + 1);
    let value: unknown = raw;
    if (raw.startsWith("@")) {
      // key=@file: the file's text, as curl reads request bodies.
      value = await readFile(resolve(ctx.cwd, raw.slice(1)), "utf8");
    } else {
      try {
        value = JSON.parse(raw);
      } catch {
        value = raw;
      }
    }
    inputs[item.slice(0, eq)] = value;
  }
  return inputs;
}

const mark: Record<string, string> = {
  pending: "·",
  running: "…",
  succeeded: "✓",
  failed: "✗",
  skipped: "-",
};

function nodeLine(n: RunView["nodes"][number]): string {
  const extra = [
    n.items !== undefined
      ? `${n.items} items, ${n.attempts} tasks`
      : n.attempts > 1
        ? `${n.attempts} attempts`
        : "",
    n.usedFallback ? "fallback" : "",
    n.error ? `${n.error.type}: ${n.error.message}` : "",
  ].filter(Boolean);
  return `  ${mark[n.status] ?? "?"} ${n.id.padEnd(16)} ${n.status}${extra.length ? ` (${extra.join(", ")})` : ""}`;
}

/** A run for humans: status, each node, outputs. */
export function describeRun(view: RunView, now: number): string {
  const took = view.endedAt
    ? `${((view.endedAt - view.startedAt) / 1000).toFixed(2)} s`
    : `started ${age(view.startedAt, now)}`;
  const lines = [
    `run ${view.runId} (${view.name}): ${view.status}, ${took}, ${view.tokens} tokens`,
  ];
  for (const n of view.nodes) lines.push(nodeLine(n));
  if (view.reason) lines.push(`reason: ${view.reason}`);
  if (view.status === "succeeded" && view.outputs && typeof view.outputs === "object") {
    // Text outputs (a report, a summary) print as text, the rest as JSON.
    for (const [key, value] of Object.entries(printable(view.outputs) as Record<string, unknown>)) {
      lines.push(
        typeof value === "string" && value.includes("\n")
          ? `${key}:\n${value}`
          : `${key}: ${JSON.stringify(value, null, 2)}`,
      );
    }
  }
  return lines.join("\n");
}

/** `clawhub run <flow>`: starts a run on the hub and follows it. */
export const runCommand: CommandSpec = {
  path: ["run"],
  args: "<flow>",
  summary: "run a workflow file on the hub, with live per-node progress",
  help:
    "Inputs: --input key=value (repeatable; JSON when it parses, key=@file for a file's text) and\n" +
    "--input-file f.json|f.yaml.\n" +
    "The run is journaled by the hub: it survives a hub restart (`clawhub runs resume <id>`).\n" +
    "Exit codes: 0 succeeded, 1 failed or cancelled, 3 hub unreachable.",
  configure(cmd) {
    hubOption(cmd);
    cmd.option(
      "--input <key=value>",
      "a workflow input (repeatable; key=@file reads a file)",
      collect,
    );
    cmd.option("--input-file <file>", "inputs from a JSON or YAML file");
    cmd.option("--detach", "start the run and print its id without waiting");
  },
  async run([file], options, ctx) {
    const raw = await readFlow(ctx, file as string);
    validateWorkflow(raw);
    const inputs = await inputsOf(ctx, options);
    // Listen for Ctrl-C before anything is printed: a signal that lands between "started" and
    // the listener would otherwise kill the process with no word about the run.
    const interrupted = ctx.waitForShutdown().then(() => "interrupted" as const);
    return withHubClient(ctx, async (client) => {
      const started = await client.flows.start(raw, inputs);
      if (options.detach === true) return { data: started, text: started.runId };
      const live = !ctx.json && ctx.io.isTTY;
      const seen = new Map<string, string>();
      if (!ctx.json) ctx.io.stderr.write(`run ${started.runId} started\n`);
      const watching = client.flows
        .watch(started.runId, (view) => {
          if (ctx.json) return;
          // Each transition once, as it happens (in a pipe: finished nodes only, no redraws).
          for (const n of view.nodes) {
            const key = `${n.status}/${n.attempts}`;
            if (seen.get(n.id) === key || n.status === "pending") continue;
            seen.set(n.id, key);
            if (live || n.status !== "running") ctx.io.stderr.write(`${nodeLine(n)}\n`);
          }
        })
        .catch((error: unknown) => {
          // The hub went away while we followed the run: the run is the hub's, journaled, and
          // goes on when it is back; say that instead of a bare connection error.
          if (
            error instanceof ClawHubError &&
            // A hub that shuts down cancels its streams; one that dies drops them.
            (error.code === "NETWORK_ERROR" ||
              error.code === "UNAVAILABLE" ||
              error.code === "CANCELLED")
          )
            throw new ClawHubError(
              "NETWORK_ERROR",
              `lost the hub (${ctx.config.hub}) while following run ${started.runId}: the run is journaled and resumes when the hub starts again with the same data directory`,
              {
                hint: `Follow it then with \`clawhub runs show ${started.runId}\` (or cancel it with \`clawhub runs cancel ${started.runId}\`).`,
                details: { runId: started.runId },
                cause: error,
              },
            );
          throw error;
        });
      // Ctrl-C stops watching, not the run: it is the hub's, journaled, and goes on.
      const final = await Promise.race([watching, interrupted]);
      if (final === "interrupted") {
        watching.catch(() => undefined);
        const id = started.runId;
        return {
          data: { runId: id, status: "detached" },
          text: `Stopped watching. Run ${id} continues on the hub.\n  follow: clawhub runs show ${id}\n  cancel: clawhub runs cancel ${id}`,
          exitCode: 130,
        };
      }
      return {
        data: final,
        text: describeRun(final, ctx.now()),
        exitCode: final.status === "succeeded" ? 0 : 1,
      };
    });
  },
};

/** `clawhub runs list`. */
export const runsList: CommandSpec = {
  path: ["runs", "list"],
  summary: "list workflow runs, newest first",
  configure(cmd) {
    hubOption(cmd);
    cmd.option("--limit <n>", "at most this many runs", "100");
    cmd.option("--all", "every run, page after page");
  },
  async run(_args, options, ctx) {
    const limit = intFlag(options.limit, "--limit", 1, 1000);
    const runs = await withHubClient(ctx, (c) =>
      c.flows.list({ limit, all: options.all === true }),
    );
    const now = ctx.now();
    return {
      data: runs,
      text:
        runs.length === 0
          ? "No runs."
          : table([
              ["RUN", "WORKFLOW", "STATUS", "STARTED"],
              ...runs.map((r) => [r.runId, r.name, r.status, age(r.createdAt, now)]),
            ]),
    };
  },
};

const runAction = (
  name: "show" | "cancel" | "resume",
  summary: string,
  act: (c: HubClient, id: string) => Promise<RunView>,
): CommandSpec => ({
  path: ["runs", name],
  args: "<id>",
  summary,
  configure: hubOption,
  async run([id], _options, ctx) {
    const view = await withHubClient(ctx, (c) => act(c, id as string));
    return { data: view, text: describeRun(view, ctx.now()) };
  },
});

export const runsShow = runAction(
  "show",
  "show a run: each node's status, attempts, errors, and the outputs",
  (c, id) => c.flows.get(id),
);
export const runsCancel = runAction(
  "cancel",
  "cancel a run: running tasks are cancelled, nothing new starts",
  (c, id) => c.flows.cancel(id),
);
export const runsResume = runAction(
  "resume",
  "resume a run from its journal (done steps are not run again)",
  (c, id) => c.flows.resume(id),
);
