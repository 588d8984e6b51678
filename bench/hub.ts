/**
 * Per-call overhead and throughput through the hub, against a raw gRPC unary echo between the
 * same two processes (the floor: no broker at all) and NATS request/reply through a local
 * nats-server (a peer broker), with 1, 10 and 100 agents; and the secured hub (`clawhub hub
 * --tls`: mutual TLS, every call and result signed and verified, each decision audited) beside
 * the same hub without, with the handshake, signing and verification costs on their own.
 *
 *   npm run bench:hub [-- --calls 2000 --seconds 3 --concurrency 64 --agents 1,10,100]
 *
 * Processes: this one is the caller; the hub (`clawhub hub`) and nats-server are brokers of
 * their own; one worker process holds the N agents, the N NATS responders and the raw gRPC
 * echo server. Every path carries the same small JSON input. Needs `nats-server` (Debian
 * package of that name); without it the NATS column is skipped.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { createReplayGuard, verifySignedFields } from "../src/identity/index.ts";
import {
  type Agent,
  type ClientTls,
  createAgent,
  createHubAdmin,
  createHubClient,
  createSigner,
  enroll,
} from "../src/sdk/index.ts";
import {
  CHANNEL_OPTIONS,
  callSignedFields,
  decodePayload,
  encodePayload,
  hubProtocol,
  type WireCallRequest,
  type WireCallResponse,
} from "../src/wire/index.ts";
import { freePort } from "./net.ts";

const SELF = fileURLToPath(import.meta.url);
const CLI = fileURLToPath(new URL("../bin/clawhub.js", import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};

if (args[0] === "--worker") await worker(args.slice(1));
else await caller();

// ---- worker: agents, NATS responders, raw gRPC echo ---------------------------------------

async function worker([
  hub = "",
  nats = "",
  agentsArg = "1",
  secureHub = "",
  tokensFile = "",
]: string[]): Promise<void> {
  const n = Number(agentsArg);
  const agents: Agent[] = [];
  const tokens = tokensFile ? (JSON.parse(readFileSync(tokensFile, "utf8")) as string[]) : [];
  for (let i = 0; i < n; i++) {
    for (const [address, enrollToken] of [
      [hub, undefined],
      ...(secureHub ? [[secureHub, tokens[i]] as const] : []),
    ] as const) {
      const agent = createAgent({
        hub: address,
        name: `echo-${i}`,
        handleSignals: false,
        ...(enrollToken ? { enrollToken } : {}),
      });
      agent.capability(
        { name: "echo", description: "echoes its input", maxConcurrency: 64 },
        (input) => input,
      );
      await agent.start();
      agents.push(agent);
    }
  }
  const natsConnections: NatsConnection[] = [];
  if (nats) {
    for (let i = 0; i < n; i++) {
      const nc = await connect({ servers: nats });
      nc.subscribe("echo", {
        queue: "echo",
        callback: (_err, msg) => {
          msg.respond(msg.data);
        },
      });
      natsConnections.push(nc);
    }
  }
  const server = new grpc.Server(CHANNEL_OPTIONS);
  server.addService(hubProtocol().CallerService.service, {
    Call(
      call: grpc.ServerUnaryCall<WireCallRequest, WireCallResponse>,
      cb: grpc.sendUnaryData<Partial<WireCallResponse>>,
    ) {
      // The same work an agent does: decode the input, encode the output.
      cb(null, { output: encodePayload(decodePayload(call.request.input)), taskId: "raw" });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  process.stdout.write(`ready ${port}\n`);
  process.stdin.resume();
  process.stdin.on("end", async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await Promise.all(natsConnections.map((nc) => nc.close()));
    server.forceShutdown();
    process.exit(0);
  });
}

// ---- caller ---------------------------------------------------------------------------------

function start(
  cmd: string,
  argv: string[],
  ready: RegExp,
  stdin = false,
  env: Record<string, string> = {},
) {
  const child = spawn(cmd, argv, {
    stdio: [stdin ? "pipe" : "ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let out = "";
  return new Promise<{ child: ChildProcess; match: RegExpExecArray }>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve({ child, match: m });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${cmd} exited with ${code}: ${out}`)));
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function measure(
  call: () => Promise<unknown>,
  calls: number,
  seconds: number,
  concurrency: number,
) {
  for (let i = 0; i < 200; i++) await call();
  const latencies: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await call();
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  let done = 0;
  const end = performance.now() + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      await call();
      done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = (performance.now() - t0) / 1000;
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), rps: done / elapsed };
}

async function caller(): Promise<void> {
  const calls = opt("--calls", 2000);
  const seconds = opt("--seconds", 3);
  const concurrency = opt("--concurrency", 64);
  const agentsAt = args.indexOf("--agents");
  const agentCounts =
    agentsAt >= 0
      ? String(args[agentsAt + 1])
          .split(",")
          .map(Number)
      : [1, 10, 100];
  let natsBin: string | undefined;
  try {
    natsBin =
      execFileSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" }).trim() ||
      undefined;
  } catch {
    natsBin = undefined;
  }
  const dataDir = await mkdtemp(join(tmpdir(), "clawhub-bench-hub-"));
  const hub = await start(
    process.execPath,
    // The plaintext hub, for the secured one to be compared with.
    [CLI, "hub", "--insecure", "--port", "0", "--embedder", "none", "--json", "--data", dataDir],
    /"hub":"([^"]+)"/,
  );
  const hubAddress = hub.match[1] as string;
  // The same hub secured: its operator identity lands in a config directory of the bench's own.
  const configPath = join(dataDir, "config", "config.json");
  const secure = await start(
    process.execPath,
    [
      CLI,
      "hub",
      "--tls",
      "--port",
      "0",
      "--embedder",
      "none",
      "--json",
      "--data",
      join(dataDir, "secure"),
    ],
    /"hub":"([^"]+)"/,
    false,
    { CLAWHUB_CONFIG_PATH: configPath },
  );
  const secureAddress = secure.match[1] as string;
  const operatorFile = /"credentials":"([^"]+)"/.exec(secure.match.input)?.[1] as string;
  const operator = JSON.parse(readFileSync(operatorFile, "utf8")) as ClientTls;
  const admin = createHubAdmin({ hub: secureAddress, tls: operator });
  const enrolled = async (name: string, kind: "agent" | "caller") =>
    (await admin.createEnrollment({ name, kind, certTtlMs: 3_600_000 })).token;
  const secureClient = createHubClient({
    hub: secureAddress,
    tls: await enroll({ hub: secureAddress, token: await enrolled("bench", "caller") }),
  });
  let nats: ChildProcess | undefined;
  let natsUrl = "";
  if (natsBin) {
    const port = await freePort();
    natsUrl = `nats://127.0.0.1:${port}`;
    nats = (await start(natsBin, ["-a", "127.0.0.1", "-p", String(port)], /Server is ready/)).child;
  } else {
    console.log("nats-server not found (Debian: apt-get install nats-server): NATS column skipped");
  }
  const input = { text: "hello from the bench", n: 42 };
  const client = createHubClient({ hub: hubAddress });
  const nc = natsUrl ? await connect({ servers: natsUrl }) : undefined;
  const natsPayload = new TextEncoder().encode(JSON.stringify(input));
  console.log(
    `${calls} sequential calls for latency, then ${concurrency} concurrent callers for ${seconds} s; node ${process.version}`,
  );
  console.log(
    "agents | path | p50 ms | p99 ms | calls/s | p50 vs gRPC | calls/s vs gRPC | p50 vs NATS | calls/s vs NATS",
  );
  console.log("---|---|---|---|---|---|---|---|---");
  try {
    for (const n of agentCounts) {
      const tokensFile = join(dataDir, `tokens-${n}.json`);
      const tokens: string[] = [];
      for (let i = 0; i < n; i++) tokens.push(await enrolled(`echo-${i}`, "agent"));
      writeFileSync(tokensFile, JSON.stringify(tokens), { mode: 0o600 });
      const w = await start(
        process.execPath,
        [SELF, "--worker", hubAddress, natsUrl, String(n), secureAddress, tokensFile],
        /ready (\d+)/,
        true,
      );
      const raw = new (hubProtocol().CallerService)(
        `127.0.0.1:${w.match[1]}`,
        grpc.credentials.createInsecure(),
        CHANNEL_OPTIONS,
      ) as unknown as {
        Call(
          req: Partial<WireCallRequest>,
          cb: (e: Error | null, r: WireCallResponse) => void,
        ): void;
        close(): void;
      };
      const rawCall = () =>
        new Promise((resolve, reject) =>
          raw.Call({ capability: "echo", input: encodePayload(input) }, (e, r) =>
            e ? reject(e) : resolve(decodePayload(r.output)),
          ),
        );
      const rows: Array<[string, { p50: number; p99: number; rps: number }]> = [];
      rows.push(["raw gRPC echo (floor)", await measure(rawCall, calls, seconds, concurrency)]);
      if (nc) {
        rows.push([
          "NATS request/reply",
          await measure(
            async () =>
              JSON.parse(
                new TextDecoder().decode(
                  (await nc.request("echo", natsPayload, { timeout: 5000 })).data,
                ),
              ),
            calls,
            seconds,
            concurrency,
          ),
        ]);
      }
      rows.push([
        "ClawHub hub",
        await measure(() => client.call("echo", input), calls, seconds, concurrency),
      ]);
      rows.push([
        "ClawHub hub, secured (mTLS, signed, audited)",
        await measure(() => secureClient.call("echo", input), calls, seconds, concurrency),
      ]);
      const floor = rows[0]?.[1] as { p50: number; rps: number };
      const peer = rows.find((r) => r[0].startsWith("NATS"))?.[1];
      for (const [name, r] of rows) {
        console.log(
          [
            n,
            name,
            r.p50.toFixed(3),
            r.p99.toFixed(3),
            Math.round(r.rps),
            `${(r.p50 / floor.p50).toFixed(2)}x`,
            `${(r.rps / floor.rps).toFixed(2)}x`,
            peer ? `${(r.p50 / peer.p50).toFixed(2)}x` : "-",
            peer ? `${(r.rps / peer.rps).toFixed(2)}x` : "-",
          ].join(" | "),
        );
      }
      const plain = rows.find((r) => r[0] === "ClawHub hub")?.[1];
      const secured = rows.find((r) => r[0].startsWith("ClawHub hub, secured"))?.[1];
      if (plain && secured)
        console.log(
          `${n} | secured vs insecure hub | p50 ${(secured.p50 / plain.p50).toFixed(2)}x (target <= 1.3x) | p99 ${(secured.p99 / plain.p99).toFixed(2)}x | calls/s ${(secured.rps / plain.rps).toFixed(2)}x`,
        );
      // With agents still connected: the secured path's costs on their own, once.
      if (n === 1) await costs(hubAddress, secureAddress, await enrolled("costs", "caller"));
      raw.close();
      w.child.stdin?.end();
      await new Promise((r) => w.child.once("exit", r));
    }
  } finally {
    admin.close();
    secureClient.close();
    secure.child.kill("SIGTERM");
    await new Promise((r) => secure.child.once("exit", r));
    client.close();
    await nc?.close();
    nats?.kill();
    hub.child.kill("SIGTERM");
    await new Promise((r) => hub.child.once("exit", r));
    await rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * The secured path's costs on their own: a new connection's first call (TCP, the TLS handshake
 * with client certificates, and the hub's check of the certificate) against the same on the
 * plaintext hub, and signing and verifying one call's signature (ECDSA P-256 over RFC 8785 JSON).
 */
