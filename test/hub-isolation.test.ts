/**
 * Nothing crosses identities on a secured hub (issue 29, step 4), each case with two identities
 * over real gRPC and mutual TLS: runs, topics and the Events stream are each identity's own
 * (admins see all; `shared.` topics are shared and name their publisher), an agent serves only
 * what its enrollment allows, and two connections of one agent identity never flap.
 */
import { describe, expect, it } from "vitest";
import type { ClawHubError } from "../src/errors/index.ts";
import type { Hub, HubSecurity } from "../src/hub/index.ts";
import {
  type Agent,
  type ClientTls,
  createAgent,
  createHubClient,
  enroll,
  type HubEvent,
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

const token = async (
  name: string,
  kind: "agent" | "caller",
  extra: { capabilities?: string[] } = {},
) => (await security.createEnrollment({ name, kind, ...extra })).token;

function agent(
  name: string,
  enrollToken: string,
  extra: Partial<Parameters<typeof createAgent>[0]> = {},
) {
  const a = createAgent({
    hub: hub.address,
    name,
    enrollToken,
    handleSignals: false,
    reconnect: { initialMs: 50, maxMs: 200 },
    ...extra,
  });
  agents.push(a);
  return a;
}

const caller = async (name: string) =>
  enroll({ hub: hub.address, token: await token(name, "caller") });

describe("nothing crosses identities", () => {
  it("keeps each identity's topics its own; shared. topics reach all and name the publisher", async () => {
    const heard: Record<string, Array<{ topic: string; publisher: string }>> = { a: [], b: [] };
    for (const name of ["a", "b"] as const) {
      const a = agent(`listener-${name}`, await token(`listener-${name}`, "agent"));
      a.capability({ name: `noop.${name}`, description: "does nothing" }, () => null);
      // `>` is the identity's own topics; shared ones are subscribed to by name.
      for (const pattern of [">", "shared.>"])
        a.subscribe(pattern, (_data, topic, publisher) => heard[name]?.push({ topic, publisher }));
      await a.start();
    }
    const listenerA = agents[0] as Agent;
    listenerA.publish("news.local", { n: 1 });
    listenerA.publish("shared.news", { n: 2 });
    await until(() => (heard.b?.length ?? 0) >= 1 && (heard.a?.length ?? 0) >= 2);
    await new Promise((r) => setTimeout(r, 200));
    // b hears only the shared topic, and knows who published it.
    expect(heard.b).toEqual([
      { topic: "shared.news", publisher: "spiffe://clawhub.local/agent/listener-a" },
    ]);
    expect(heard.a?.map((h) => h.topic).sort()).toEqual(["news.local", "shared.news"]);
  });

  it("shows each caller only its own runs and events; an admin sees all", async () => {
    const worker = agent("worker", await token("worker", "agent"));
    worker.capability({ name: "echo", description: "echoes" }, (x: unknown) => x);
    await worker.start();
    const a = createHubClient({ hub: hub.address, tls: await caller("a") });
    const b = createHubClient({ hub: hub.address, tls: await caller("b") });
    const ops = createHubClient({ hub: hub.address, tls: admin });
    const seen: Record<string, HubEvent[]> = { a: [], b: [], ops: [] };
    const watches = [
      a.events((e) => seen.a?.push(e), { filter: "task.>" }),
      b.events((e) => seen.b?.push(e), { filter: "task.>" }),
      ops.events((e) => seen.ops?.push(e), { filter: "task.>" }),
    ];
    try {
      await new Promise((r) => setTimeout(r, 200));
      await a.call("echo", "from a");
      const run = await a.flows.start(
        { name: "one", nodes: [{ id: "e", capability: "echo", input: "${{ inputs }}" }] },
        { x: 1 },
      );
      await a.flows.watch(run.runId);
      await until(() => (seen.ops?.length ?? 0) >= 4);
      await new Promise((r) => setTimeout(r, 200));
      expect(seen.a?.length).toBeGreaterThan(0);
      expect(seen.a?.every((e) => e.data.caller === "spiffe://clawhub.local/caller/a")).toBe(true);
      expect(seen.b).toEqual([]);
      // Runs: b neither sees nor controls a's run; an admin does.
      expect((await b.flows.list()).map((r) => r.runId)).not.toContain(run.runId);
      expect((await rejection(b.flows.get(run.runId))).code).toBe("NOT_FOUND");
      expect((await rejection(b.flows.cancel(run.runId))).code).toBe("NOT_FOUND");
      expect((await ops.flows.get(run.runId)).status).toBe("succeeded");
      expect((await a.flows.list()).map((r) => r.runId)).toContain(run.runId);
    } finally {
      for (const w of watches) w.stop();
      for (const c of [a, b, ops]) c.close();
    }
  });

  it("lets an agent serve only the capabilities its enrollment allows", async () => {
    const narrow = agent(
      "text-worker",
      await token("text-worker", "agent", { capabilities: ["text.>"] }),
    );
    narrow.capability({ name: "text.stats", description: "counts words" }, () => 1);
    narrow.capability({ name: "payments.charge", description: "charges a card" }, () => "ok");
    const refused = await rejection(narrow.start());
    expect(refused.code).toBe("FORBIDDEN");
    expect(refused.message).toContain('may not serve "payments.charge" (enrolled for text.>)');
    expect(hub.agents()).toEqual([]);

    const allowed = agent(
      "text-worker-2",
      await token("text-worker-2", "agent", { capabilities: ["text.>"] }),
    );
    allowed.capability({ name: "text.stats", description: "counts words" }, () => 1);
    await allowed.start();
    expect(hub.agents().map((a) => a.agentId)).toEqual(["text-worker-2"]);
  });

  it("two connections of one agent identity: the newer replaces the older once, never a loop", async () => {
    const identity = await enroll({ hub: hub.address, token: await token("twin", "agent") });
    const stopped: ClawHubError[] = [];
    const first = agent("twin", "", { tls: identity, onStopped: (e) => stopped.push(e) });
    first.capability({ name: "twin.work", description: "answers 1" }, () => 1);
    await first.start();
    const second = agent("twin", "", { tls: identity });
    second.capability({ name: "twin.work", description: "answers 2" }, () => 2);
    await second.start();
    await until(() => stopped.length === 1);
    expect(stopped[0]?.code).toBe("CONFLICT");
    expect(stopped[0]?.message).toContain(
      "replaced by a newer connection of spiffe://clawhub.local/agent/twin",
    );
    // Watched for a while: the older one stays stopped, so nothing flaps.
    const events: HubEvent[] = [];
    const ops = createHubClient({ hub: hub.address, tls: admin });
    const watch = ops.events((e) => events.push(e), { filter: "agent.>" });
    await new Promise((r) => setTimeout(r, 1500));
    watch.stop();
    ops.close();
    expect(events.filter((e) => e.kind === "agent.connected")).toEqual([]);
    const client = createHubClient({ hub: hub.address, tls: admin });
    try {
      for (let i = 0; i < 5; i++) expect((await client.call("twin.work", null)).output).toBe(2);
    } finally {
      client.close();
    }
  });
});
