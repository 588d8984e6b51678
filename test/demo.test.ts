import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { OUR_BIN } from "./helpers/registry.ts";

describe("clawhub demo (the README's first command)", () => {
  it("runs every step against a real registry, hub and agents, and cleans up", async () => {
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [OUR_BIN, "demo"],
        { timeout: 120_000, env: { ...process.env, NO_COLOR: "1" } },
        (error, out) =>
          resolve({
            code: error ? Number((error as { code?: number }).code ?? 1) : 0,
            stdout: out,
          }),
      );
    });
    expect(code, stdout).toBe(0);
    expect(stdout).toContain("Published text-stats@1.0.0");
    expect(stdout).toContain("(triage): succeeded");
    expect(stdout).toContain("[hub event] breaker.open weather-upstream");
    // Some cities are answered by the fallback, later ones by the recovered upstream. Which
    // ones depends on timing: a map's parallelism bounds running tasks, and an item waiting
    // out its retry backoff lets the next one start.
    expect(stdout).toContain('"source": "cache"');
    expect(stdout).toContain('"source": "live"');
    expect(stdout).toContain("demo: every step behaved as expected.");
  }, 120_000);
});