async function costs(plainHub: string, secureHub: string, token: string): Promise<void> {
  const tls = await enroll({ hub: secureHub, token });
  const firstCall = async (make: () => ReturnType<typeof createHubClient>) => {
    const times: number[] = [];
    for (let i = 0; i < 30; i++) {
      const c = make();
      const t = performance.now();
      await c.call("echo", { i });
      times.push(performance.now() - t);
      c.close();
    }
    times.sort((a, b) => a - b);
    return percentile(times, 50);
  };
  const plainFirst = await firstCall(() => createHubClient({ hub: plainHub }));
  const secureFirst = await firstCall(() => createHubClient({ hub: secureHub, tls }));
  const signer = createSigner(tls.keyPem);
  const request = {
    capability: "echo",
    query: "",
    input: encodePayload({ n: 1 }),
    idempotencyKey: "",
  };
  const n = 5000;
  let t = performance.now();
  const signatures = [];
  for (let i = 0; i < n; i++) signatures.push(signer.sign(callSignedFields(request, null)));
  const signUs = ((performance.now() - t) * 1000) / n;
  const publicKey = new X509Certificate(tls.certPem).publicKey;
  const guard = createReplayGuard({ windowMs: 600_000 });
  t = performance.now();
  for (const signature of signatures)
    verifySignedFields({
      publicKey,
      fields: callSignedFields(request, signature),
      signature: Buffer.from(signature.signature).toString("base64"),
      guard,
    });
  const verifyUs = ((performance.now() - t) * 1000) / n;
  console.log(
    `\nsecured path costs: a new connection's first call ${secureFirst.toFixed(2)} ms (plaintext ${plainFirst.toFixed(2)} ms: the TLS handshake adds ${(secureFirst - plainFirst).toFixed(2)} ms); signing ${signUs.toFixed(1)} µs and verifying ${verifyUs.toFixed(1)} µs per call (ECDSA P-256)`,
  );
}
