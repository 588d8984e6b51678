import type { Agent } from "../../src/sdk/index.ts";
import { isStopWord, sentences, words } from "./text.ts";

/** Largest input in tokens: beyond it a workflow splits the document (map-reduce). */
export const SUMMARIZER_CONTEXT_LIMIT = 2000;

/** An extractive summariser: the most representative sentences, in their original order. */
export function summarizer(agent: Agent): Agent {
  agent.capability(
    {
      name: "text.summarize",
      description:
        "Extractive summarisation: condenses a document to its most informative sentences, kept in their original order.",
      input: {
        type: "object",
        properties: {
          text: { type: "string", minLength: 1 },
          sentences: { type: "integer", minimum: 1, maximum: 50 },
          focus: { type: "array", items: { type: "string" } },
        },
        required: ["text"],
        additionalProperties: false,
      },
      output: { type: "object", required: ["summary", "sentences"] },
      maxConcurrency: 4,
      contextLimit: SUMMARIZER_CONTEXT_LIMIT,
    },
    (input: { text: string; sentences?: number; focus?: string[] }, ctx) => {
      const picked = summarize(input.text, input.sentences ?? 3, input.focus ?? []);
      ctx.progress(1, `${picked.length} sentences`);
      return { summary: picked.join(" "), sentences: picked };
    },
  );
  return agent;
}

/**
 * Scores each sentence by the mean document frequency of its content words (a sentence about
 * what the text is mostly about scores high), with a small bonus for the opening sentence.
 */
export function summarize(text: string, count: number, focus: string[] = []): string[] {
  const focused = new Set(focus.flatMap((f) => words(f)));
  const all = sentences(text);
  if (all.length <= count) return all;
  const freq = new Map<string, number>();
  for (const w of words(text)) if (!isStopWord(w)) freq.set(w, (freq.get(w) ?? 0) + 1);
  const scored = all.map((s, index) => {
    const content = words(s).filter((w) => !isStopWord(w));
    const mean = content.length
      ? content.reduce((a, w) => a + (freq.get(w) ?? 0), 0) / content.length
      : 0;
    // Sentences about the focus terms (a triage step's keywords) weigh 1.5x.
    const onFocus = content.some((w) => focused.has(w)) ? 1.5 : 1;
    return { s, index, score: mean * (index === 0 ? 1.2 : 1) * onFocus };
  });
  return scored
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, count)
    .sort((a, b) => a.index - b.index)
    .map((x) => x.s);
}
