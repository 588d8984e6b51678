/**
 * A hub with mutual TLS (opt-in for now: `createHub({ tls })`), through the SDK: enrolled
 * agents and callers work; no certificate, another CA's certificate, an agent taking another
 * identity's id or claiming labels it was not enrolled with are refused, and the legitimate
 * agent keeps its tasks. (The red-team case of issue 13: `payments-1` taken over.)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createHub, type Hub, type PeerIdentity } from "../src/hub/index.ts";
import {
  type CertificateAuthority,
  createEnrollment,
  createKeyAndCsr,
  createMemoryEnrollmentStore,
  openCertificateAuthority,
  spiffeId,
} from "../src/identity/index.ts";
import { type Agent, type ClientTls, createAgent, createHubClient } from "../src/sdk/index.ts";
import { gate, rejection, until } from "./helpers/hub.ts";

let dir: string;
let ca: CertificateAuthority;
let hub: Hub | undefined;
const agents: Agent[] = [];
const attested = new Map<string, PeerIdentity>();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "clawhub-mtls-"));
  ca = await openCertificateAuthority({ dir: join(dir, "ca") });
});
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
  await hub?.close();
  hub = undefined;
  attested.clear();
  await rm(dir, { recursive: true, force: true });
});

/** Enrolls an identity as the operator would, and returns what its process holds. */
async function enroll(
  kind: "agent" | "caller",
  name: string,
  labels: Record<string, string> = {},
  authority: CertificateAuthority = ca,
): Promise<ClientTls> {
  const enrollment = createEnrollment({ ca: authority, store: createMemoryEnrollmentStore() });
  const { token } = await enrollment.create({ name, kind, labels });
  const { keyPem, csrPem } = await createKeyAndCsr(name);
  const issued = await enrollment.redeem(token, csrPem);
  if (authority === ca)
    attested.set(issued.identity.uri, {
      uri: issued.identity.uri,
      kind,
      name,
      roles: issued.roles,
      labels: issued.labels,
    });
  return { caPem: ca.certificatePem, certPem: issued.certificatePem, keyPem };
}

async function secureHub(): Promise<Hub> {
  const { keyPem, csrPem } = await createKeyAndCsr("hub-1");
  const cert = await ca.issue({
    csrPem,
    identity: spiffeId(ca.trustDomain, "hub", "hub-1"),
    ttlMs: 3_600_000,
  });
  hub = await createHub({
    port: 0,
    heartbeatIntervalMs: 200,
    tls: {
      caPem: ca.certificatePem,
      certPem: cert.certificatePem,
      keyPem,
      attest: (uri) => attested.get(uri),
    },
  });
  return hub;
}

function payments(tls: ClientTls, id: string, labels: Record<string, string> = {}) {
  const agent = createAgent({
    hub: hub?.address ?? "",
    name: id,
    id,
    labels,
    tls,
    handleSignals: false,
    reconnect: { initialMs: 50, maxMs: 100 },
  });
  agent.capability(
    { name: "payments.charge", description: "charges a card", input: { type: "object" } },
    (_input: unknown, ctx) => ({ servedBy: ctx.agentId }),
  );
  agents.push(agent);
  return agent;
}

