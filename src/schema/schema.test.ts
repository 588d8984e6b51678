import { describe, expect, it } from "vitest";
import { isClawHubError } from "../errors/index.ts";
import {
  AGENT_ID,
  archiveFileMode,
  CAPABILITY_NAME,
  checkName,
  HANDLE,
  isName,
  jsonNestingDepth,
  logLine,
  parseBytes,
  parseDuration,
  SLUG,
  subjectMatches,
  TAG,
  TOPIC,
  TOPIC_PATTERN,
  visibleText,
} from "./index.ts";

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return "ok";
  } catch (error) {
    return isClawHubError(error) ? error.code : String(error);
  }
};

describe("names", () => {
  it("slugs: 3-96 of a-z, 0-9 and single hyphens, letter or digit at both ends", () => {
    for (const ok of ["abc", "weather-alerts", "a1b", "x".repeat(96)])
      expect(isName(SLUG, ok)).toBe(true);
    for (const bad of ["ab", "-abc", "abc-", "a--b", "ABC", "a_b", "a.b", "x".repeat(97), ""])
      expect(isName(SLUG, bad), bad).toBe(false);
  });

  it("handles, tags, capability names, agent ids and topics each have one rule", () => {
    expect(isName(HANDLE, "acme_co-1")).toBe(true);
    expect(isName(HANDLE, "-acme")).toBe(false);
    expect(isName(TAG, "v2-rc.1")).toBe(true);
    expect(isName(TAG, ".x")).toBe(false);
    expect(isName(CAPABILITY_NAME, "text.summarize")).toBe(true);
    expect(isName(CAPABILITY_NAME, ".text")).toBe(false);
    expect(isName(AGENT_ID, "payments-1")).toBe(true);
    expect(isName(AGENT_ID, "a/b")).toBe(false);
    expect(isName(TOPIC, "cache.skills.weather")).toBe(true);
    expect(isName(TOPIC, "cache.*")).toBe(false);
    expect(isName(TOPIC_PATTERN, "cache.*.weather")).toBe(true);
    expect(isName(TOPIC_PATTERN, "cache.>")).toBe(true);
    expect(isName(TOPIC_PATTERN, ">")).toBe(true);
    expect(isName(TOPIC_PATTERN, "cache.>.x")).toBe(false);
    expect(isName(TOPIC, "a".repeat(257))).toBe(false);
  });

  it("checkName refuses with INVALID_ARGUMENT, naming the value and the rule", () => {
    try {
      checkName(SLUG, "Bad--Slug");
      expect.unreachable();
    } catch (error) {
      expect(isClawHubError(error) && error.code).toBe("INVALID_ARGUMENT");
      expect((error as Error).message).toBe(
        'invalid slug "Bad--Slug": use 3-96 characters of a-z, 0-9 and single hyphens, starting and ending with a letter or digit',
      );
    }
    expect(checkName(AGENT_ID, "ok")).toBe("ok");
  });

  it("matches subjects as NATS does", () => {
    expect(subjectMatches("a.*.c", "a.b.c")).toBe(true);
    expect(subjectMatches("a.*", "a.b.c")).toBe(false);
    expect(subjectMatches("a.>", "a")).toBe(false);
    expect(subjectMatches("a.>", "a.b.c")).toBe(true);
    expect(subjectMatches(">", "a")).toBe(true);
    expect(subjectMatches("a.b", "a.b")).toBe(true);
    expect(subjectMatches("a.b", "a.b.c")).toBe(false);
  });
});

describe("durations", () => {
  it("reads the one syntax of flags and workflow files", () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("2 m")).toBe(120_000);
    expect(parseDuration("1.5h")).toBe(5_400_000);
    expect(parseDuration("7d")).toBe(604_800_000);
    expect(parseDuration(250)).toBe(250);
    expect(parseDuration("250")).toBe(250);
    expect(parseDuration(undefined)).toBeUndefined();
    for (const bad of ["soon", "-1s", "1w", "1e3", "", " s"])
      expect(
        codeOf(() => parseDuration(bad, "--timeout")),
        bad,
      ).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => parseDuration(Number.NaN))).toBe("INVALID_ARGUMENT");
  });
});

describe("sizes", () => {
  it("reads bytes with SI and binary units", () => {
    expect(parseBytes("512")).toBe(512);
    expect(parseBytes("64KiB")).toBe(65_536);
    expect(parseBytes("256 MiB")).toBe(268_435_456);
    expect(parseBytes("1GB")).toBe(1e9);
    expect(parseBytes(42)).toBe(42);
    for (const bad of ["lots", "-1", "1TB", "1e9"])
      expect(
        codeOf(() => parseBytes(bad)),
        bad,
      ).toBe("INVALID_ARGUMENT");
  });
});

describe("archive file modes", () => {
  it("come from the content: an interpreter line makes a file executable", () => {
    expect(archiveFileMode(Buffer.from("#!/bin/sh\necho hi\n"))).toBe(0o755);
    expect(archiveFileMode(Buffer.from("echo hi\n"))).toBe(0o644);
    expect(archiveFileMode(Buffer.from("#"))).toBe(0o644);
    expect(archiveFileMode(new Uint8Array(0))).toBe(0o644);
  });
});

describe("jsonNestingDepth", () => {
  it("measures nesting as JSON.parse sees it, brackets inside strings and escapes ignored", () => {
    const samples = [
      "1",
      "{}",
      '{"a":[1,{"b":[]}]}',
      '["[[[", "\\"[", {"k]": "}}"}]',
      `${"[".repeat(500)}${"]".repeat(500)}`,
    ];
    const depthOf = (v: unknown): number =>
      Array.isArray(v)
        ? 1 + Math.max(0, ...v.map(depthOf))
        : v !== null && typeof v === "object"
          ? 1 + Math.max(0, ...Object.values(v).map(depthOf))
          : 0;
    for (const text of samples) expect(jsonNestingDepth(text)).toBe(depthOf(JSON.parse(text)));
  });
});

describe("visibleText and logLine", () => {
  it("escapes what acts on a terminal or hides text, keeps newlines, tabs, accents and emoji", () => {
    expect(visibleText("a\u001b[2Jb\u0007\u009b1m\u202Ex\u200by\udb40\udc41z")).toBe(
      "a\\u001b[2Jb\\u0007\\u009b1m\\u202ex\\u200by\\udb40\\udc41z",
    );
    const kept = "line 1\n\tcafé 👩‍💻 日本";
    expect(visibleText(kept)).toBe(kept);
    // Valid inside JSON strings too: --json output stays parseable.
    expect(JSON.parse(visibleText(JSON.stringify({ s: "\u009b\u202e" })))).toEqual({
      s: "\u009b\u202e",
    });
  });
  it("keeps a log line one line", () => {
    expect(logLine("agent x\nhub: agent payments gone\r")).toBe(
      "agent x\\nhub: agent payments gone\\u000d",
    );
  });
});
