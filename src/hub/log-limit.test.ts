import { describe, expect, it } from "vitest";
import { createLogLimiter } from "./log-limit.ts";

describe("connection log limiter", () => {
  it("writes a burst per kind and window, then sums up the rest when the window ends", () => {
    let t = 0;
    const lines: string[] = [];
    const limiter = createLogLimiter({
      write: (l) => lines.push(l),
      burst: 3,
      windowMs: 1000,
      now: () => t,
    });
    for (let i = 0; i < 10; i++) limiter.log("connection", `c${i}`);
    limiter.log("stream error", "e0");
    expect(lines).toEqual(["c0", "c1", "c2", "e0"]);
    t = 1500;
    limiter.log("connection", "c10");
    expect(lines.slice(4)).toEqual([
      "hub: 7 more connection lines in the last 1 s were not logged (at most 3 per 1 s)",
      "c10",
    ]);
    limiter.log("connection", "c11");
    limiter.log("connection", "c12");
    limiter.log("connection", "c13");
    limiter.close();
    expect(lines.slice(6)).toEqual([
      "c11",
      "c12",
      "hub: 1 more connection lines in the last 1 s were not logged (at most 3 per 1 s)",
    ]);
  });
});
