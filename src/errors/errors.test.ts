import { describe, expect, it } from "vitest";
import {
  ClawHubError,
  ERROR_CODES,
  isClawHubError,
  redactSecrets,
  toClawHubError,
} from "./index.ts";

describe("ClawHubError", () => {
  it("carries a stable code, its category, a hint and details", () => {
    const err = new ClawHubError("UNSAFE_ARCHIVE", "refused", {
      hint: "h",
      details: { rule: "r" },
    });
    expect([err.code, err.category, err.hint, err.details]).toEqual([
      "UNSAFE_ARCHIVE",
      "security",
      "h",
      { rule: "r" },
    ]);
    expect(isClawHubError(err)).toBe(true);
    expect(isClawHubError(new Error("x"))).toBe(false);
  });

  it("maps every code to a category", () => {
    for (const category of Object.values(ERROR_CODES)) {
      expect(["usage", "user", "network", "security", "internal"]).toContain(category);
    }
  });

  it("turns system errors into user-facing codes and keeps the cause", () => {
    const enoent = Object.assign(new Error("ENOENT: no such file"), {
      code: "ENOENT",
      path: "/x/y",
    });
    const mapped = toClawHubError(enoent);
    expect([mapped.code, mapped.message, mapped.cause]).toEqual([
      "NOT_FOUND",
      "No such file or directory: /x/y",
      enoent,
    ]);
    expect(toClawHubError(new TypeError("boom")).code).toBe("INTERNAL");
  });

  it("redacts tokens and bearer credentials", () => {
    const text =
      "token clh_abcdefghijkl and Authorization: Bearer abc.def.ghi-jkl and sk-secret1234";
    const out = redactSecrets(text);
    expect(out).not.toContain("abcdefghijkl");
    expect(out).not.toContain("abc.def.ghi-jkl");
    expect(out).not.toContain("secret1234");
    expect(out).toContain("clh_[redacted]");
    expect(out).toContain("Bearer [redacted]");
  });
});
