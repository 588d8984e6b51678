/**
 * Workflow scheduling overhead: 1,000-node DAGs (wide, deep, diamond) of no-op tasks, and the
 * end-to-end latency of a 3-step flow, through ClawHub (hub + engine + an SDK agent over gRPC on
 * loopback, journal in the in-process control plane) and as BullMQ FlowProducer jobs on a local
 * Redis (Debian `redis-server`, started here), printed as ratios. Also the pure scheduler alone
 * (no I/O), to show where the time goes.
 *
 *   npm run bench:workflow [-- --runs 5]
 *
 * BullMQ flows are trees (a job has one parent): "wide" is a parent with 999 children, "deep" a
 * chain of 1,000 nested jobs, and "diamond" a root job, then a parent with 998 children (its
 * shared root cannot be a child of 998 parents), then the sink.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FlowJob, FlowProducer, Queue, QueueEvents, Worker } from "bullmq";
import { createMemoryControlPlane } from "../src/control-plane/index.ts";
import { createHub } from "../src/hub/index.ts";
import { createAgent } from "../src/sdk/index.ts";
import { initialState, type RunEvent, reduce, validateWorkflow } from "../src/workflow/index.ts";
import { freePort } from "./net.ts";

const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf("--runs") + 1] || 3);
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

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

async function clawhub() {
  const dir = await mkdtemp(join(tmpdir(), "clawhub-bench-wf-"));
  const cp = createMemoryControlPlane({ file: join(dir, "journal.jsonl") });
  const hub = await createHub({ port: 0, controlPlane: cp, queueLimit: 1024 });
  const agent = createAgent({ hub: hub.address, name: "noop", handleSignals: false });
  agent.capability({ name: "noop", description: "does nothing", maxConcurrency: 64 }, () => null);
  agent.capability(
    { name: "step", description: "one step", maxConcurrency: 64 },
    (input: { n: number }) => ({ n: input.n + 1 }),
  );
  await agent.start();
  const engine = hub.workflows;
  if (!engine) throw new Error("no workflow engine");
  const runFlow = async (raw: unknown, inputs: Record<string, unknown> = {}) => {
    const start = performance.now();
    const view = await engine.start(validateWorkflow(raw), inputs);
    const final = await engine.wait(view.runId);
    if (final.status !== "succeeded")
      throw new Error(`${final.name}: ${final.status} ${final.reason}`);
    return performance.now() - start;
  };
  return {
    runFlow,
    async close() {
      await agent.stop();
      await hub.close();
      await cp.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---- BullMQ -------------------------------------------------------------------------------------

async function bullmq(port: number) {
  const connection = { host: "127.0.0.1", port, maxRetriesPerRequest: null };
  const queueName = "bench";
  const worker = new Worker(
    queueName,
    async (job) => (job.name === "step" ? { n: (job.data as { n: number }).n + 1 } : null),
    {
      connection,
      concurrency: 64,
    },
  );
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
        const root = await queue.add("root", {}, { removeOnComplete: true });
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
      await worker.close();
      await events.close();
      await producer.close();
      await queue.obliterate({ force: true });
      await queue.close();
    },
  };
}

// ---- main ---------------------------------------------------------------------------------------

let redis: ChildProcess | undefined;
try {
  const redisBin = (() => {
    try {
      return execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim();
    } catch {
      return "";
    }
  })();
  const ours = await clawhub();
  let peer: Awaited<ReturnType<typeof bullmq>> | undefined;
  if (redisBin) {
    const port = await freePort();
    redis = spawn(
      redisBin,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: "ignore" },
    );
    await new Promise((r) => setTimeout(r, 300));
    peer = await bullmq(port);
  } else {
    console.log(
      "redis-server not found (Debian: apt-get install redis-server): BullMQ column skipped",
    );
  }
  console.log(
    `median of ${RUNS} runs; ${N}-node DAGs of no-op tasks, 64 at once; node ${process.version}`,
  );
  console.log(
    "DAG | scheduler alone ms | ClawHub ms | ClawHub µs/node | BullMQ ms | BullMQ µs/node | ClawHub vs BullMQ (time)",
  );
  console.log("---|---|---|---|---|---|---");
  for (const shape of ["wide", "deep", "diamond"] as const) {
    const pure = median(Array.from({ length: RUNS }, () => schedulerOnly(shape)));
    const oursMs: number[] = [];
    const peerMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      oursMs.push(await ours.runFlow(dag(shape)));
      if (peer) peerMs.push(await peer.shape(shape));
    }
    const o = median(oursMs);
    const p = peer ? median(peerMs) : undefined;
    console.log(
      `${shape} | ${pure.toFixed(1)} | ${o.toFixed(0)} | ${((o / N) * 1000).toFixed(0)} | ${p?.toFixed(0) ?? "-"} | ${p ? ((p / N) * 1000).toFixed(0) : "-"} | ${p ? `${(o / p).toFixed(2)}x` : "-"}`,
    );
  }
  const three = {
    name: "three",
    nodes: [
      { id: "a", capability: "step", input: { n: 0 } },
      { id: "b", capability: "step", input: { n: "${{ nodes.a.output.n }}" } },
      { id: "c", capability: "step", input: { n: "${{ nodes.b.output.n }}" } },
    ],
  };
  const oursThree: number[] = [];
  const peerThree: number[] = [];
  for (let i = 0; i < Math.max(20, RUNS); i++) {
    oursThree.push(await ours.runFlow(three));
    if (peer) peerThree.push(await peer.threeSteps());
  }
  const o3 = median(oursThree);
  const p3 = peer ? median(peerThree) : undefined;
  console.log(
    `\n3-step flow end to end (median of ${oursThree.length}): ClawHub ${o3.toFixed(2)} ms, BullMQ ${p3?.toFixed(2) ?? "-"} ms${p3 ? `, ratio ${(o3 / p3).toFixed(2)}x` : ""}`,
  );
  await ours.close();
  await peer?.close();
} finally {
  redis?.kill();
}
