import type { Agent } from "../../src/sdk/index.ts";
import { estimateTokens } from "./text.ts";

/** A document chunker: fixed token budgets with overlap, cut at paragraph boundaries. */
export function chunker(agent: Agent): Agent {
  agent.capability(
    {
      name: "doc.chunk",
      description:
        "Document chunking: splits a long document into overlapping chunks of a token budget at paragraph boundaries, for retrieval or map-reduce.",
      input: {
        type: "object",
        properties: {
          text: { type: "string" },
          maxTokens: { type: "integer", minimum: 16 },
          overlapTokens: { type: "integer", minimum: 0 },
        },
        required: ["text"],
        additionalProperties: false,
      },
      output: { type: "object", required: ["chunks"] },
      maxConcurrency: 8,
    },
    (input: { text: string; maxTokens?: number; overlapTokens?: number }) => {
      const chunks = chunk(input.text, input.maxTokens ?? 512, input.overlapTokens ?? 64);
      return {
        chunks: chunks.map((text, index) => ({ index, text, tokens: estimateTokens(text) })),
      };
    },
  );
  return agent;
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
