import { describe, expect, it } from "vitest";
import { type Embedder, normalize } from "./embedder.ts";
import {
  createSearchEngine,
  DEFAULT_WEIGHTS,
  documentText,
  type EngineDocument,
} from "./engine.ts";

/**
 * A deterministic test embedder: words hashed into 64 buckets, with a few synonyms mapped to the
 * same bucket so that a paraphrase shares no keyword with its target yet lands near it.
 */
const SYNONYMS: Record<string, string> = {
  mail: "email",
  message: "email",
  inbox: "email",
  forecast: "weather",
  rain: "weather",
  temperature: "weather",
};
function testEmbedder(calls: string[][] = []): Embedder {
  return {
    id: "test-hash-64",
    dimensions: 64,
    async embed(texts) {
      calls.push(texts);
      return texts.map((t) => {
        const v = new Array(64).fill(0.01);
        for (const raw of t.toLowerCase().match(/[a-z]+/g) ?? []) {
          const w = SYNONYMS[raw] ?? raw;
          let h = 0;
          for (const ch of w) h = (h * 31 + ch.charCodeAt(0)) % 64;
          v[h] += 1;
        }
        return normalize(v);
      });
    },
  };
}

const doc = (
  id: string,
  name: string,
  summary: string,
  extra: Partial<EngineDocument> = {},
): EngineDocument => ({
  id,
  name,
  owner: extra.owner ?? "acme",
  title: name,
  summary,
  tags: [],
  popularity: extra.popularity ?? 0,
  text: documentText({ title: name, name, summary, tags: [] }),
  ...extra,
});

async function engineWith(docs: EngineDocument[]) {
  const engine = createSearchEngine({ embedder: testEmbedder() });
  for (const d of docs) engine.upsert(d);
  await engine.idle();
  return engine;
}

const corpus = [
  doc("1", "email-sender", "Send email through SMTP with attachments."),
  doc("2", "weather", "Current conditions and weekly outlook for a city."),
  doc("3", "weather-alerts", "Push severe weather alerts to your phone.", { popularity: 5000 }),
  doc("4", "pdf-tools", "Extract text and tables from PDF files."),
  doc("5", "calendar", "Create and move calendar events.", { owner: "other" }),
  doc("6", "sheet-reader", "Read spreadsheets and CSV tables.", { flagged: true }),
];

