/**
 * The secured hub through the CLI, with default settings (issue 29): `clawhub hub` and `clawhub
 * serve` store the local operator's admin identity, so `agents` and `hub enroll` just work on the
 * same machine; an agent enrolls with a token, another user logs in with a token and calls it, a
 * process without an identity is refused as caller and as agent, `hub identities` lists them,
 * `hub revoke` ends a session, and the audit log is read, exported and verified.
 */
import { type ChildProcess, execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agent, createAgent } from "../src/sdk/index.ts";
import { until } from "./helpers/hub.ts";
import { startProcess } from "./helpers/process.ts";
import { OUR_BIN, type Run } from "./helpers/registry.ts";

let root: string;
let hub: ChildProcess;
let address = "";
let agent: Agent | undefined;

/** Runs the CLI as a user whose config directory is `home/<user>`. */
const cli = (user: string, args: string[]) =>
  new Promise<Run>((resolve) => {
    execFile(
      process.execPath,
      [OUR_BIN, ...args],
      {
        env: {
          ...process.env,
          CLAWHUB_HUB: address,
          CLAWHUB_CONFIG_PATH: join(root, user, "config.json"),
          NO_COLOR: "1",
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) =>
        resolve({
          code: error ? (typeof error.code === "number" ? error.code : 1) : 0,
          stdout,
          stderr,
        }),
    );
  });
const json = async <T>(user: string, args: string[]): Promise<T> => {
  const r = await cli(user, [...args, "--json"]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "clawhub-hub-tls-"));
  const started = await startProcess(
    [OUR_BIN, "hub", "--port", "0", "--json", "--heartbeat", "200", "--data", join(root, "data")],
    /"hub":"([^"]+)"/,
    { CLAWHUB_CONFIG_PATH: join(root, "operator", "config.json") },
  );
  hub = started.child;
  address = started.match[1] as string;
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  hub?.kill("SIGTERM");
  if (hub && hub.exitCode === null) await new Promise((r) => hub.once("exit", r));
  await rm(root, { recursive: true, force: true });
});

/** An agent without an identity: it never registers (the TLS handshake fails; it retries). */
async function strangerAgent(address: string): Promise<{ registered: boolean }> {
  const stranger = createAgent({
    hub: address,
    name: "stranger",
    handleSignals: false,
    reconnect: { initialMs: 50, maxMs: 200 },
  });
  stranger.capability({ name: "echo", description: "claims to echo" }, (x: unknown) => x);
  let registered = false;
  stranger.start().then(
    () => (registered = true),
    () => {},
  );
  await new Promise((r) => setTimeout(r, 1500));
  await stranger.stop();
  return { registered };
}

