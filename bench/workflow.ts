/**
 * Workflow scheduling: 1,000-node DAGs (wide, deep, diamond) of no-op tasks, and the end-to-end
 * latency of a 3-step flow, through ClawHub and through BullMQ FlowProducer on a local Redis
 * (Debian `redis-server`, started here), printed as ratios.
 *
 *   npm run bench:workflow [-- --runs 5]
 *
 Per DAG:
 * - hub overhead: the hub (engine, scheduler, journal file, dispatcher) with an agent answering
 *   over an in-memory AgentChannel at once, so every microsecond is the hub's own;
 * - one process: the SDK agent in this process over gRPC on loopback, against BullMQ's Worker
 *   in this process (Redis in its own) - the layout of the earlier measurements;
 * - worker processes: the SDK agent and BullMQ's Worker each in a child process, as
 *   deployments run them (on 2 cores every hop then wakes another process).
 * The pure scheduler alone (no I/O) is printed too, to show where the time goes.
 *
 * BullMQ flows are trees (a job has one parent): "wide" is a parent with 999 children, "deep" a
 * chain of 1,000 nested jobs, and "diamond" a root job, then a parent with 998 children (its
 * shared root cannot be a child of 998 parents), then the sink.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type FlowJob, FlowProducer, Queue, QueueEvents, Worker } from "bullmq";
import { createMemoryControlPlane } from "../src/control-plane/index.ts";
import { createHub, type Hub } from "../src/hub/index.ts";
import { type Agent, createAgent } from "../src/sdk/index.ts";
import { encodePayload, type HubMessage } from "../src/wire/index.ts";
import { initialState, type RunEvent, reduce, validateWorkflow } from "../src/workflow/index.ts";
import { freePort } from "./net.ts";

const SELF = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf("--runs") + 1] || 7);
/** `--shapes wide,deep`: measure only these DAGs. */
const SHAPES = (
  args.includes("--shapes")
    ? String(args[args.indexOf("--shapes") + 1]).split(",")
    : ["wide", "deep", "diamond"]
) as Shape[];
/** Runs before measuring: the JIT needs a few thousand nodes before the hot paths settle. */
const WARMUP = 3;
const N = 1000;

type Shape = "wide" | "deep" | "diamond";
function dag(shape: Shape) {
  const nodes: Array<{ id: string; capability: string; needs?: string[] }> = [];
  if (shape === "deep")
    for (let i = 0; i < N; i++)
      nodes.push({ id: `n${i}`, capability: "noop", ...(i ? { needs: [`n${i - 1}`] } : {}) });
  else if (shape === "wide") {
    for (let i = 0; i < N - 1; i++) nodes.push({ id: `n${i}`, capability: "noop" });
    nodes.push({ id: "sink", capability: "noop", needs: nodes.map((n) => n.id) });
  } else {
    nodes.push({ id: "root", capability: "noop" });
    for (let i = 0; i < N - 2; i++)
      nodes.push({ id: `n${i}`, capability: "noop", needs: ["root"] });
    nodes.push({ id: "sink", capability: "noop", needs: nodes.slice(1).map((n) => n.id) });
  }
  return { name: `${shape}-${N}`, concurrency: 64, nodes };
}

