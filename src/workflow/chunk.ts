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
 * Paragraphs are packed into chunks of at most `maxTokens`; a chunk starts with the last
 * paragraphs of the previous one up to `overlapTokens`. A paragraph larger than the budget is
 * split at sentence, then word boundaries.
 */
export function chunk(text: string, maxTokens: number, overlapTokens: number): string[] {
  const pieces: string[] = [];
  for (const para of text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)) {
    if (estimateTokens(para) <= maxTokens) pieces.push(para);
    else pieces.push(...splitLong(para, maxTokens));
  }
  const chunks: string[] = [];
  let current: string[] = [];
  const size = (parts: string[]) => estimateTokens(parts.join("\n\n"));
  for (const piece of pieces) {
    if (current.length > 0 && size([...current, piece]) > maxTokens) {
      chunks.push(current.join("\n\n"));
      const overlap: string[] = [];
      for (let i = current.length - 1; i >= 0; i--) {
        const candidate = [current[i] as string, ...overlap];
        if (size(candidate) > overlapTokens || size([...candidate, piece]) > maxTokens) break;
        overlap.unshift(current[i] as string);
      }
      current = overlap;
    }
    current.push(piece);
  }
  if (current.length > 0) chunks.push(current.join("\n\n"));
  return chunks;
}

function splitLong(para: string, maxTokens: number): string[] {
  const units = para.split(/(?<=[.!?])\s+/);
  const out: string[] = [];
  let current = "";
  for (const unit of units.flatMap((u) => (estimateTokens(u) > maxTokens ? u.split(/\s+/) : [u]))) {
    const next = current ? `${current} ${unit}` : unit;
    if (current && estimateTokens(next) > maxTokens) {
      out.push(current);
      current = unit;
    } else current = next;
  }
  if (current) out.push(current);
  return out;
}