describe("search engine ranking", () => {
  it("puts an exact slug match first, above more popular partial matches", async () => {
    const engine = await engineWith(corpus);
    const hits = await engine.search("weather");
    expect(hits[0]?.id).toBe("2");
    expect(hits[0]?.parts.tier).toBe(3);
    expect(hits[1]?.id).toBe("3");
  });

  it("finds a paraphrase that shares no keyword with its target, through the vectors", async () => {
    const engine = await engineWith(corpus);
    const hits = await engine.search("deliver a message to an inbox");
    expect(hits[0]?.id).toBe("1");
    expect(hits[0]?.parts.bm25).toBe(0);
    expect(hits[0]?.parts.cosine).toBeGreaterThan(0.25);
    const lexicalOnly = await engine.search("deliver a message to an inbox", { ranking: "bm25" });
    expect(lexicalOnly.map((h) => h.id)).not.toContain("1");
  });

  it("applies owner and suspicious filters, and exact mode", async () => {
    const engine = await engineWith(corpus);
    expect(
      (await engine.search("calendar events", { owner: "acme" })).map((h) => h.id),
    ).not.toContain("5");
    expect(
      (await engine.search("tables", { excludeFlagged: true })).map((h) => h.id),
    ).not.toContain("6");
    expect((await engine.search("tables")).map((h) => h.id)).toContain("6");
    expect((await engine.search("pdf-tools", { mode: "exact" })).map((h) => h.id)).toEqual(["4"]);
    expect(await engine.search("pdf", { mode: "exact" })).toEqual([]);
  });

  it("pages stably: pages concatenate to the full ranking without repeats", async () => {
    const many = Array.from({ length: 40 }, (_, i) =>
      doc(`m${i}`, `tool-${i}`, `A tool for tables and reports number ${i}.`, {
        popularity: i % 7,
      }),
    );
    const engine = await engineWith(many);
    const all = await engine.search("tables reports", { limit: 100 });
    const paged = [];
    for (let offset = 0; offset < all.length; offset += 7)
      paged.push(...(await engine.search("tables reports", { limit: 7, offset })));
    expect(paged.map((h) => h.id)).toEqual(all.map((h) => h.id));
    expect(new Set(paged.map((h) => h.id)).size).toBe(paged.length);
  });

  it("never returns a removed document, by words or by meaning", async () => {
    const engine = await engineWith(corpus);
    engine.remove("1");
    expect((await engine.search("email-sender")).map((h) => h.id)).not.toContain("1");
    expect((await engine.search("deliver a message to an inbox")).map((h) => h.id)).not.toContain(
      "1",
    );
    expect(engine.status()).toMatchObject({
      documents: 5,
      embedded: 5,
      pending: 0,
      embedder: "test-hash-64",
    });
  });

  it("keeps the popularity prior small and capped", async () => {
    const engine = await engineWith([
      doc("a", "alpha-notes", "Notes about weather."),
      doc("b", "beta-notes", "Notes about weather.", { popularity: 10_000_000 }),
    ]);
    const [first, second] = await engine.search("notes weather");
    expect(first?.id).toBe("b");
    expect(first?.parts.popularity).toBeLessThanOrEqual(engine.weights.popularityCap);
    expect((first?.score ?? 0) - (second?.score ?? 0)).toBeLessThan(0.06);
  });

  it("embeds once per content: an unchanged upsert does not re-embed; a change does", async () => {
    const calls: string[][] = [];
    const engine = createSearchEngine({ embedder: testEmbedder(calls) });
    engine.upsert(corpus[0] as EngineDocument);
    await engine.idle();
    engine.upsert(corpus[0] as EngineDocument);
    await engine.idle();
    expect(calls.flat()).toHaveLength(1);
    engine.upsert({ ...(corpus[0] as EngineDocument), text: "changed text" });
    await engine.idle();
    expect(calls.flat()).toHaveLength(2);
  });

  it("keeps answering lexically when the embedder fails, and reports the error", async () => {
    const failing: Embedder = {
      id: "broken",
      dimensions: 4,
      embed: async () => Promise.reject(new Error("model crashed")),
    };
    const engine = createSearchEngine({ embedder: failing });
    for (const d of corpus) engine.upsert(d);
    await engine.idle();
    expect((await engine.search("pdf tables"))[0]?.id).toBe("4");
    expect(engine.status()).toMatchObject({ embedded: 0, pending: 6, lastError: "model crashed" });
  });

  it("lifts skills named like the nearest matches by meaning (semantic feedback)", async () => {
    const engine = await engineWith(corpus);
    // "rain" shares no word with any skill; by meaning it is nearest the weather skills, whose
    // names then find each other by words.
    const hits = await engine.search("rain");
    const parts = new Map(hits.map((h) => [h.id, h.parts]));
    expect(parts.get("2")?.feedback).toBeGreaterThan(0);
    expect(parts.get("3")?.feedback).toBeGreaterThan(0);
    expect(parts.get("4")?.feedback ?? 0).toBe(0);
    expect(
      hits
        .slice(0, 2)
        .map((h) => h.id)
        .sort(),
    ).toEqual(["2", "3"]);
    const without = createSearchEngine({ embedder: testEmbedder(), weights: { feedback: 0 } });
    for (const d of corpus) without.upsert(d);
    await without.idle();
    const plain = await without.search("rain");
    // Relevance is divided by the most the weights can add up to (feedback included), so undo
    // that to compare what "2" gained.
    const w = DEFAULT_WEIGHTS;
    const relevance = (list: typeof hits, feedback: number) =>
      (list.find((h) => h.id === "2")?.score ?? 0) * (w.bm25 + w.cosine + feedback);
    expect(relevance(hits, w.feedback)).toBeGreaterThan(relevance(plain, 0));
  });

  it("ranks by one signal alone for the baselines", async () => {
    const engine = await engineWith(corpus);
    const bm25 = await engine.search("severe alerts", { ranking: "bm25" });
    expect(bm25.every((h) => h.parts.tier === 0 || h.parts.bm25 > 0)).toBe(true);
    const emb = await engine.search("severe alerts", { ranking: "embedding" });
    expect(emb.every((h) => h.parts.tier === 0)).toBe(true);
    expect(emb[0]?.id).toBe("3");
  });
});