const THREE = {
  name: "three",
  nodes: [
    { id: "a", capability: "step", input: { n: 0 } },
    { id: "b", capability: "step", input: { n: "${{ nodes.a.output.n }}" } },
    { id: "c", capability: "step", input: { n: "${{ nodes.b.output.n }}" } },
  ],
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

// ---- child processes: the SDK agent, the BullMQ worker ---------------------------------------

/** The benchmark's agent: a no-op and a counting step. */
async function startAgent(hub: string): Promise<Agent> {
  const agent = createAgent({ hub, name: "noop", handleSignals: false });
  agent.capability({ name: "noop", description: "does nothing", maxConcurrency: 64 }, () => null);
  agent.capability(
    { name: "step", description: "one step", maxConcurrency: 64 },
    (input: { n: number }) => ({ n: input.n + 1 }),
  );
  await agent.start();
  return agent;
}

/** BullMQ's worker for the same two kinds of job. */
function startWorker(port: number, queueName: string): Worker {
  return new Worker(
    queueName,
    async (job) => (job.name === "step" ? { n: (job.data as { n: number }).n + 1 } : null),
    { connection: { host: "127.0.0.1", port, maxRetriesPerRequest: null }, concurrency: 64 },
  );
}

if (args[0] === "--agent") {
  const agent = await startAgent(args[1] as string);
  process.stdout.write("ready\n");
  process.stdin.resume();
  process.stdin.on("end", async () => {
    await agent.stop();
    process.exit(0);
  });
} else if (args[0] === "--bullmq-worker") {
  const worker = startWorker(Number(args[1]), args[2] as string);
  await worker.waitUntilReady();
  process.stdout.write("ready\n");
  process.stdin.resume();
  process.stdin.on("end", async () => {
    await worker.close();
    process.exit(0);
  });
} else if (args[0] === "--measure") {
  // One ClawHub layout in a process of its own: its heap (and its journal) is its own.
  const mode = args[1] as "memory" | "in-process" | "process";
  const ours = await clawhub(mode);
  const out: Record<string, number[]> = {};
  for (const shape of SHAPES) {
    for (let i = 0; i < WARMUP; i++) await ours.runFlow(dag(shape));
    out[shape] = [];
    for (let i = 0; i < RUNS; i++) out[shape].push(await ours.runFlow(dag(shape)));
  }
  out.three = [];
  for (let i = 0; i < Math.max(20, RUNS); i++) out.three.push(await ours.runFlow(THREE));
  await ours.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
} else await main();

function child(argv: string[]): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [SELF, ...argv], { stdio: ["pipe", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    proc.stdout?.on("data", (d: Buffer) => {
      if (d.toString().includes("ready")) resolve(proc);
    });
    proc.once("exit", (code) => reject(new Error(`${argv[0]} exited with ${code}`)));
  });
}
async function stopChild(proc: ChildProcess): Promise<void> {
  const exited = new Promise((r) => proc.once("exit", r));
  proc.stdin?.end();
  await exited;
}

// ---- the pure scheduler alone -----------------------------------------------------------------

function schedulerOnly(shape: Shape): number {
  const spec = validateWorkflow(dag(shape));
  const start = performance.now();
  const state = initialState(spec);
  const queue: RunEvent[] = [{ type: "started", at: 0, runId: "r", inputs: {}, contextLimits: {} }];
  let done = false;
  while (queue.length > 0 && !done) {
    const { commands } = reduce(state, queue.shift() as RunEvent);
    for (const c of commands) {
      if (c.type === "dispatch")
        queue.push({ type: "task.completed", at: 0, task: c.task, output: null, tokens: 0 });
      if (c.type === "finished") done = true;
    }
  }
  if (state.status !== "succeeded") throw new Error(`scheduler-only ${shape}: ${state.status}`);
  return performance.now() - start;
}

// ---- ClawHub ------------------------------------------------------------------------------------

