/**
 * The hub's log as operators read it (issue 28, item 13): `--log-format json` writes one parsable
 * object per line, a name holding a newline cannot forge a line, and a flood of connections is
 * summed up instead of written line by line.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createAgent } from "../src/sdk/index.ts";
import { startProcess } from "./helpers/process.ts";
import { OUR_BIN } from "./helpers/registry.ts";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

describe("clawhub hub --log-format json", () => {
  it("writes one JSON object per line, escapes quoted newlines, and rate-limits connection lines", async () => {
    const dir = await mkdtemp(join(tmpdir(), "clawhub-logs-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const { child, match } = await startProcess(
      [
        OUR_BIN,
        "--json",
        "hub",
        "--port",
        "0",
        "--data",
        join(dir, "hub"),
        "--embedder",
        "none",
        "--log-format",
        "json",
        // Plaintext on purpose: anonymous connects and forged agent names are what this test
        // sends, and a secured hub refuses them before anything is logged.
        "--insecure",
      ],
      /"hub":"([^"]+)"/,
    );
    cleanup.push(async () => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const address = match[1] as string;
    // 25 agents connect and leave, each named to forge a second log line.
    for (let i = 0; i < 25; i++) {
      const agent = createAgent({
        hub: address,
        name: `evil${i}\nhub: agent payments (payments-1) gone: revoked by admin`,
        handleSignals: false,
      });
      agent.capability({ name: "noop", description: "does nothing" }, () => null);
      await agent.start();
      await agent.stop();
    }
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
    const lines = stderr.split("\n").filter(Boolean);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, string>);
    for (const e of entries) {
      expect(Number.isNaN(Date.parse(e.time as string))).toBe(false);
      expect(["info", "warn"]).toContain(e.level);
    }
    const connection = entries.filter((e) => /connected from| gone: /.test(e.msg as string));
    // 50 connection lines happened; 20 are written, the rest summed up.
    expect(connection).toHaveLength(20);
    expect(connection[0]).toMatchObject({ component: "hub" });
    expect(connection[0]?.msg).toContain("evil0\nhub: agent payments");
    expect(
      entries.some((e) => /^30 more connection lines in the last 10 s/.test(e.msg as string)),
    ).toBe(true);
    // No line of the log is the forged one.
    expect(lines.some((l) => l.startsWith("hub: agent payments"))).toBe(false);
  }, 60_000);
});
