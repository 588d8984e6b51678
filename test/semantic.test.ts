import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startRegistryServer } from "../src/registry/index.ts";
import { createLocalEmbedder, type Embedder } from "../src/search/index.ts";

const SKILLS: Array<[string, string]> = [
  ["receipt-reader", "Extract totals, dates and vendor names from scanned receipts and invoices."],
  [
    "git-helper",
    "Create branches, write commit messages and resolve merge conflicts in git repositories.",
  ],
  ["city-weather", "Current conditions and a seven-day forecast for any city."],
  ["doc-translator", "Translate documents between English, French, German and Spanish."],
  ["meeting-planner", "Find a free slot in several calendars and send the invitation."],
];

/** Counts the texts an embedder is asked for, to prove vectors are reused. */
function counting(inner: Embedder): Embedder & { texts: string[] } {
  const texts: string[] = [];
  return {
    id: inner.id,
    dimensions: inner.dimensions,
    texts,
    embed: (t) => {
      texts.push(...t);
      return inner.embed(t);
    },
  };
}

async function waitIndexed(
  url: string,
): Promise<{ documents: number; embedded: number; pending: number; embedder: string }> {
  for (let i = 0; i < 600; i++) {
    const s = (await (await fetch(`${url}/api/v1/search/status`)).json()) as {
      documents: number;
      embedded: number;
      pending: number;
      embedder: string;
    };
    if (s.pending === 0 && s.embedded === s.documents) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("index did not complete");
}

describe("semantic search with the bundled model", () => {
  let dir: string;
  let server: RunningServer;
  let token: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "clawhub-semantic-"));
    server = await startRegistryServer({ port: 0, dataDir: dir, embedder: createLocalEmbedder() });
    token = server.bootstrap?.token ?? "";
    for (const [slug, description] of SKILLS) {
      const fd = new FormData();
      fd.set("payload", JSON.stringify({ slug, version: "1.0.0" }));
      fd.append(
        "files[]",
        new Blob([`---\nname: ${slug}\ndescription: ${description}\n---\n\nInstructions.\n`]),
        "SKILL.md",
      );
      const res = await fetch(`${server.url}/api/v1/skills`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: fd,
      });
      expect(res.status).toBe(200);
    }
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("reports index status and finds skills by meaning, not only by words", async () => {
    const status = await waitIndexed(server.url);
    expect(status).toMatchObject({
      documents: 5,
      embedded: 5,
      pending: 0,
      embedder: "use-lite-512/600",
    });
    const cases: Array<[string, string]> = [
      ["read the total from a shop bill", "receipt-reader"],
      ["will it rain in Paris tomorrow", "city-weather"],
      ["put this letter into Spanish", "doc-translator"],
      ["undo my last code change", "git-helper"],
      ["book time with my team next week", "meeting-planner"],
    ];
    for (const [q, expected] of cases) {
      const res = (await (
        await fetch(`${server.url}/api/v1/search?q=${encodeURIComponent(q)}&explain=1`)
      ).json()) as { results: Array<{ slug: string; explain: { cosine: number } }> };
      expect(res.results[0]?.slug, q).toBe(expected);
      expect(res.results[0]?.explain.cosine).toBeGreaterThan(0.3);
    }
  }, 120_000);

  it("reuses stored vectors after a restart, and re-embeds in the background after an embedder switch", async () => {
    await server.close();
    const same = counting(createLocalEmbedder());
    server = await startRegistryServer({ port: 0, dataDir: dir, embedder: same });
    expect((await waitIndexed(server.url)).embedded).toBe(5);
    expect(same.texts).toEqual([]); // nothing re-embedded: vectors came from the database
    await server.close();

    const other = counting(createLocalEmbedder({ maxChars: 300 }));
    server = await startRegistryServer({ port: 0, dataDir: dir, embedder: other });
    // Lexical search answers at once while the new vectors are computed.
    const lexical = (await (await fetch(`${server.url}/api/v1/search?q=git`)).json()) as {
      results: Array<{ slug: string }>;
    };
    expect(lexical.results[0]?.slug).toBe("git-helper");
    const status = await waitIndexed(server.url);
    expect(status).toMatchObject({ embedded: 5, embedder: "use-lite-512/300" });
    expect(other.texts.length).toBeGreaterThanOrEqual(5);
  }, 120_000);
});

describe("the bundled model on several workers", () => {
  it("gives every text the vector one worker gives it, in input order", async () => {
    const texts = Array.from(
      { length: 40 },
      (_, i) =>
        `${["Send", "Read", "Forecast", "Summarise", "Translate"][i % 5]} ${"x ".repeat(i)}item ${i}: ${SKILLS[i % SKILLS.length]?.[1] ?? ""}`,
    );
    const one = createLocalEmbedder();
    const two = createLocalEmbedder({ workers: 2 });
    const [a, b] = await Promise.all([one.embed(texts), two.embed(texts)]);
    expect(b).toHaveLength(texts.length);
    for (let i = 0; i < texts.length; i++) {
      const x = a[i] as Float32Array;
      const y = b[i] as Float32Array;
      let dot = 0;
      for (let k = 0; k < x.length; k++) dot += (x[k] as number) * (y[k] as number);
      expect(dot).toBeGreaterThan(0.9999);
    }
    // A single text (a query) still answers on its own.
    const [q] = await two.embed(["what is the weather tomorrow"]);
    expect(q).toHaveLength(512);
  }, 120_000);
});
