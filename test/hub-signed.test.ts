import type * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { verifyAuditLog } from "../src/audit/index.ts";
import type { Hub, HubSecurity } from "../src/hub/index.ts";
import {
  type Agent,
  type ClientTls,
  channelCredentials,
  createAgent,
  createHubAdmin,
  createHubClient,
  createSigner,
  enroll,
} from "../src/sdk/index.ts";
import {
  CHANNEL_OPTIONS,
  callSignedFields,
  encodePayload,
  fromGrpcError,
  hubProtocol,
  payloadDigest,
  type WireCallRequest,
} from "../src/wire/index.ts";
import { rejection } from "./helpers/hub.ts";
import { useSecureHub } from "./helpers/secure-hub.ts";

let hub: Hub;
let security: HubSecurity;
let admin: ClientTls;
let agents: Agent[];

useSecureHub((sb) => {
  ({ hub, security, admin, agents } = sb);
});

/** An agent serving `echo` that remembers who called it. */
async function echoAgent(callers: Array<string | undefined>) {
  const { token } = await security.createEnrollment({ name: "worker", kind: "agent" });
  const a = createAgent({
    hub: hub.address,
    name: "worker",
    enrollToken: token,
    handleSignals: false,
    reconnect: { initialMs: 50, maxMs: 200 },
  });
  a.capability({ name: "echo", description: "echoes" }, (x: unknown, ctx) => {
    callers.push(ctx.caller);
    return x;
  });
  agents.push(a);
  await a.start();
}

const caller = async (name: string) =>
  enroll({
    hub: hub.address,
    token: (await security.createEnrollment({ name, kind: "caller" })).token,
  });

/** A raw CallerService.Call, so a test controls the signature. */
function rawCall(tls: ClientTls, request: WireCallRequest) {
  const stub = new (hubProtocol().CallerService)(hub.address, channelCredentials(tls), {
    ...CHANNEL_OPTIONS,
    "grpc.ssl_target_name_override": "hub",
  });
  return new Promise<unknown>((resolve, reject) => {
    (stub as unknown as Record<string, (...a: unknown[]) => void>).Call?.(
      request,
      (error: grpc.ServiceError | null, res: unknown) => {
        stub.close();
        if (error) reject(fromGrpcError(error));
        else resolve(res);
      },
    );
  });
}

const request = (input: unknown): WireCallRequest => ({
  capability: "echo",
  query: "",
  input: encodePayload(input),
  labels: {},
  paramsJson: new Uint8Array(),
  idempotencyKey: "",
  maxAttempts: 1,
  session: "",
  minSimilarity: 0,
  attemptTimeoutMs: 0,
});

