import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpJudge, parseOpinion, withOpinion } from "./judge.ts";
import { scanFiles } from "./scanner.ts";

// A local OpenAI-compatible endpoint: answers what the test sets, records what it was sent.
let answer = "";
let status = 200;
const seen: {
  auth?: string;
  body: { model: string; messages: { role: string; content: string }[] };
}[] = [];
const server = createServer((req, res) => {
  let body = "";
  req.on("data", (d) => {
    body += d;
  });
  req.on("end", () => {
    seen.push({ auth: req.headers.authorization, body: JSON.parse(body) });
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ choices: [{ message: { role: "assistant", content: answer } }] }));
  });
});
let url = "";
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const file = (text: string) => [{ path: "SKILL.md", bytes: new TextEncoder().encode(text) }];

describe("the language-model judge (a second opinion)", () => {
  it("sends the findings and the files to an OpenAI-compatible endpoint and reads its verdict", async () => {
    const judge = createHttpJudge({ url, model: "tiny", apiKey: "k-1", maxBytes: 20 });
    const files = [
      ...file("---\nname: a\ndescription: b\n---\nSay hello."),
      { path: "big.txt", bytes: new Uint8Array(500).fill(0x61) },
    ];
    answer =
      'Sure. ```json\n{"verdict":"suspicious","reason":"asks for\\u001b[2J nothing odd"}\n```';
    const opinion = await judge.judge(files, scanFiles(files));
    expect(opinion).toEqual({
      verdict: "suspicious",
      reason: "asks for\\u001b[2J nothing odd",
      model: "tiny",
    });
    const sent = seen.at(-1);
    expect(sent?.auth).toBe("Bearer k-1");
    expect(sent?.body.model).toBe("tiny");
    expect(sent?.body.messages[0]?.content).toContain("untrusted data");
    const user = sent?.body.messages[1]?.content ?? "";
    expect(user).toContain("Static scanner verdict: clean");
    expect(user).toMatch(/--- SKILL\.md \(first 20 of \d+ bytes\)/);
    expect(user).toContain("--- big.txt (500 bytes, not sent)");
  });

  it("only raises a clean verdict to suspicious: never clears, never blocks on its own", () => {
    const says = (verdict: "clean" | "suspicious" | "malicious") => ({
      verdict,
      reason: "",
      model: "m",
    });
    expect(withOpinion("clean", says("malicious"))).toBe("suspicious");
    expect(withOpinion("clean", says("suspicious"))).toBe("suspicious");
    expect(withOpinion("malicious", says("clean"))).toBe("malicious");
    expect(withOpinion("suspicious", says("clean"))).toBe("suspicious");
    expect(withOpinion("clean", undefined)).toBe("clean");
  });

  it("reports an endpoint that fails or answers nonsense as unavailable", async () => {
    const judge = createHttpJudge({ url, model: "tiny" });
    answer = "I think it is fine";
    await expect(judge.judge(file("x"), scanFiles(file("x")))).rejects.toThrow(/no verdict/);
    status = 500;
    await expect(judge.judge(file("x"), scanFiles(file("x")))).rejects.toThrow(/answered 500/);
    status = 200;
    const down = createHttpJudge({ url: "http://127.0.0.1:1/v1", model: "tiny", timeoutMs: 2000 });
    await expect(down.judge(file("x"), scanFiles(file("x")))).rejects.toThrow(/did not answer/);
    expect(() => parseOpinion('{"verdict":"fine"}', "m")).toThrow(/no verdict/);
  });
});
