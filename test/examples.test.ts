import { describe, expect, it } from "vitest";
import { summarize } from "../examples/agents/summarizer.ts";
import { estimateTokens, sentences } from "../examples/agents/text.ts";
import { keywords } from "../examples/agents/text-stats.ts";
import { chunk } from "../src/workflow/index.ts";

const paragraphs = Array.from(
  { length: 12 },
  (_, i) =>
    `Paragraph ${i} talks about topic ${i}. It has a second sentence with more words in it.`,
);
const doc = paragraphs.join("\n\n");

describe("example agents' algorithms", () => {
  it("chunks within the token budget, at paragraph boundaries, with overlap", () => {
    const chunks = chunk(doc, 60, 25);
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) expect(estimateTokens(c)).toBeLessThanOrEqual(60);
    // Every paragraph survives whole, in order, and consecutive chunks share a paragraph.
    for (const p of paragraphs) expect(chunks.some((c) => c.includes(p))).toBe(true);
    for (let i = 1; i < chunks.length; i++) {
      const first = (chunks[i] as string).split("\n\n")[0] as string;
      expect(chunks[i - 1]).toContain(first);
    }
    expect(chunk(doc, 10_000, 0)).toEqual([doc]);
  });

  it("splits a paragraph larger than the budget", () => {
    const long = Array.from({ length: 50 }, (_, i) => `Sentence number ${i} is here.`).join(" ");
    const chunks = chunk(long, 40, 0);
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.join(" ")).toBe(long);
  });

  it("summarises with the most central sentences in document order", () => {
    const text =
      "Solar power is growing fast. Solar panels are cheaper every year. " +
      "My cat likes boxes. Solar farms now power whole towns.";
    expect(summarize(text, 2)).toEqual([
      "Solar power is growing fast.",
      "Solar farms now power whole towns.",
    ]);
    expect(sentences("One. Two!\n\nThree?")).toEqual(["One.", "Two!", "Three?"]);
  });

  it("extracts keywords and repeated phrases, deterministically", () => {
    const text =
      "Vector search ranks documents. Vector search uses embeddings. Embeddings are vectors.";
    const top = keywords(text, 3).map((k) => k.term);
    expect(top).toEqual(["vector search", "embeddings", "search"]);
  });
});