it("serves enrolled agents and callers, and refuses takeovers, claimed labels and strangers", async () => {
  await secureHub();
  const legit = payments(
    await enroll("agent", "payments-1", { clearance: "secret" }),
    "payments-1",
    {
      clearance: "secret",
    },
  );
  await legit.start();
  const caller = createHubClient({ hub: hub?.address ?? "", tls: await enroll("caller", "shop") });
  try {
    const first = await caller.call("payments.charge", { card: "4111" });
    expect(first.output).toEqual({ servedBy: "payments-1" });
    expect(hub?.agents().find((a) => a.agentId === "payments-1")?.labels).toEqual({
      clearance: "secret",
    });

    // Mallory is enrolled (as herself) but registers as payments-1: refused.
    const mallory = await enroll("agent", "mallory");
    const takeover = await rejection(payments(mallory, "payments-1").start());
    expect(takeover.code).toBe("FORBIDDEN");
    expect(takeover.message).toContain("belongs to another identity");
    // Under her own id, claiming a clearance she was not enrolled with: refused.
    const claim = await rejection(payments(mallory, "mallory", { clearance: "secret" }).start());
    expect(claim.code).toBe("FORBIDDEN");
    expect(claim.message).toContain("was not attested");
    // The legitimate agent still gets the tasks.
    for (let i = 0; i < 5; i++)
      expect((await caller.call("payments.charge", { card: "4111" })).output).toEqual({
        servedBy: "payments-1",
      });
  } finally {
    caller.close();
  }

  // A certificate of the right CA for an identity that was never enrolled: refused by the hub
  // on every caller RPC, with the reason.
  const { keyPem, csrPem } = await createKeyAndCsr("ghost");
  const ghostCert = await ca.issue({
    csrPem,
    identity: spiffeId(ca.trustDomain, "caller", "ghost"),
    ttlMs: 60_000,
  });
  const ghost = createHubClient({
    hub: hub?.address ?? "",
    tls: { caPem: ca.certificatePem, certPem: ghostCert.certificatePem, keyPem },
  });
  try {
    const refused = await rejection(ghost.call("payments.charge", {}));
    expect(refused.code).toBe("UNAUTHENTICATED");
    expect(refused.message).toContain("caller/ghost is not enrolled");
    expect((await rejection(ghost.agents())).code).toBe("UNAUTHENTICATED");
  } finally {
    ghost.close();
  }

  // No certificate at all, or one from another CA: refused at the TLS step.
  const plain = createHubClient({ hub: hub?.address ?? "" });
  const other = await openCertificateAuthority({ dir: join(dir, "other-ca") });
  const foreign = await enroll("caller", "shop", {}, other);
  const stranger = createHubClient({
    hub: hub?.address ?? "",
    tls: { ...foreign, caPem: ca.certificatePem },
  });
  try {
    expect((await rejection(plain.call("payments.charge", {}))).code).toMatch(
      /UNAVAILABLE|NETWORK_ERROR|UNAUTHENTICATED/,
    );
    expect((await rejection(stranger.call("payments.charge", {}))).code).toMatch(
      /UNAVAILABLE|NETWORK_ERROR|UNAUTHENTICATED/,
    );
  } finally {
    plain.close();
    stranger.close();
  }
}, 60_000);

