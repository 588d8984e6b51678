import type { Agent } from "../../src/sdk/index.ts";
import { estimateTokens, isStopWord, sentences, words } from "./text.ts";

const textInput = {
  type: "object",
  properties: {
    text: { type: "string", minLength: 1 },
    limit: { type: "integer", minimum: 1, maximum: 100 },
  },
  required: ["text"],
  additionalProperties: false,
};

/** Counts and keyword extraction: what a triage step needs to know about a text. */
export function textStats(agent: Agent): Agent {
  agent.capability(
    {
      name: "text.stats",
      description:
        "Text statistics: counts words, sentences, paragraphs and characters, estimates tokens and reading time.",
      input: textInput,
      output: {
        type: "object",
        required: ["words", "sentences", "paragraphs", "characters", "tokens", "readingMinutes"],
      },
      maxConcurrency: 8,
    },
    (input: { text: string }) => {
      const w = words(input.text);
      return {
        words: w.length,
        uniqueWords: new Set(w).size,
        sentences: sentences(input.text).length,
        paragraphs: input.text.split(/\n\s*\n/).filter((p) => p.trim()).length,
        characters: input.text.length,
        tokens: estimateTokens(input.text),
        // 230 words a minute: an adult's silent reading speed for non-fiction.
        readingMinutes: Math.round((w.length / 230) * 10) / 10,
      };
    },
  );
  agent.capability(
    {
      name: "text.keywords",
      description:
        "Keyword extraction: finds the most important words and two-word phrases of a text, ranked by frequency.",
      input: textInput,
      output: { type: "object", required: ["keywords"] },
      maxConcurrency: 8,
    },
    (input: { text: string; limit?: number }) => ({
      keywords: keywords(input.text, input.limit ?? 10),
    }),
  );
  return agent;
}

/** Words and adjacent pairs without stop words, scored by count (pairs weigh 1.5x). */
export function keywords(text: string, limit: number): Array<{ term: string; score: number }> {
  const scores = new Map<string, number>();
  for (const sentence of sentences(text)) {
    const w = words(sentence);
    for (let i = 0; i < w.length; i++) {
      const a = w[i] as string;
      if (isStopWord(a)) continue;
      scores.set(a, (scores.get(a) ?? 0) + 1);
      const b = w[i + 1];
      if (b && !isStopWord(b)) scores.set(`${a} ${b}`, (scores.get(`${a} ${b}`) ?? 0) + 1.5);
    }
  }
  return [...scores]
    .filter(([term, score]) => !term.includes(" ") || score >= 3)
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))
    .slice(0, limit)
    .map(([term, score]) => ({ term, score }));
}