describe("clawhub hub (mutual TLS by default)", () => {
  it("stores the operator's identity owner-only; agents, enroll and call work with tokens", async () => {
    // The operator's credentials: 0600 in a 0700 directory, per hub address.
    const hubsDir = join(root, "operator", "hubs");
    expect((await stat(hubsDir)).mode & 0o777).toBe(0o700);
    const [file] = await readdir(hubsDir);
    expect(file).toMatch(/^127\.0\.0\.1_\d+\.json$/);
    expect((await stat(join(hubsDir, file as string))).mode & 0o777).toBe(0o600);
    expect(await json<unknown[]>("operator", ["agents"])).toEqual([]);

    const forAgent = await json<{ token: string; identity: string }>("operator", [
      "hub",
      "enroll",
      "worker",
      "--kind",
      "agent",
      "--label",
      "zone=eu",
    ]);
    expect(forAgent.identity).toMatch(/^spiffe:\/\/clawhub\.local\/agent\/worker$/);
    agent = createAgent({
      hub: address,
      name: "worker",
      enrollToken: forAgent.token,
      handleSignals: false,
      reconnect: { initialMs: 50, maxMs: 200 },
    });
    agent.capability({ name: "echo", description: "echoes its input" }, (x: unknown) => x);
    await agent.start();

    // Another user: nothing stored, refused as caller and as agent; logged in with a caller
    // token, calls work.
    const stranger = await cli("stranger", ["agents"]);
    expect(stranger.code).not.toBe(0);
    expect(await strangerAgent(address)).toEqual({ registered: false });
    expect(
      (await json<Array<{ name: string }>>("operator", ["agents"])).map((a) => a.name),
    ).toEqual(["worker"]);
    const forCaller = await json<{ token: string }>("operator", [
      "hub",
      "enroll",
      "app",
      "--kind",
      "caller",
    ]);
    const login = await json<{ identity: string; file: string }>("caller", [
      "hub",
      "login",
      "--token",
      forCaller.token,
    ]);
    expect(login.identity).toBe("spiffe://clawhub.local/caller/app");
    expect((await stat(login.file)).mode & 0o777).toBe(0o600);
    const called = await json<{ output: unknown }>("caller", [
      "call",
      "echo",
      "--input",
      '{"a":1}',
    ]);
    expect(called.output).toEqual({ a: 1 });
    // A caller without the admin role cannot enroll anyone.
    const refused = await cli("caller", ["hub", "enroll", "x", "--kind", "caller"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("does not have the admin role");
  }, 60_000);

  it("lists identities with status, and revoke ends the agent's session", async () => {
    const before = await json<Array<{ identity: string; status: string; kind: string }>>(
      "operator",
      ["hub", "identities"],
    );
    const status = Object.fromEntries(before.map((i) => [i.identity, i.status]));
    expect(status["spiffe://clawhub.local/agent/worker"]).toBe("active");
    expect(status["spiffe://clawhub.local/caller/app"]).toBe("active");
    const revoked = await json<{ sessionsEnded: number }>("operator", [
      "hub",
      "revoke",
      "agent/worker",
    ]);
    expect(revoked.sessionsEnded).toBe(1);
    await until(async () => (await json<unknown[]>("operator", ["agents"])).length === 0, 5000);
    const after = await json<Array<{ identity: string; status: string }>>("operator", [
      "hub",
      "identities",
    ]);
    expect(after.find((i) => i.identity.endsWith("/agent/worker"))?.status).toBe("revoked");
  }, 60_000);

  it("clawhub serve secures its hub the same way", async () => {
    const served = await startProcess(
      [
        OUR_BIN,
        "serve",
        "--port",
        "0",
        "--hub-port",
        "0",
        "--json",
        "--embedder",
        "none",
        "--data",
        join(root, "served"),
      ],
      /"hub":"([^"]+)"/,
      { CLAWHUB_CONFIG_PATH: join(root, "serve-operator", "config.json") },
    );
    try {
      const hubAddress = served.match[1] as string;
      expect(served.match.input).toContain('"hubTls":true');
      const asOperator = await cli("serve-operator", ["agents", "--hub", hubAddress]);
      expect(asOperator.code, asOperator.stderr).toBe(0);
      const stranger = await cli("stranger", ["agents", "--hub", hubAddress]);
      expect(stranger.code).not.toBe(0);
      expect(stranger.stderr).toContain("clawhub hub login");
      expect(await strangerAgent(hubAddress)).toEqual({ registered: false });
    } finally {
      served.child.kill("SIGTERM");
      if (served.child.exitCode === null) await new Promise((r) => served.child.once("exit", r));
    }
  }, 60_000);

  it("renews a logged-in certificate when it is used past two thirds of its life", async () => {
    const { token } = await json<{ token: string }>("operator", [
      "hub",
      "enroll",
      "short-lived",
      "--kind",
      "caller",
      "--cert-ttl",
      "10s",
    ]);
    const login = await json<{ file: string }>("renewing", ["hub", "login", "--token", token]);
    const first = JSON.parse(await readFile(login.file, "utf8")) as { notAfter: number };
    await new Promise((r) => setTimeout(r, 7_500));
    expect((await cli("renewing", ["agents"])).code).toBe(0);
    const renewed = JSON.parse(await readFile(login.file, "utf8")) as { notAfter: number };
    expect(renewed.notAfter).toBeGreaterThan(first.notAfter);
    // Past the first certificate's end: the renewed one works.
    await new Promise((r) => setTimeout(r, Math.max(0, first.notAfter - Date.now() + 500)));
    const later = await cli("renewing", ["agents"]);
    expect(later.code, later.stderr).toBe(0);
  }, 60_000);

  it("audit log and export read the running hub; an edited export fails verify with exit 4", async () => {
    const entries = await json<Array<{ kind: string; actor?: string; outcome?: string }>>(
      "operator",
      ["audit", "log", "--identity", "spiffe://clawhub.local/caller/app"],
    );
    expect(entries.some((e) => e.kind === "call" && e.outcome === "ok")).toBe(true);
    const file = join(root, "audit.jsonl");
    const exported = await cli("operator", ["audit", "export", "-o", file]);
    expect(exported.code, exported.stderr).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const ok = await cli("operator", ["audit", "verify", file]);
    expect(ok.code, ok.stderr).toBe(0);
    const lines = (await readFile(file, "utf8")).trimEnd().split("\n");
    const at = lines.findIndex((l) => l.includes('"kind":"call"'));
    lines[at] = (lines[at] as string).replace(/"time":\d+/, '"time":1');
    await writeFile(file, `${lines.join("\n")}\n`);
    const bad = await cli("operator", ["audit", "verify", file]);
    expect(bad.code).toBe(4);
    expect(bad.stderr).toContain(`audit.jsonl:${at + 1}: edited`);
  }, 60_000);

  it("audit export --data reads a stopped hub, with the checkpoint signed on close", async () => {
    hub.kill("SIGTERM");
    if (hub.exitCode === null) await new Promise((r) => hub.once("exit", r));
    const file = join(root, "stopped.jsonl");
    const exported = await cli("operator", [
      "audit",
      "export",
      "--data",
      join(root, "data"),
      "-o",
      file,
    ]);
    expect(exported.code, exported.stderr).toBe(0);
    const text = await readFile(file, "utf8");
    // The hub signed its head when it closed: that stored checkpoint covers the last entry.
    const rows = text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; seq?: number; final?: boolean });
    const last = Math.max(...rows.filter((r) => r.type === "entry").map((r) => r.seq ?? 0));
    const stored = rows.filter((r) => r.type === "checkpoint" && !r.final);
    expect(stored.at(-1)?.seq).toBe(last);
    const verified = await json<{ ok: boolean; entries: number }>("operator", [
      "audit",
      "verify",
      file,
    ]);
    expect(verified.ok).toBe(true);
    expect(verified.entries).toBeGreaterThan(5);
  }, 60_000);
});