it("revokes an identity: its agent session ends at once, its certificate is refused from then on", async () => {
  await secureHub();
  const tls = await enroll("agent", "payments-1");
  const agent = payments(tls, "payments-1");
  await agent.start();
  const callerTls = await enroll("caller", "shop");
  const caller = createHubClient({ hub: hub?.address ?? "", tls: callerTls });
  try {
    expect((await caller.call("payments.charge", {})).output).toEqual({ servedBy: "payments-1" });
    const uri = "spiffe://clawhub.local/agent/payments-1";
    const started = Date.now();
    const { sessionsEnded } = (await hub?.revoke(uri)) ?? { sessionsEnded: 0 };
    expect(sessionsEnded).toBe(1);
    expect(hub?.agents().map((a) => a.agentId)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(1000);
    // It reconnects (the SDK retries) and is refused every time: still not registered.
    await new Promise((r) => setTimeout(r, 400));
    expect(hub?.agents()).toEqual([]);
    // A revoked caller is refused on its next call.
    await hub?.revoke("spiffe://clawhub.local/caller/shop");
    const refused = await rejection(caller.call("payments.charge", {}));
    expect(refused.code, refused.message).toBe("UNAUTHENTICATED");
    expect(refused.message).toContain("caller/shop is revoked");
  } finally {
    caller.close();
  }
}, 60_000);

it("tells the agent who called, and keeps each identity's runs and locks its own", async () => {
  await secureHub();
  const seen: Array<string | undefined> = [];
  const worker = createAgent({
    hub: hub?.address ?? "",
    name: "worker",
    id: "worker",
    tls: await enroll("agent", "worker"),
    handleSignals: false,
  });
  worker.capability({ name: "whoami", description: "says who asked" }, (_input, ctx) => {
    seen.push(ctx.caller);
    return ctx.caller ?? null;
  });
  agents.push(worker);
  await worker.start();
  const alice = createHubClient({ hub: hub?.address ?? "", tls: await enroll("caller", "alice") });
  const bob = createHubClient({ hub: hub?.address ?? "", tls: await enroll("caller", "bob") });
  try {
    // ctx.caller is the identity the hub verified, not anything the caller said.
    const out = await alice.call({ capability: "whoami" }, null);
    expect(out.output).toBe(`spiffe://${ca.trustDomain}/caller/alice`);

    // A run belongs to the identity that started it: another caller neither lists, reads nor
    // cancels it (NOT_FOUND, as for no run at all); its tasks are called on the owner's behalf.
    const run = await alice.flows.start({
      name: "mine",
      nodes: [{ id: "who", capability: "whoami" }],
    });
    const final = await alice.flows.watch(run.runId);
    expect(final.status).toBe("succeeded");
    expect(final.nodes[0]?.output).toBe(`spiffe://${ca.trustDomain}/caller/alice`);
    expect((await alice.flows.list()).map((r) => r.runId)).toContain(run.runId);
    expect((await bob.flows.list()).map((r) => r.runId)).not.toContain(run.runId);
    expect((await rejection(bob.flows.get(run.runId))).code).toBe("NOT_FOUND");
    expect((await rejection(bob.flows.cancel(run.runId))).code).toBe("NOT_FOUND");
    expect(seen.every((c) => c === `spiffe://${ca.trustDomain}/caller/alice`)).toBe(true);
  } finally {
    alice.close();
    bob.close();
  }
});

it("namespaces lock resources per identity unless they are under shared.", async () => {
  await secureHub();
  const held: string[] = [];
  const release = gate();
  const lockers = await Promise.all(
    ["locker-a", "locker-b"].map(async (name) => {
      const agent = createAgent({
        hub: hub?.address ?? "",
        name,
        id: name,
        tls: await enroll("agent", name),
        handleSignals: false,
      });
      agent.capability(
        { name: `lock.${name}`, description: "holds a lock until released", maxConcurrency: 4 },
        async (input: { resource: string }, ctx) => {
          const lease = await ctx.lock(input.resource, { ttl: 5000 });
          held.push(`${name}:${input.resource}`);
          await release.opened;
          await lease.release();
          return "ok";
        },
      );
      agents.push(agent);
      await agent.start();
      return agent;
    }),
  );
  expect(lockers).toHaveLength(2);
  const caller = createHubClient({ hub: hub?.address ?? "", tls: await enroll("caller", "c") });
  try {
    // The same name held by two identities at once: two different locks.
    const a = caller.call({ capability: "lock.locker-a" }, { resource: "doc.42" });
    const b = caller.call({ capability: "lock.locker-b" }, { resource: "doc.42" });
    await until(() => held.length === 2);
    // A shared name is one lock: the second holder fails while the first holds it.
    const c = caller.call({ capability: "lock.locker-a" }, { resource: "shared.doc" });
    await until(() => held.includes("locker-a:shared.doc"));
    const d = caller.call(
      { capability: "lock.locker-b" },
      { resource: "shared.doc" },
      { maxAttempts: 1 },
    );
    const refused = await rejection(d);
    expect(refused.message).toMatch(/held|CONFLICT|lock/i);
    release.open();
    await Promise.all([a, b, c]);
  } finally {
    caller.close();
  }
});