describe("signed and audited", () => {
  it("signs calls and results, names the caller to the agent, and audits each step", async () => {
    const callers: Array<string | undefined> = [];
    await echoAgent(callers);
    const app = await caller("app");
    const client = createHubClient({ hub: hub.address, tls: app });
    try {
      expect((await client.call("echo", { n: 1 })).output).toEqual({ n: 1 });
    } finally {
      client.close();
    }
    expect(callers).toEqual(["spiffe://clawhub.local/caller/app"]);

    const ops = createHubAdmin({ hub: hub.address, tls: admin });
    try {
      const entries = await ops.auditLog();
      const kinds = entries.map((e) => e.kind);
      expect(kinds).toEqual(
        expect.arrayContaining([
          "enrollment.created",
          "enrollment.redeemed",
          "agent.registered",
          "task.dispatched",
          "task.result",
          "call",
        ]),
      );
      const call = entries.find((e) => e.kind === "call");
      expect(call).toMatchObject({
        actor: "spiffe://clawhub.local/caller/app",
        capability: "echo",
        outcome: "ok",
        // Digests, never the data: inputs may be secret.
        inputDigest: payloadDigest(encodePayload({ n: 1 })),
      });
      expect(JSON.stringify(entries)).not.toContain('"n":1');
      expect(entries.find((e) => e.kind === "task.dispatched")).toMatchObject({
        actor: "spiffe://clawhub.local/agent/worker",
        onBehalfOf: "spiffe://clawhub.local/caller/app",
      });
      expect(entries.find((e) => e.kind === "task.result")).toMatchObject({
        actor: "spiffe://clawhub.local/agent/worker",
        outcome: "ok",
      });
      // Filtered by identity on the hub.
      const mine = await ops.auditLog({ identity: "spiffe://clawhub.local/caller/app" });
      expect(mine.length).toBeGreaterThan(0);
      expect(
        mine.every(
          (e) =>
            e.actor === "spiffe://clawhub.local/caller/app" ||
            e.onBehalfOf === "spiffe://clawhub.local/caller/app",
        ),
      ).toBe(true);
    } finally {
      ops.close();
    }
  });

  it("refuses an unsigned call, a replay and another identity's signature, and audits why", async () => {
    await echoAgent([]);
    const a = await caller("a");
    const b = await caller("b");
    const unsigned = await rejection(rawCall(a, request(1)));
    expect(unsigned.code).toBe("UNAUTHENTICATED");
    expect(unsigned.message).toContain("unsigned");

    const signed = request(2);
    signed.signature = createSigner(a.keyPem).sign(callSignedFields(signed, null));
    expect(await rawCall(a, signed)).toMatchObject({ agentId: "worker" });
    const replay = await rejection(rawCall(a, signed));
    expect(replay.code).toBe("UNAUTHENTICATED");
    expect(replay.message).toContain("replayed");

    // Signed by b's key, sent on a's connection.
    const foreign = request(3);
    foreign.signature = createSigner(b.keyPem).sign(callSignedFields(foreign, null));
    const forged = await rejection(rawCall(a, foreign));
    expect(forged.code).toBe("UNAUTHENTICATED");

    // The input changed after signing: the digest no longer matches.
    const tampered = request(4);
    tampered.signature = createSigner(a.keyPem).sign(callSignedFields(tampered, null));
    tampered.input = encodePayload(5);
    expect((await rejection(rawCall(a, tampered))).code).toBe("UNAUTHENTICATED");

    const ops = createHubAdmin({ hub: hub.address, tls: admin });
    try {
      const refused = (await ops.auditLog({ identity: "spiffe://clawhub.local/caller/a" })).filter(
        (e) => e.kind === "call" && e.outcome === "refused",
      );
      expect(refused.map((e) => String(e.reason))).toEqual([
        expect.stringContaining("unsigned"),
        expect.stringContaining("replayed"),
        expect.stringContaining("signature"),
        expect.stringContaining("signature"),
      ]);
    } finally {
      ops.close();
    }
  });

  it("exports a log that verifies with the hub's key, and an edit in it does not", async () => {
    await echoAgent([]);
    const client = createHubClient({ hub: hub.address, tls: await caller("app") });
    try {
      for (let i = 0; i < 3; i++) await client.call("echo", i);
    } finally {
      client.close();
    }
    const ops = createHubAdmin({ hub: hub.address, tls: admin });
    const text = await ops.auditExport();
    ops.close();
    const key = security.audit.publicKeyPem;
    expect(verifyAuditLog(text, key)).toMatchObject({ ok: true });
    const lines = text.trimEnd().split("\n");
    const at = lines.findIndex((l) => l.includes('"kind":"call"'));
    const edited = [...lines];
    edited[at] = (edited[at] as string).replace('"outcome":"ok"', '"outcome":"refused"');
    const verdict = verifyAuditLog(edited.join("\n"), key);
    expect(verdict).toMatchObject({ ok: false, problem: "edited", line: at + 1 });
  });
});

describe("audit log kept by an older hub", () => {
  it("moves a log kept in the control plane into the files on start, and goes on from it", async () => {
    const { mkdtemp, rm, readdir } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { createMemoryControlPlane } = await import("../src/control-plane/index.ts");
    const { createHubSecurity } = await import("../src/hub/index.ts");
    const { auditKey, createAuditLog, createMemoryAuditSink } = await import(
      "../src/audit/index.ts"
    );
    const { readFile } = await import("node:fs/promises");
    const dir = await mkdtemp(join(tmpdir(), "clawhub-audit-upgrade-"));
    const controlPlane = createMemoryControlPlane();
    try {
      // The first start makes the audit key; then a log is written as older hubs kept it: one
      // control-plane key a line.
      await (await createHubSecurity({ dir, controlPlane })).close();
      await rm(join(dir, "audit"), { recursive: true });
      const key = auditKey(await readFile(join(dir, "audit.key.pem"), "utf8"));
      const sink = createMemoryAuditSink();
      const old = createAuditLog({ sink, key, checkpointEvery: 2 });
      for (let i = 0; i < 5; i++) await old.append({ kind: "call", capability: `c${i}` });
      const lines = await sink.all();
      for (const [i, line] of lines.entries())
        await controlPlane.kv.put(`hub.audit.${String(i).padStart(12, "0")}`, line);

      const upgraded = await createHubSecurity({ dir, controlPlane });
      upgraded.record({ kind: "call", capability: "after-upgrade" });
      const verdict = verifyAuditLog(await upgraded.audit.export(), upgraded.audit.publicKeyPem);
      expect(verdict).toMatchObject({ ok: true, entries: 6, from: 1 });
      expect(await controlPlane.kv.keys("hub.audit.")).toEqual([]);
      expect((await readdir(join(dir, "audit"))).some((f) => f.endsWith(".jsonl"))).toBe(true);
      await upgraded.close();
    } finally {
      await controlPlane.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
