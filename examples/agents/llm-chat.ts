import type { Agent } from "../../src/sdk/index.ts";
import { taskError } from "../../src/sdk/index.ts";

/** Where the OpenAI-compatible chat endpoint is (Ollama, vLLM, llama.cpp server, OpenAI). */
export interface LlmOptions {
  /** API base, e.g. http://127.0.0.1:11434/v1 */
  url: string;
  model: string;
  apiKey?: string | undefined;
  fetch?: typeof fetch;
}

/**
 * A language-model agent: `llm.chat` sends the prompt to an OpenAI-compatible
 * `/chat/completions` endpoint and reports the tokens it used. Parameters: `temperature`,
 * `system` and `promptSuffix` (a workflow varies them between attempts).
 */
export function llmChat(agent: Agent, options: LlmOptions): Agent {
  const doFetch = options.fetch ?? fetch;
  agent.capability(
    {
      name: "llm.chat",
      description:
        "Language model chat: answers a prompt or question in natural language, drafts, rewrites and reasons over text.",
      input: {
        type: "object",
        properties: { prompt: { type: "string", minLength: 1 }, system: { type: "string" } },
        required: ["prompt"],
        additionalProperties: false,
      },
      output: { type: "object", required: ["text"] },
      maxConcurrency: 4,
      contextLimit: 8000,
    },
    async (input: { prompt: string; system?: string }, ctx) => {
      const params = ctx.params as { temperature?: number; system?: string; promptSuffix?: string };
      const system = input.system ?? params.system;
      const res = await doFetch(`${options.url.replace(/\/+$/, "")}/chat/completions`, {
        method: "POST",
        signal: ctx.signal,
        headers: {
          "content-type": "application/json",
          ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
        },
        body: JSON.stringify({
          model: options.model,
          temperature: params.temperature ?? 0.2,
          messages: [
            ...(system ? [{ role: "system", content: system }] : []),
            { role: "user", content: input.prompt + (params.promptSuffix ?? "") },
          ],
        }),
      });
      if (!res.ok) {
        const body = (await res.text()).slice(0, 300);
        // Overload and server errors pass; a refused request will not pass by retrying.
        throw taskError(`HTTP_${res.status}`, `chat endpoint answered ${res.status}: ${body}`, {
          retryable: res.status === 429 || res.status >= 500,
        });
      }
      const data = (await res.json()) as {
        choices?: Array<{ message?: { content?: string } }>;
        usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number };
      };
      const text = data.choices?.[0]?.message?.content;
      if (typeof text !== "string")
        throw taskError("BAD_RESPONSE", "chat endpoint returned no message", { retryable: true });
      ctx.reportUsage({
        promptTokens: data.usage?.prompt_tokens ?? 0,
        completionTokens: data.usage?.completion_tokens ?? 0,
        ...(data.usage?.total_tokens !== undefined ? { tokens: data.usage.total_tokens } : {}),
      });
      return { text, model: options.model };
    },
  );
  return agent;
}
