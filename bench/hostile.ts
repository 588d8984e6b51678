/**
 * The hostile inputs of issue 28 against a real `clawhub serve` (registry and hub in one
 * process), each with a probe beside it: a worker thread of this process requests
 * `GET /.well-known/clawhub.json` back to back and reports the longest wait (the stall every other
 * user would see), and the server's RSS is sampled for the peak and read after the input.
 *
 *   npm run bench:hostile [-- --quick] [-- --only <part of an input's name>] [-- --max-event-bytes 16MiB]
 *
 * Targets (issue 28): every stall under 100 ms, memory within the documented limits. `--quick`
 * scales the sizes down (for a smoke run). Prints a Markdown table (docs/security.md has it).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import * as grpc from "@grpc/grpc-js";
import { createAgent, createHubClient } from "../src/sdk/index.ts";
import { CHANNEL_OPTIONS, hubProtocol } from "../src/wire/index.ts";
import { publishBody } from "../test/helpers/multipart.ts";
import { freePort } from "./net.ts";

if (!isMainThread) await probe(workerData as { url: string });
else await main();

/** The probe thread: back-to-back requests; on "stop", answers the longest wait in ms. */
async function probe({ url }: { url: string }) {
  let longest = 0;
  let running = true;
  parentPort?.on("message", (m: string) => {
    if (m === "reset") longest = 0;
    if (m === "stop") running = false;
    if (m === "read") parentPort?.postMessage(longest);
  });
  while (running) {
    const start = performance.now();
    try {
      const r = await fetch(`${url}/.well-known/clawhub.json`);
      await r.arrayBuffer();
    } catch {
      // Counted as a wait like any other.
    }
    longest = Math.max(longest, performance.now() - start);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Row {
  input: string;
  outcome: string;
  stallMs: number;
  peakMiB: number;
  afterMiB: number;
}

async function main() {
  const quick = process.argv.includes("--quick");
  const onlyAt = process.argv.indexOf("--only");
  const only = onlyAt > 0 ? process.argv[onlyAt + 1] : undefined;
  const capAt = process.argv.indexOf("--max-event-bytes");
  const eventCap = capAt > 0 ? process.argv[capAt + 1] : undefined;
  const scale = (n: number) => (quick ? Math.max(1, Math.round(n / 10)) : n);
  const root = fileURLToPath(new URL("..", import.meta.url));
  const dir = await mkdtemp(join(tmpdir(), "clawhub-hostile-"));
  const [port, hubPort] = [await freePort(), await freePort()];
  const server = spawn(
    process.execPath,
    [
      join(root, "bin/clawhub.js"),
      "--json",
      "serve",
      "--port",
      String(port),
      "--hub-port",
      String(hubPort),
      "--data",
      join(dir, "data"),
      "--embedder",
      "none",
      "--no-rate-limit",
      // Plaintext: the hostile inputs come from processes without an identity, as they did when
      // the issue measured them (a secured hub refuses them at the TLS handshake).
      "--insecure",
      // `-- --max-event-bytes 16MiB`: the 8 MiB events pass and are delivered (or not read).
      ...(eventCap ? ["--max-event-bytes", eventCap] : []),
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
  );
  let logLines = 0;
  server.stderr?.on("data", (d: Buffer) => (logLines += d.toString().split("\n").length - 1));
  const started = await new Promise<{ url: string; hub: string; bootstrap: { token: string } }>(
    (resolve, reject) => {
      let out = "";
      server.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        const line = out.split("\n").find((l) => l.startsWith("{"));
        if (line) resolve(JSON.parse(line));
      });
      server.once("exit", (code) => reject(new Error(`serve exited with ${code}`)));
    },
  );
  const { url, hub, bootstrap } = started;
  const token = bootstrap.token;
  const prober = new Worker(fileURLToPath(import.meta.url), { workerData: { url } });
  const rows: Row[] = [];
  const client = createHubClient({ hub });

  const rssMiB = (p: ChildProcess) => {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, "utf8"));
    return Number(m?.[1] ?? 0) / 1024;
  };
  const readProbe = () =>
    new Promise<number>((resolve) => {
      prober.once("message", (v: number) => resolve(v));
      prober.postMessage("read");
    });

  async function measure(input: string, run: () => Promise<string>) {
    if (only && !input.includes(only)) return;
    await new Promise((r) => setTimeout(r, 300));
    const before = rssMiB(server);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(server))), 50);
    prober.postMessage("reset");
    let outcome: string;
    try {
      outcome = await run();
    } catch (error) {
      outcome = `error: ${(error as Error).message.slice(0, 80)}`;
    }
    await new Promise((r) => setTimeout(r, 500));
    const stallMs = await readProbe();
    clearInterval(sampler);
    const after = rssMiB(server);
    rows.push({
      input,
      outcome,
      stallMs,
      peakMiB: Math.max(0, peak - before),
      afterMiB: after - before,
    });
    console.error(`${input}: ${outcome}, stall ${stallMs.toFixed(0)} ms`);
  }

  // Bodies are built whole before they are sent: undici streaming a FormData of Blobs cost the
  // client more CPU than the server's parse, and on two cores that was counted as a stall.
  const multipart = (slug: string, files: Array<{ path: string; content: string | Buffer }>) =>
    publishBody({ slug, version: "1.0.0" }, files, `----clawhub-bench-${slug}`);
  const send = async ({ body, type }: { body: Buffer; type: string }) => {
    const r = await fetch(`${url}/api/v1/skills`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": type },
      body,
    });
    return `${r.status} ${(await r.text()).slice(0, 60).replace(/\n/g, " ")}`;
  };
  const publish = (slug: string, files: Array<{ path: string; content: string | Buffer }>) =>
    send(multipart(slug, files));
  const skill = (name: string, body: string, extra = "") =>
    `---\nname: ${name}\ndescription: A hostile test skill.\n${extra}---\n\n${body}\n`;
  /** A raw agent stream with no SDK behind it (it reads only when the test lets it). */
  const rawStream = () => {
    const raw = new (hubProtocol().AgentService)(
      hub,
      grpc.credentials.createInsecure(),
      CHANNEL_OPTIONS,
    );
    const stream = (
      raw as unknown as { Connect(): grpc.ClientDuplexStream<unknown, unknown> }
    ).Connect();
    return { raw, stream };
  };
  const agent = (name: string) =>
    createAgent({ hub, name, handleSignals: false, reconnect: { initialMs: 50, maxMs: 200 } });

  // 1, 8: the registry's parsers.
  await measure("SKILL.md line `# a` + 3,000 spaces + `b` (publish)", () =>
    publish("spaces", [{ path: "SKILL.md", content: skill("spaces", `# a${" ".repeat(3000)}b`) }]),
  );
  await measure("SKILL.md ending in 80,000 newlines (publish)", () =>
    publish("newlines", [
      { path: "SKILL.md", content: skill("newlines", `x${"\n".repeat(80_000)}`) },
    ]),
  );
  await measure("metadata nested 25,000 deep (publish)", () =>
    publish("nested", [
      {
        path: "SKILL.md",
        content: skill(
          "nested",
          "# nested",
          `metadata: '{"a":${"[".repeat(25_000)}${"]".repeat(25_000)}}'\n`,
        ),
      },
    ]),
  );

  // 2: uniqueItems over 20,000 objects, no credentials.
  const unique = agent("unique");
  unique.capability(
    { name: "unique.set", description: "a set", input: { type: "array", uniqueItems: true } },
    (items: unknown[]) => items.length,
  );
  await unique.start();
  await measure("uniqueItems over 20,000 objects (call)", async () => {
    const items = Array.from({ length: scale(20_000) }, (_, i) => ({ id: i, n: `x${i % 10}` }));
    items.push({ n: "x3", id: 3 });
    try {
      await client.call("unique.set", items);
      return "accepted";
    } catch (error) {
      return `refused ${(error as { code?: string }).code}`;
    }
  });

  // 3: chunking 20,000 paragraphs with max_tokens 1e8.
  const echo = agent("echo");
  echo.capability({ name: "echo", description: "echoes", maxConcurrency: 16 }, (x: unknown) => x);
  await echo.start();
  await measure("map.chunks, max_tokens 1e8, 20,000 paragraphs (workflow)", async () => {
    const text = Array.from({ length: scale(20_000) }, () => "a").join("\n\n");
    const run = await client.flows.start(
      {
        name: "chunks",
        nodes: [
          {
            id: "m",
            capability: "echo",
            map: { chunks: { text: "${{ inputs.text }}", max_tokens: 100_000_000 } },
          },
        ],
      },
      { text },
    );
    const done = await client.flows.watch(run.runId);
    return `run ${done.status}`;
  });

  // 4: one Register with 6 capabilities x 2 distinct ~118 KiB schemas.
  const schema = (tag: string, n: number) => {
    const properties: Record<string, unknown> = {};
    for (let i = 0; i < n; i++)
      properties[`${tag}${i}`] = { type: "object", properties: { a: { type: "string" } } };
    return { type: "object", properties };
  };
  await measure("6 capabilities x 2 distinct 118 KiB schemas (register)", async () => {
    const heavy = agent("heavy");
    for (let c = 0; c < 6; c++)
      heavy.capability(
        {
          name: `heavy.c${c}`,
          description: `heavy ${c}`,
          input: schema(`in${c}_`, 2200),
          output: schema(`out${c}_`, 2200),
        },
        () => ({}),
      );
    try {
      await heavy.start();
      return "registered";
    } catch (error) {
      return `refused ${(error as { code?: string }).code}`;
    } finally {
      await heavy.stop();
    }
  });

  // 5: agents with distinct schemas connect and leave.
  await measure(`${scale(700)} agents with distinct schemas connect and leave`, async () => {
    for (let i = 0; i < scale(700); i++) {
      const a = agent(`distinct-${i}`);
      a.capability(
        { name: `d${i}`, description: "distinct", input: schema(`p${i}_`, 20) },
        () => null,
      );
      await a.start();
      await a.stop();
    }
    return "all registered and left";
  });

  // 6: a subscriber that stops reading.
  await measure("subscriber stops reading; 40 events of 8 MiB", async () => {
    const { raw, stream } = rawStream();
    const ended = new Promise<string>((resolve) => {
      stream.on("error", (e: { code?: number }) => resolve(`dropped (gRPC ${e.code})`));
      stream.on("end", () => resolve("ended"));
    });
    stream.write({
      kind: "register",
      register: {
        agentId: "stalled",
        name: "stalled",
        labels: {},
        capabilities: [{ name: "stalled.cap", description: "never reads", maxConcurrency: 1 }],
      },
    });
    stream.write({ kind: "subscribe", subscribe: { topic: "big.>", unsubscribe: false } });
    await new Promise((r) => setTimeout(r, 300));
    stream.pause();
    const publisher = agent("publisher");
    publisher.capability({ name: "pub", description: "publishes" }, () => null);
    await publisher.start();
    const blob = "x".repeat(8 * 1024 * 1024);
    for (let i = 0; i < scale(40); i++) {
      publisher.publish("big.data", { i, blob });
      await new Promise((r) => setTimeout(r, 20));
    }
    const outcome = await Promise.race([
      ended,
      new Promise<string>((r) => setTimeout(() => r("still connected"), 5000)),
    ]);
    await publisher.stop();
    raw.close();
    return outcome;
  });

  // 7: 200 runs with 1 MiB inputs waiting on a silent agent.
  const silent = agent("silent");
  silent.capability(
    { name: "wait", description: "never answers", maxConcurrency: 1000 },
    () => new Promise(() => {}),
  );
  await silent.start();
  await measure("200 runs with 1 MiB inputs on a silent agent (workflow)", async () => {
    const input = { blob: "x".repeat(1024 * 1024) };
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < scale(200); i++) {
      try {
        await client.flows.start(
          { name: "waits", nodes: [{ id: "w", capability: "wait", input: "${{ inputs }}" }] },
          input,
        );
        accepted++;
      } catch {
        refused++;
      }
    }
    return `${accepted} accepted, ${refused} refused (RESOURCE_EXHAUSTED)`;
  });

  // 11: concurrent large publishes.
  await measure("4 concurrent 45 MiB publishes", async () => {
    const file = Buffer.alloc(9 * 1024 * 1024, 7);
    const bodies = [0, 1, 2, 3].map((k) =>
      multipart(`large-${k}`, [
        { path: "SKILL.md", content: skill(`large-${k}`, "# large") },
        ...[0, 1, 2, 3, 4].map((i) => ({ path: `data/${i}.bin`, content: file })),
      ]),
    );
    const results = await Promise.all(bodies.map(send));
    return results.map((r) => r.slice(0, 3)).join(", ");
  });

  // 13: anonymous connects and the log.
  await measure(`${scale(2100)} anonymous agent connects (log lines)`, async () => {
    const before = logLines;
    for (let i = 0; i < scale(2100); i++) {
      const { raw, stream } = rawStream();
      const done = new Promise((r) => {
        stream.on("error", r);
        stream.on("end", r);
      });
      stream.write({ kind: "heartbeat", heartbeat: { telemetry: null } });
      await done;
      raw.close();
    }
    await new Promise((r) => setTimeout(r, 200));
    return `${logLines - before} log lines`;
  });

  prober.postMessage("stop");
  await unique.stop();
  await echo.stop();
  await silent.stop();
  client.close();
  server.kill("SIGTERM");
  await new Promise((r) => server.once("exit", r));
  await prober.terminate();
  await rm(dir, { recursive: true, force: true });

  console.log("| input | outcome | longest stall of a probe | RSS peak / after (MiB) |");
  console.log("|---|---|---|---|");
  for (const r of rows)
    console.log(
      `| ${r.input} | ${r.outcome} | ${r.stallMs.toFixed(0)} ms | +${r.peakMiB.toFixed(0)} / ${r.afterMiB >= 0 ? "+" : ""}${r.afterMiB.toFixed(0)} |`,
    );
  const worst = Math.max(...rows.map((r) => r.stallMs));
  console.log(`\nlongest stall: ${worst.toFixed(0)} ms (target < 100 ms)`);
}
