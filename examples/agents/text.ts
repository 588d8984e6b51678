import { wordsOf } from "../../src/workflow/index.ts";

/**
 * Text helpers shared by the example agents: sentence and word splitting, stop words.
 * Deterministic; words are split as the workflow chunker counts them.
 */

const STOP = new Set(
  (
    "a an and are as at be been but by can could did do does for from had has have he her his how i if in " +
    "into is it its just me more most my no not of on or our out over she so some such than that the their " +
    "them then there these they this those to too up us very was we were what when where which while who " +
    "why will with would you your also about after again all any because before being between both each " +
    "few further here once only other own same should through under until off down above below"
  ).split(" "),
);

/** Lower-case words of two or more letters (digits kept inside words). */
export function words(text: string): string[] {
  return wordsOf(text.toLowerCase());
}

/** True for words that carry little meaning on their own. */
export function isStopWord(word: string): boolean {
  return STOP.has(word) || word.length < 3;
}

/** Sentences: split after . ! ? followed by space and a capital or digit, and at blank lines. */
export function sentences(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .flatMap((para) => para.replace(/\s+/g, " ").split(/(?<=[.!?])\s+(?=[\p{Lu}\p{N}"'(])/u))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export { estimateTokens } from "../../src/workflow/index.ts";
