import type { Agent } from "../../src/sdk/index.ts";

/** The decision step of the triage flow: composes the research into one Markdown brief. */
export function reporter(agent: Agent): Agent {
  agent.capability(
    {
      name: "report.compose",
      description:
        "Report writing: composes keywords, a summary and statistics into a short Markdown brief.",
      input: {
        type: "object",
        properties: {
          title: { type: "string" },
          keywords: { type: "array", items: { type: "string" } },
          summary: { type: "string" },
          stats: { type: "object" },
          sections: { type: "integer" },
        },
        required: ["title"],
      },
      output: { type: "object", required: ["markdown"] },
      maxConcurrency: 4,
    },
    (input: {
      title: string;
      keywords?: string[];
      summary?: string;
      stats?: Record<string, unknown>;
      sections?: number;
    }) => {
      const lines = [`# ${input.title}`, ""];
      if (input.keywords?.length) lines.push(`**Key terms:** ${input.keywords.join(", ")}`, "");
      if (input.summary) lines.push("## Summary", "", input.summary, "");
      if (input.stats) {
        const s = input.stats as { words?: number; sentences?: number; readingMinutes?: number };
        lines.push(
          "## Shape",
          "",
          `${s.words ?? "?"} words, ${s.sentences ?? "?"} sentences, ~${s.readingMinutes ?? "?"} min to read${input.sections ? `, ${input.sections} sections of ~200 tokens` : ""}.`,
          "",
        );
      }
      return { markdown: lines.join("\n").trim() };
    },
  );
  return agent;
}