/** A hub journaling to a file; `inProcess` answers its tasks over a memory channel instead. */
async function clawhub(mode: "memory" | "in-process" | "process") {
  const dir = await mkdtemp(join(tmpdir(), "clawhub-bench-wf-"));
  const cp = createMemoryControlPlane({ file: join(dir, "journal.jsonl") });
  const hub: Hub = await createHub({ port: 0, controlPlane: cp, queueLimit: 1024 });
  let agent: ChildProcess | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let sdkAgent: Agent | undefined;
  if (mode === "process") agent = await child(["--agent", hub.address]);
  else if (mode === "in-process") sdkAgent = await startAgent(hub.address);
  else {
    const nothing = encodePayload(null);
    const capability = (name: string) => ({
      name,
      description: name,
      inputSchema: "",
      outputSchema: "",
      maxConcurrency: 64,
      contextLimit: 0,
      timeoutMs: 0,
    });
    const endpoint = hub.core.connect({
      peer: "memory",
      send(message) {
        for (const m of message.kind === "batch" ? message.batch.messages : [message])
          if (m.kind === "task") answer(m);
      },
      end() {},
    });
    // The zero-cost agent: every task succeeds on the next microtask.
    const answer = (m: Extract<HubMessage, { kind: "task" }>) =>
      queueMicrotask(() =>
        endpoint.receive({
          kind: "result",
          result: { taskId: m.task.taskId, output: nothing, failure: null, usage: null },
        }),
      );
    // Heartbeats, as any agent sends them (the hub drops a silent agent).
    heartbeat = setInterval(
      () => endpoint.receive({ kind: "heartbeat", heartbeat: { telemetry: null } }),
      500,
    );
    endpoint.receive({
      kind: "register",
      register: {
        agentId: "memory",
        name: "memory",
        labels: {},
        capabilities: [capability("noop"), capability("step")],
        sdkVersion: "",
        queueLimit: 0,
        telemetry: null,
      },
    });
  }
  const engine = hub.workflows;
  if (!engine) throw new Error("no workflow engine");
  return {
    async runFlow(raw: unknown, inputs: Record<string, unknown> = {}) {
      const start = performance.now();
      const view = await engine.start(validateWorkflow(raw), inputs);
      const final = await engine.wait(view.runId);
      if (final.status !== "succeeded")
        throw new Error(`${final.name}: ${final.status} ${final.reason}`);
      return performance.now() - start;
    },
    async close() {
      if (agent) await stopChild(agent);
      await sdkAgent?.stop();
      if (heartbeat) clearInterval(heartbeat);
      await hub.close();
      await cp.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---- BullMQ -------------------------------------------------------------------------------------

async function bullmq(port: number, mode: "in-process" | "process") {
  const connection = { host: "127.0.0.1", port, maxRetriesPerRequest: null };
  // A queue per layout, so each layout's jobs go to its own worker only.
  const queueName = `bench-${mode}`;
  const worker =
    mode === "process" ? await child(["--bullmq-worker", String(port), queueName]) : undefined;
  const local = mode === "in-process" ? startWorker(port, queueName) : undefined;
  await local?.waitUntilReady();
  const events = new QueueEvents(queueName, { connection });
  await events.waitUntilReady();
  const producer = new FlowProducer({ connection });
  const queue = new Queue(queueName, { connection });
  const job = (name: string, children?: FlowJob[]): FlowJob => ({
    name,
    queueName,
    data: {},
    ...(children ? { children } : {}),
    opts: { removeOnComplete: true },
  });
  const finish = async (flow: FlowJob) => {
    const node = await producer.add(flow);
    await node.job.waitUntilFinished(events, 120_000);
  };
  return {
    async shape(shape: Shape) {
      const start = performance.now();
      if (shape === "wide")
        await finish(
          job(
            "sink",
            Array.from({ length: N - 1 }, (_, i) => job(`n${i}`)),
          ),
        );
      else if (shape === "deep") {
        let flow = job("n0");
        for (let i = 1; i < N; i++) flow = job(`n${i}`, [flow]);
        await finish(flow);
      } else {
        // Kept until waited for: a removed job cannot be waited on (BullMQ then reports it missing).
        const root = await queue.add("root", {}, { removeOnComplete: false });
        await root.waitUntilFinished(events, 120_000);
        await finish(
          job(
            "sink",
            Array.from({ length: N - 2 }, (_, i) => job(`n${i}`)),
          ),
        );
      }
      return performance.now() - start;
    },
    async threeSteps() {
      const start = performance.now();
      await finish({
        name: "step",
        queueName,
        data: { n: 2 },
        children: [
          {
            name: "step",
            queueName,
            data: { n: 1 },
            children: [{ name: "step", queueName, data: { n: 0 } }],
          },
        ],
      });
      return performance.now() - start;
    },
    async close() {
      if (worker) await stopChild(worker);
      await local?.close();
      await events.close();
      await producer.close();
      await queue.obliterate({ force: true });
      await queue.close();
    },
  };
}

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  let redis: ChildProcess | undefined;
  try {
    const redisBin = (() => {
      try {
        return execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim();
      } catch {
        return "";
      }
    })();
    /** Runs one ClawHub layout in a child process and returns its timings. */
    const measure = (mode: string) =>
      new Promise<Record<string, number[]>>((resolve, reject) => {
        const proc = spawn(process.execPath, [SELF, "--measure", mode, "--runs", String(RUNS)], {
          stdio: ["ignore", "pipe", "inherit"],
        });
        let out = "";
        proc.stdout.on("data", (d: Buffer) => {
          out += d.toString();
        });
        proc.once("exit", (code) =>
          code === 0
            ? resolve(
                JSON.parse(out.trim().split("\n").pop() as string) as Record<string, number[]>,
              )
            : reject(new Error(`--measure ${mode} exited with ${code}`)),
        );
      });
    const overhead = await measure("memory");
    const layouts = [
      { name: "one process", mode: "in-process" as const, ours: await measure("in-process") },
      { name: "worker processes", mode: "process" as const, ours: await measure("process") },
    ];
    let port = 0;
    if (redisBin) {
      port = await freePort();
      redis = spawn(
        redisBin,
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        { stdio: "ignore" },
      );
      await new Promise((r) => setTimeout(r, 300));
    } else {
      console.log(
        "redis-server not found (Debian: apt-get install redis-server): BullMQ columns skipped",
      );
    }
    const peerMs = new Map<string, Record<string, number[]>>();
    for (const layout of layouts) {
      if (!redisBin) break;
      const peer = await bullmq(port, layout.mode);
      const out: Record<string, number[]> = {};
      for (const shape of ["wide", "deep", "diamond"] as const) {
        for (let i = 0; i < WARMUP; i++) await peer.shape(shape);
        out[shape] = [];
        for (let i = 0; i < RUNS; i++) out[shape].push(await peer.shape(shape));
      }
      out.three = [];
      for (let i = 0; i < Math.max(20, RUNS); i++) out.three.push(await peer.threeSteps());
      await peer.close();
      peerMs.set(layout.name, out);
    }
    console.log(
      `median of ${RUNS} runs (after ${WARMUP} warm-ups), each ClawHub layout in a process of its own; ${N}-node DAGs of no-op tasks, 64 at once; node ${process.version}`,
    );
    console.log(
      "DAG | scheduler alone µs/node | hub overhead µs/node | layout | ClawHub µs/node | BullMQ µs/node | BullMQ time / ClawHub time",
    );
    console.log("---|---|---|---|---|---|---");
    const us = (ms: number) => ((ms / N) * 1000).toFixed(0);
    for (const shape of ["wide", "deep", "diamond"] as const) {
      const pure = median(Array.from({ length: RUNS }, () => schedulerOnly(shape)));
      const h = median(overhead[shape] ?? []);
      for (const layout of layouts) {
        const o = median(layout.ours[shape] ?? []);
        const peer = peerMs.get(layout.name)?.[shape];
        const p = peer ? median(peer) : undefined;
        console.log(
          `${shape} | ${us(pure)} | ${us(h)} | ${layout.name} | ${us(o)} | ${p ? us(p) : "-"} | ${p ? `${(p / o).toFixed(2)}x` : "-"}`,
        );
      }
    }
    const o3 = median(layouts[0]?.ours.three ?? []);
    const p3s = peerMs.get("one process")?.three;
    const p3 = p3s ? median(p3s) : undefined;
    console.log(
      `\n3-step flow end to end, one process (median of ${Math.max(20, RUNS)}): ClawHub ${o3.toFixed(2)} ms, BullMQ ${p3?.toFixed(2) ?? "-"} ms${p3 ? `, BullMQ / ClawHub ${(p3 / o3).toFixed(2)}x` : ""}`,
    );
  } finally {
    redis?.kill();
  }
}
