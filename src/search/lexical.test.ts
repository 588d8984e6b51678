import { describe, expect, it } from "vitest";
import { createLexicalIndex, MAX_PREFIX_EXPANSIONS, type SearchDocument } from "./lexical.ts";

const doc = (id: string, over: Partial<SearchDocument> = {}): SearchDocument => ({
  id,
  name: id,
  owner: "alice",
  title: id,
  summary: "",
  tags: [],
  popularity: 0,
  ...over,
});

describe("lexical index", () => {
  it("orders by tier: exact slug or name, then every word in slug or name, then the rest", () => {
    const index = createLexicalIndex();
    index.upsert(doc("pdf-tools", { summary: "merge and split pdf files", popularity: 50_000 }));
    index.upsert(doc("merge-pdf", { title: "Merge PDF" }));
    index.upsert(doc("docs", { summary: "merge pdf documents quickly, merge pdf pages" }));
    index.upsert(doc("unrelated", { summary: "weather forecasts" }));
    const hits = index.search("merge pdf");
    expect(hits.map((h) => [h.id, h.parts.tier])).toEqual([
      ["merge-pdf", 3],
      ["pdf-tools", 1],
      ["docs", 1],
    ]);
    expect(index.search("Merge PDF")[0]?.id).toBe("merge-pdf");
  });

  it("weighs a word in the slug or name above the same word in the summary", () => {
    const index = createLexicalIndex();
    index.upsert(doc("a", { name: "calendar-sync", title: "Calendar Sync" }));
    index.upsert(doc("b", { name: "agenda", summary: "calendar events for your team" }));
    const [first, second] = index.search("calendar events sync team");
    expect(first?.id).toBe("a");
    expect((first?.parts.bm25 ?? 0) > 0 && (second?.parts.bm25 ?? 0) > 0).toBe(true);
  });

  it("matches prefixes at half weight, and ignores stop words unless the query is only those", () => {
    const index = createLexicalIndex();
    index.upsert(doc("postgres-admin", { summary: "administer databases" }));
    index.upsert(doc("the-who", { title: "The Who" }));
    expect(index.search("postg")[0]?.id).toBe("postgres-admin");
    expect(index.search("how do I postgres")[0]?.id).toBe("postgres-admin");
    expect(index.search("the who")[0]?.id).toBe("the-who");
    // Plurals and singulars are one term (the S stemmer), whichever side has which.
    index.upsert(doc("hue", { summary: "control smart lights and scenes" }));
    expect(index.search("light")[0]?.id).toBe("hue");
    expect(index.search("dim lights scene")[0]?.id).toBe("hue");
    const exact = index.match("postgres").get("postgres-admin")?.bm25 ?? 0;
    const prefix = index.match("postgr").get("postgres-admin")?.bm25 ?? 0;
    expect(prefix).toBeGreaterThan(0);
    expect(prefix).toBeLessThan(exact);
  });

  it("forgets removed and replaced documents, and reuses their slots without ghosts", () => {
    const index = createLexicalIndex();
    for (let i = 0; i < 50; i++) index.upsert(doc(`skill-${i}`, { summary: `topic${i % 5} tool` }));
    for (let i = 0; i < 50; i += 2) index.remove(`skill-${i}`);
    index.upsert(doc("skill-1", { summary: "completely different words" }));
    index.upsert(doc("fresh", { summary: "topic0 newcomer" }));
    expect(index.size()).toBe(26);
    const topic0 = index.search("topic0", { limit: 100 }).map((h) => h.id);
    expect(topic0.sort()).toEqual([
      "fresh",
      "skill-15",
      "skill-25",
      "skill-35",
      "skill-45",
      "skill-5",
    ]);
    expect(index.search("topic1", { limit: 100 }).map((h) => h.id)).not.toContain("skill-1");
    expect(index.search("different")[0]?.id).toBe("skill-1");
    expect(index.search("skill-0", { mode: "exact" })).toEqual([]);
  });

  it("filters by owner and suspicion, and pages without gaps or repeats", () => {
    const index = createLexicalIndex();
    for (let i = 0; i < 30; i++)
      index.upsert(
        doc(`note-${i}`, {
          owner: i % 2 ? "bob" : "alice",
          flagged: i % 3 === 0,
          summary: `notes ${"keep ".repeat(i % 4)}`,
          popularity: i * 10,
        }),
      );
    const bob = index.search("notes", { owner: "bob", limit: 100 });
    expect(bob).toHaveLength(15);
    expect(bob.every((h) => Number(h.id.split("-")[1]) % 2 === 1)).toBe(true);
    expect(index.search("notes", { excludeFlagged: true, limit: 100 })).toHaveLength(20);
    const all = index.search("notes keep", { limit: 100 }).map((h) => h.id);
    const paged = [0, 7, 14, 21, 28].flatMap((offset) =>
      index.search("notes keep", { offset, limit: 7 }).map((h) => h.id),
    );
    expect(paged).toEqual(all);
  });

  it("gives one document's parts as the ranking has them, and refuses a stale match", () => {
    const index = createLexicalIndex();
    index.upsert(doc("image-resize", { summary: "resize images" }));
    index.upsert(doc("image-crop", { summary: "crop images" }));
    const match = index.match("resize images");
    const [top] = match.hits(0, 1);
    expect(match.matched).toBe(2);
    expect(match.get("image-resize")).toEqual(top?.parts);
    expect(match.get("nope")).toBeUndefined();
    expect(match.bestCoverage).toBe(1);
    index.match("crop");
    expect(() => match.hits(0, 1)).toThrow(/newer match/);
  });

  it("expands only the last word, from three letters, capped at the most frequent terms", () => {
    const index = createLexicalIndex();
    for (let i = 0; i < MAX_PREFIX_EXPANSIONS + 50; i++)
      index.upsert(doc(`d${i}`, { summary: `zzz${String(i).padStart(4, "0")}` }));
    index.upsert(doc("common-1", { summary: "zzzcommon" }));
    index.upsert(doc("common-2", { summary: "zzzcommon" }));
    const hits = index.search("zzz", { limit: 1000 });
    expect(hits.length).toBe(MAX_PREFIX_EXPANSIONS + 1);
    expect(hits.map((h) => h.id)).toContain("common-1");
    expect(index.search("zz")).toEqual([]);
    // An earlier word is complete: "zzzcommon" matches "zzzcommon", not its prefix "zzz".
    expect(index.search("zzz zzzcommon", { limit: 1000 }).length).toBe(2);
    expect(index.search("zzzcommon zzz", { limit: 1000 }).length).toBe(MAX_PREFIX_EXPANSIONS + 1);
  });
});
