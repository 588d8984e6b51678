/**
 * Enrollment on a secured hub (issue 29, step 1), through the SDK over real gRPC: the hub serves
 * enrollment on its own port over server-side TLS; a one-time token and a CSR get a short-lived
 * certificate; agents and callers then work with mutual TLS, and a process without one is
 * refused. An admin lists identities and revokes one, which ends its sessions at once.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createMemoryControlPlane } from "../src/control-plane/index.ts";
import { createHubSecurity, type Hub, type HubSecurity } from "../src/hub/index.ts";
import {
  type Agent,
  type ClientTls,
  createAgent,
  createHubAdmin,
  createHubClient,
  enroll,
} from "../src/sdk/index.ts";
import { rejection, until } from "./helpers/hub.ts";
import { useSecureHub } from "./helpers/secure-hub.ts";

let hub: Hub;
let security: HubSecurity;
let admin: ClientTls;
let agents: Agent[];

useSecureHub((sb) => {
  ({ hub, security, admin, agents } = sb);
});

const newAgent = (options: Partial<Parameters<typeof createAgent>[0]>) => {
  const a = createAgent({
    hub: hub.address,
    name: "worker",
    handleSignals: false,
    reconnect: { initialMs: 50, maxMs: 200 },
    ...options,
  });
  agents.push(a);
  return a;
};

describe("enrollment", () => {
  it("a token and a CSR become a certificate; enrolled agents and callers work", async () => {
    const ops = createHubAdmin({ hub: hub.address, tls: admin });
    const forAgent = await ops.createEnrollment({
      name: "worker-1",
      kind: "agent",
      labels: { zone: "eu" },
    });
    const forCaller = await ops.createEnrollment({ name: "app", kind: "caller" });
    expect(forAgent.identity).toBe("spiffe://clawhub.local/agent/worker-1");
    expect(forAgent.token).toMatch(/^che_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);

    const worker = newAgent({ enrollToken: forAgent.token });
    worker.capability({ name: "echo", description: "echoes" }, (x: unknown) => x);
    await worker.start();
    const client = createHubClient({ hub: hub.address, enrollToken: forCaller.token });
    try {
      expect((await client.call("echo", { hi: 1 })).output).toEqual({ hi: 1 });
      const [listed] = await client.agents();
      // The agent's identity and labels come from its enrollment.
      expect(listed?.agentId).toBe("worker-1");
      expect(listed?.labels).toMatchObject({ zone: "eu" });
    } finally {
      client.close();
    }

    const ids = await ops.identities();
    expect(ids.map((i) => [i.identity, i.status])).toEqual(
      expect.arrayContaining([
        ["spiffe://clawhub.local/agent/worker-1", "active"],
        ["spiffe://clawhub.local/caller/app", "active"],
        ["spiffe://clawhub.local/caller/operator", "active"],
      ]),
    );
    ops.close();
  });

  it("refuses a used token, a token of another hub, and processes without a certificate", async () => {
    const ops = createHubAdmin({ hub: hub.address, tls: admin });
    const { token } = await ops.createEnrollment({ name: "once", kind: "caller" });
    await enroll({ hub: hub.address, token });
    const again = await rejection(enroll({ hub: hub.address, token }));
    expect(again.code).toBe("UNAUTHENTICATED");
    expect(again.message).toContain("invalid, expired or used up");

    // A token whose pin names another CA is not sent to this hub at all.
    const otherDir = await mkdtemp(join(tmpdir(), "clawhub-enroll-other-"));
    const otherCp = createMemoryControlPlane();
    const other = await createHubSecurity({ dir: otherDir, controlPlane: otherCp });
    try {
      const foreign = await other.createEnrollment({ name: "x", kind: "caller" });
      const refused = await rejection(enroll({ hub: hub.address, token: foreign.token }));
      expect(refused.code).toBe("UNAUTHENTICATED");
      expect(refused.message).toContain("not the hub that made this token");
    } finally {
      await other.close();
      await otherCp.close();
      await rm(otherDir, { recursive: true, force: true });
    }

    // No certificate: refused as caller (plaintext cannot even reach a TLS port) and as admin.
    const plain = createHubClient({ hub: hub.address });
    try {
      expect((await rejection(plain.agents())).code).toMatch(/NETWORK_ERROR|UNAVAILABLE/);
    } finally {
      plain.close();
    }
    const { caPem } = admin;
    const anonymous = await rejection(
      createHubAdmin({
        hub: hub.address,
        tls: { ...(await enrolled("someone")), caPem },
      }).createEnrollment({ name: "y", kind: "caller" }),
    );
    expect(anonymous.code).toBe("FORBIDDEN");
    ops.close();
  });

  it("revoking an identity ends its sessions within a second and lists it as revoked", async () => {
    const ops = createHubAdmin({ hub: hub.address, tls: admin });
    const { token } = await ops.createEnrollment({ name: "worker-2", kind: "agent" });
    const worker = newAgent({ enrollToken: token });
    worker.capability({ name: "echo", description: "echoes" }, (x: unknown) => x);
    await worker.start();
    const pending = await ops.createEnrollment({ name: "later", kind: "caller" });
    expect(hub.agents().map((a) => a.agentId)).toEqual(["worker-2"]);

    const started = Date.now();
    const { sessionsEnded } = await ops.revoke("spiffe://clawhub.local/agent/worker-2");
    expect(sessionsEnded).toBe(1);
    await until(() => hub.agents().length === 0, 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    // Its reconnects are refused from then on.
    await new Promise((r) => setTimeout(r, 300));
    expect(hub.agents()).toHaveLength(0);

    const ids = await ops.identities();
    const status = Object.fromEntries(ids.map((i) => [i.identity, i.status]));
    expect(status["spiffe://clawhub.local/agent/worker-2"]).toBe("revoked");
    expect(status[pending.identity]).toBe("pending");
    ops.close();
  });
});

/** A caller identity enrolled without any role. */
async function enrolled(name: string): Promise<ClientTls> {
  const { token } = await security.createEnrollment({ name, kind: "caller" });
  return enroll({ hub: hub.address, token });
}
