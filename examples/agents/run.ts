/**
 * Starts example agents against a hub:
 *
 *   node examples/agents/run.ts [text-stats] [summarizer] [chunker] [reporter] [flaky] [llm] --hub 127.0.0.1:7070
 *
 * No names: all deterministic ones (and `llm` when CLAWHUB_LLM_URL is set). On a secured hub,
 * `--tokens <file>` names a JSON file (owner-only) of one enrollment token per agent name
 * (`clawhub hub enroll text-stats` for each): each agent enrolls as itself. The LLM agent reads
 * CLAWHUB_LLM_URL (an OpenAI-compatible API base), CLAWHUB_LLM_MODEL and CLAWHUB_LLM_KEY.
 * In your own project import from "clawhub-hub/sdk" instead of the sources.
 * Prints one line per registered agent, then "ready"; SIGTERM drains and exits.
 */
import { readFileSync } from "node:fs";
import { type Agent, createAgent } from "../../src/sdk/index.ts";
import { chunker } from "./chunker.ts";
import { flaky } from "./flaky.ts";
import { llmChat } from "./llm-chat.ts";
import { reporter } from "./reporter.ts";
import { summarizer } from "./summarizer.ts";
import { textStats } from "./text-stats.ts";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  args.splice(i, 2);
  return value;
};
const hub = flag("--hub") ?? process.env.CLAWHUB_HUB ?? "127.0.0.1:7070";
const idPrefix = flag("--id-prefix");
const tokensFile = flag("--tokens");
// Read once, then the file is no concern of this process: one-time tokens, spent on start.
const tokens: Record<string, string> = tokensFile
  ? (JSON.parse(readFileSync(tokensFile, "utf8")) as Record<string, string>)
  : {};
const labels = Object.fromEntries(
  (flag("--labels") ?? "")
    .split(",")
    .filter(Boolean)
    .map((kv) => kv.split("=") as [string, string]),
);
const llmUrl = process.env.CLAWHUB_LLM_URL;
const names =
  args.length > 0
    ? args
    : ["text-stats", "summarizer", "chunker", "reporter", "flaky", ...(llmUrl ? ["llm"] : [])];

const make = (name: string): Agent => {
  const agent = createAgent({
    hub,
    name,
    labels,
    ...(idPrefix ? { id: `${idPrefix}-${name}` } : {}),
    ...(tokens[name] ? { enrollToken: tokens[name] } : {}),
    logger: (line) => process.stderr.write(`${line}\n`),
  });
  switch (name) {
    case "text-stats":
      return textStats(agent);
    case "summarizer":
      return summarizer(agent);
    case "chunker":
      return chunker(agent);
    case "reporter":
      return reporter(agent);
    case "flaky":
      return flaky(agent);
    case "llm":
      if (!llmUrl) {
        process.stderr.write(
          "error: the llm agent needs CLAWHUB_LLM_URL (an OpenAI-compatible API base)\n",
        );
        process.exit(2);
      }
      return llmChat(agent, {
        url: llmUrl,
        model: process.env.CLAWHUB_LLM_MODEL ?? "llama3.2",
        apiKey: process.env.CLAWHUB_LLM_KEY,
      });
    default:
      process.stderr.write(
        `error: unknown example agent "${name}" (text-stats, summarizer, chunker, reporter, flaky, llm)\n`,
      );
      process.exit(2);
  }
};

const agents = names.map(make);
for (const agent of agents) {
  await agent.start();
  process.stdout.write(`registered ${agent.id}\n`);
}
process.stdout.write("ready\n");
