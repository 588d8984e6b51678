import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { OUR_BIN } from "./helpers/registry.ts";

/** Runs `clawhub demo` with extra flags; its exit code and what it printed. */
const demo = (flags: string[]) =>
  new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(
      process.execPath,
      [OUR_BIN, "demo", ...flags],
      { timeout: 120_000, env: { ...process.env, NO_COLOR: "1" } },
      (error, out) =>
        resolve({
          code: error ? Number((error as { code?: number }).code ?? 1) : 0,
          stdout: out,
        }),
    );
  });

describe("clawhub demo (the README's first command)", () => {
  it("runs every step against a real registry, hub and agents, and cleans up", async () => {
    const { code, stdout } = await demo([]);
    expect(code, stdout).toBe(0);
    expect(stdout).toContain("Published text-stats@1.0.0");
    // A secured hub by default: each example agent enrolled, its id its identity's name.
    expect(stdout).toMatch(/^text-stats\s+text-stats\s+text\.stats/m);
    expect(stdout).toContain("(triage): succeeded");
    expect(stdout).toContain("[hub event] breaker.open weather-upstream");
    // Some cities are answered by the fallback, later ones by the recovered upstream. Which
    // ones depends on timing: a map's parallelism bounds running tasks, and an item waiting
    // out its retry backoff lets the next one start.
    expect(stdout).toContain('"source": "cache"');
    expect(stdout).toContain('"source": "live"');
    expect(stdout).toContain("demo: every step behaved as expected.");
    // Every echoed command pastes into a shell as printed: bash reads back the arguments the
    // demo ran (the JSON inputs included).
    const echoed = stdout
      .split("\n")
      .filter((l) => l.startsWith("$ clawhub "))
      .map((l) => l.slice(2).replace(/ {4}# .*$/, ""));
    expect(echoed.length).toBeGreaterThan(10);
    const call = echoed.find((l) => l.startsWith("clawhub call "));
    const words = await new Promise<string[]>((resolve, reject) =>
      execFile("bash", ["-c", `printf '%s\\n' ${call?.slice("clawhub ".length)}`], (e, o) =>
        e ? reject(e) : resolve(o.trimEnd().split("\n")),
      ),
    );
    expect(words).toEqual([
      "call",
      "text.stats",
      "--input",
      JSON.stringify({ text: "ClawHub routes tasks to agents. It runs workflows." }),
    ]);
    for (const line of echoed) {
      const ok = await new Promise<boolean>((resolve) =>
        execFile("bash", ["-n", "-c", line], (e) => resolve(!e)),
      );
      expect(ok, line).toBe(true);
    }
  }, 120_000);

  it("with --insecure: a plaintext hub, every step still works", async () => {
    const { code, stdout } = await demo(["--insecure", "--embedder", "none"]);
    expect(code, stdout).toBe(0);
    expect(stdout).toContain("(triage): succeeded");
    expect(stdout).toContain("demo: every step behaved as expected.");
  }, 120_000);
});
