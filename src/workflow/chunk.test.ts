import { describe, expect, it } from "vitest";
import { chunk, estimateTokens } from "./chunk.ts";

/** The definition chunk() must meet, computed the slow way: every chunk re-measured whole. */
function reference(text: string, maxTokens: number, overlapTokens: number): string[] {
  const pieces: string[] = [];
  for (const para of text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)) {
    if (estimateTokens(para) <= maxTokens) pieces.push(para);
    else {
      let current = "";
      for (const unit of para
        .split(/(?<=[.!?])\s+/)
        .flatMap((u) => (estimateTokens(u) > maxTokens ? u.split(/\s+/) : [u]))) {
        const next = current ? `${current} ${unit}` : unit;
        if (current && estimateTokens(next) > maxTokens) {
          pieces.push(current);
          current = unit;
        } else current = next;
      }
      if (current) pieces.push(current);
    }
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

describe("chunk", () => {
  it("gives the chunks of its definition on varied texts", () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const word = () => ["a", "tool", "ok.", "Agents!", "x-y", "42", "naïve", "don't"][rand(8)];
    for (let round = 0; round < 200; round++) {
      const paras = Array.from({ length: 1 + rand(30) }, () =>
        Array.from({ length: 1 + rand(rand(3) === 0 ? 400 : 40) }, word).join(" "),
      );
      const text = paras.join(rand(2) ? "\n\n" : "\n \n");
      const max = 5 + rand(200);
      const overlap = rand(max);
      expect(chunk(text, max, overlap)).toEqual(reference(text, max, overlap));
    }
  });

  it("packs 20,000 one-letter paragraphs into one chunk under a huge budget", () => {
    const text = Array.from({ length: 20_000 }, () => "a").join("\n\n");
    expect(chunk(text, 1e8, 0)).toEqual([text]);
    expect(chunk(text, 100, 10).length).toBeGreaterThan(100);
  });
});
