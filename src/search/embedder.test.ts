import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isClawHubError } from "../errors/index.ts";
import { createHttpEmbedder, normalize, truncate } from "./embedder.ts";

type Mode = "ok" | "500" | "slow" | "wrong-dim" | "wrong-count" | "junk";

/** A small OpenAI-compatible /v1/embeddings server whose behaviour the test switches. */
let server: Server;
let url = "";
let mode: Mode = "ok";
const seen: Array<{ model: string; input: string[]; auth: string | undefined }> = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const parsed = JSON.parse(body) as { model: string; input: string[] };
      seen.push({ ...parsed, auth: req.headers.authorization });
      if (mode === "500") return res.writeHead(500).end("model not loaded");
      if (mode === "slow") return setTimeout(() => res.writeHead(200).end("{}"), 2000);
      if (mode === "junk")
        return res.writeHead(200, { "content-type": "application/json" }).end("not json");
      const dims = (i: number) => (mode === "wrong-dim" && i === 1 ? 3 : 4);
      const items = parsed.input.map((text, i) => ({
        index: i,
        embedding: Array.from({ length: dims(i) }, (_, j) => text.length + j),
      }));
      // Answer out of order: the client must order by index.
      const data = mode === "wrong-count" ? items.slice(1) : items.reverse();
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const fails = async (p: Promise<unknown>): Promise<string> => {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(isClawHubError(e)).toBe(true);
  return (e as Error).message;
};

describe("OpenAI-compatible HTTP embedder", () => {
  it("embeds in batches, in input order, normalised, with the key and model", async () => {
    mode = "ok";
    const e = createHttpEmbedder({ url, model: "nomic-embed", apiKey: "sk-test", batchSize: 2 });
    const vectors = await e.embed(["a", "bbb", "cc"]);
    expect(vectors).toHaveLength(3);
    expect(Array.from(vectors[0] ?? [])).toEqual(Array.from(normalize([1, 2, 3, 4])));
    expect(Array.from(vectors[1] ?? [])).toEqual(Array.from(normalize([3, 4, 5, 6])));
    expect(e.dimensions).toBe(4);
    expect(seen.slice(-2).map((s) => s.input)).toEqual([["a", "bbb"], ["cc"]]);
    expect(seen.at(-1)).toMatchObject({ model: "nomic-embed", auth: "Bearer sk-test" });
    expect(e.id).toBe(`http:${url}/embeddings#nomic-embed`);
  });

  it("reports a server error with its status and message", async () => {
    mode = "500";
    expect(await fails(createHttpEmbedder({ url, model: "m" }).embed(["x"]))).toMatch(
      /HTTP 500: model not loaded/,
    );
  });

  it("times out", async () => {
    mode = "slow";
    expect(
      await fails(createHttpEmbedder({ url, model: "m", timeoutMs: 200 }).embed(["x"])),
    ).toMatch(/no answer within 200 ms/);
  });

  it("refuses vectors of the wrong dimension, a wrong count and junk", async () => {
    mode = "wrong-dim";
    expect(await fails(createHttpEmbedder({ url, model: "m" }).embed(["a", "b"]))).toMatch(
      /has 3 dimensions; expected 4/,
    );
    mode = "ok";
    expect(
      await fails(createHttpEmbedder({ url, model: "m", dimensions: 8 }).embed(["a"])),
    ).toMatch(/has 4 dimensions; expected 8/);
    mode = "wrong-count";
    expect(await fails(createHttpEmbedder({ url, model: "m" }).embed(["a", "b"]))).toMatch(
      /expected 2 embeddings, got 1/,
    );
    mode = "junk";
    expect(await fails(createHttpEmbedder({ url, model: "m" }).embed(["a"]))).toMatch(/not JSON/);
  });

  it("reports an unreachable service", async () => {
    expect(
      await fails(createHttpEmbedder({ url: "http://127.0.0.1:9/v1", model: "m" }).embed(["a"])),
    ).toMatch(/unreachable/);
  });
});

describe("truncate", () => {
  it("cuts at a word boundary", () => {
    expect(truncate("alpha beta gamma delta", 13)).toBe("alpha beta");
    expect(truncate("short", 10)).toBe("short");
  });
});
