/**
 * Splitting text for map-reduce: by an estimate of model tokens, with overlap, at paragraph
 * boundaries (then sentences, then words for paragraphs larger than the budget).
 */

/** Words: runs of letters and digits (inner ' and - kept), or single letters. */
export function wordsOf(text: string): string[] {
  return text.match(/[\p{L}\p{N}][\p{L}\p{N}'-]*[\p{L}\p{N}]|\p{L}/gu) ?? [];
}

/** Rough token count as language models count them: ~4 characters or 0.75 words per token. */
export function estimateTokens(text: string): number {
  const words = wordsOf(text).length;
  return Math.ceil(Math.max(text.length / 4, words / 0.75));
}

/**
 * Tokens of every string in a value (a task's input): what a capability's context limit is
 * checked against, by the hub and by map.chunks when it sizes chunks.
 */
export function estimateInputTokens(value: unknown): number {
  let tokens = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") tokens += estimateTokens(v);
    else if (Array.isArray(v)) stack.push(...v);
    else if (v && typeof v === "object") stack.push(...Object.values(v));
  }
  return tokens;
}

/** Characters and words of a piece: what {@link estimateTokens} needs, summed as pieces join. */
interface Measure {
  chars: number;
  words: number;
}
const measure = (text: string): Measure => ({ chars: text.length, words: wordsOf(text).length });
const tokensOf = (m: Measure) => Math.ceil(Math.max(m.chars / 4, m.words / 0.75));

/**
 * Paragraphs are packed into chunks of at most `maxTokens`; a chunk starts with the last
 * paragraphs of the previous one up to `overlapTokens`. A paragraph larger than the budget is
 * split at sentence, then word boundaries. Linear in the text: each piece is measured once and
 * a chunk's size is kept as a running sum (joining with a blank line adds two characters and no
 * word), never re-measured whole (a 20,000-paragraph text stalled a hub for 9 s).
 */
export function chunk(text: string, maxTokens: number, overlapTokens: number): string[] {
  const pieces: Array<{ text: string; m: Measure }> = [];
  for (const para of text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = measure(para);
    if (tokensOf(m) <= maxTokens) pieces.push({ text: para, m });
    else
      for (const part of splitLong(para, maxTokens)) pieces.push({ text: part, m: measure(part) });
  }
  const chunks: string[] = [];
  let current: Array<{ text: string; m: Measure }> = [];
  let sum: Measure = { chars: 0, words: 0 };
  const joined = (a: Measure, b: Measure, parts: number): Measure => ({
    chars: a.chars + b.chars + (parts > 0 ? 2 : 0),
    words: a.words + b.words,
  });
  for (const piece of pieces) {
    if (current.length > 0 && tokensOf(joined(sum, piece.m, current.length)) > maxTokens) {
      chunks.push(current.map((p) => p.text).join("\n\n"));
      const overlap: typeof current = [];
      let kept: Measure = { chars: 0, words: 0 };
      for (let i = current.length - 1; i >= 0; i--) {
        const candidate = joined(kept, (current[i] as (typeof current)[number]).m, overlap.length);
        if (
          tokensOf(candidate) > overlapTokens ||
          tokensOf(joined(candidate, piece.m, overlap.length + 1)) > maxTokens
        )
          break;
        overlap.unshift(current[i] as (typeof current)[number]);
        kept = candidate;
      }
      current = overlap;
      sum = kept;
    }
    sum = joined(sum, piece.m, current.length);
    current.push(piece);
  }
  if (current.length > 0) chunks.push(current.map((p) => p.text).join("\n\n"));
  return chunks;
}

function splitLong(para: string, maxTokens: number): string[] {
  const units = para.split(/(?<=[.!?])\s+/);
  const out: string[] = [];
  let current: string[] = [];
  let sum: Measure = { chars: 0, words: 0 };
  for (const unit of units.flatMap((u) =>
    tokensOf(measure(u)) > maxTokens ? u.split(/\s+/) : [u],
  )) {
    const m = measure(unit);
    // Units join with one space: one more character, no word.
    const next = {
      chars: sum.chars + m.chars + (current.length > 0 ? 1 : 0),
      words: sum.words + m.words,
    };
    if (current.length > 0 && tokensOf(next) > maxTokens) {
      out.push(current.join(" "));
      current = [unit];
      sum = m;
    } else {
      current.push(unit);
      sum = next;
    }
  }
  if (current.length > 0) out.push(current.join(" "));
  return out;
}
