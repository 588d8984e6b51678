import type { Agent } from "../../src/sdk/index.ts";
import { chunk, estimateTokens } from "../../src/workflow/index.ts";

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
