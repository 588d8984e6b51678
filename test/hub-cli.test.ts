import { type ChildProcess, execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProcess } from "./helpers/process.ts";
import { OUR_BIN, type Run } from "./helpers/registry.ts";

const RUNNER = fileURLToPath(new URL("../examples/agents/run.ts", import.meta.url));
const FLOWS = fileURLToPath(new URL("../examples/flows", import.meta.url));
const README = fileURLToPath(new URL("../README.md", import.meta.url));

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
}

describe("hub through the CLI, with the example agents", () => {
  let hubAddress = "";
  let dataDir = "";
  let hub: ChildProcess;
  const agents: ChildProcess[] = [];
  let llm: Server;
  const llmRequests: Array<{
    model: string;
    temperature: number;
    messages: Array<{ content: string }>;
  }> = [];

  const cli = (args: string[]) =>
    new Promise<Run>((resolve) => {
      execFile(
        process.execPath,
        [OUR_BIN, ...args],
        {
          env: {
            ...process.env,
            CLAWHUB_HUB: hubAddress,
            // The operator's identity, stored there by the hub (mutual TLS).
            CLAWHUB_CONFIG_PATH: join(dataDir, "config", "config.json"),
            NO_COLOR: "1",
          },
          timeout: 60_000,
        },
        (error, stdout, stderr) =>
          resolve({
            code: error ? (typeof error.code === "number" ? error.code : 1) : 0,
            stdout,
            stderr,
          }),
      );
    });
  const json = async <T>(args: string[]): Promise<T> => {
    const r = await cli([...args, "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return JSON.parse(r.stdout) as T;
  };

  beforeAll(async () => {
    // A small OpenAI-compatible chat endpoint: answers with the prompt reversed.
    llm = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const parsed = JSON.parse(body) as (typeof llmRequests)[number];
        llmRequests.push(parsed);
        const prompt = parsed.messages.at(-1)?.content ?? "";
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            choices: [{ message: { role: "assistant", content: [...prompt].reverse().join("") } }],
            usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
          }),
        );
      });
    });
    await new Promise<void>((r) => llm.listen(0, "127.0.0.1", r));
    const llmUrl = `http://127.0.0.1:${(llm.address() as AddressInfo).port}/v1`;

    dataDir = await mkdtemp(join(tmpdir(), "clawhub-hub-cli-"));
    // A secured hub: the CLI runs as its operator, each example agent enrolls with its own token.
    const started = await startProcess(
      [OUR_BIN, "hub", "--tls", "--port", "0", "--json", "--heartbeat", "200", "--data", dataDir],
      /"hub":"([^"]+)"/,
      { CLAWHUB_CONFIG_PATH: join(dataDir, "config", "config.json") },
    );
    hub = started.child;
    hubAddress = started.match[1] as string;
    for (const names of [
      ["text-stats", "summarizer"],
      ["chunker", "llm", "reporter"],
    ]) {
      const a = await startProcess(
        [RUNNER, ...names, "--hub", hubAddress, "--tokens", await tokensFor(names)],
        /ready/,
        { CLAWHUB_LLM_URL: llmUrl, CLAWHUB_LLM_MODEL: "fake-model" },
      );
      agents.push(a.child);
    }
  }, 60_000);

  /** One enrollment token per agent (`identity` names it, default the agent's name), in a file. */
  const tokensFor = async (names: string[], identity = (name: string) => name) => {
    const tokens: Record<string, string> = {};
    for (const name of names)
      tokens[name] = (
        await json<{ token: string }>(["hub", "enroll", identity(name), "--kind", "agent"])
      ).token;
    const file = join(dataDir, `tokens-${names.join("-")}-${identity("x")}.json`);
    await writeFile(file, JSON.stringify(tokens), { mode: 0o600 });
    return file;
  };

  afterAll(async () => {
    for (const child of [...agents, hub]) child?.kill("SIGKILL");
    llm?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("lists the connected agents and their capabilities", async () => {
    const list = await json<Array<{ name: string; capabilities: Array<{ name: string }> }>>([
      "agents",
    ]);
    expect(list.map((a) => a.name).sort()).toEqual([
      "chunker",
      "llm",
      "reporter",
      "summarizer",
      "text-stats",
    ]);
    const text = await cli(["agents"]);
    expect(text.stdout).toMatch(/NAME\s+ID\s+CAPABILITIES/);
    expect(text.stdout).toContain("text.stats,text.keywords");
  });

  it("discovers capabilities by meaning with the bundled model", async () => {
    const top = async (need: string) =>
      (await json<Array<{ name: string; similarity: number }>>(["discover", need]))[0]?.name;
    expect(await top("condense a long article into a few key sentences")).toBe("text.summarize");
    expect(await top("break a big file into smaller pieces for retrieval")).toBe("doc.chunk");
    expect(await top("ask a language model a question")).toBe("llm.chat");
    expect(await top("how many words are in my essay")).toBe("text.stats");
  }, 60_000);

  it("calls by name and by query, and prints the output", async () => {
    const stats = await json<{ output: { words: number; sentences: number }; capability: string }>([
      "call",
      "text.stats",
      "--input",
      JSON.stringify({ text: "One two three. Four five!" }),
    ]);
    expect(stats.output).toMatchObject({ words: 5, sentences: 2 });
    const byQuery = await json<{ capability: string; output: { summary: string } }>([
      "call",
      "--query",
      "summarise this document",
      "--input",
      JSON.stringify({
        text: "Cats sleep a lot. Cats purr. Dogs bark at cats. Birds sing.",
        sentences: 1,
      }),
    ]);
    expect(byQuery.capability).toBe("text.summarize");
    expect(byQuery.output.summary).toContain("Cats");
    const plain = await cli(["call", "doc.chunk", "--input", JSON.stringify({ text: "a\n\nb" })]);
    expect(plain.code).toBe(0);
    expect(JSON.parse(plain.stdout)).toEqual({ chunks: [{ index: 0, text: "a\n\nb", tokens: 3 }] });
  }, 60_000);

  it("refuses schema-invalid input with exit code 1 and every error", async () => {
    const r = await cli(["call", "text.stats", "--input", '{"txt":"x"}', "--json"]);
    expect(r.code).toBe(1);
    const body = JSON.parse(r.stdout) as {
      error: { code: string; details: { errors: unknown[] } };
    };
    expect(body.error.code).toBe("SCHEMA_INVALID");
    expect(body.error.details.errors).toHaveLength(2);
    const usage = await cli(["call", "--input", "{}"]);
    expect(usage.code).toBe(2);
  });

  it("runs the language-model agent against an OpenAI-compatible endpoint, with parameters and usage", async () => {
    const r = await json<{
      output: { text: string; model: string };
      usage: { totalTokens: number };
    }>([
      "call",
      "llm.chat",
      "--input",
      JSON.stringify({ prompt: "hello" }),
      "--param",
      "temperature=0.7",
      "--param",
      "promptSuffix=!",
    ]);
    expect(r.output).toEqual({ text: "!olleh", model: "fake-model" });
    expect(r.usage.totalTokens).toBe(18);
    expect(llmRequests.at(-1)).toMatchObject({ model: "fake-model", temperature: 0.7 });
  });

  it("drains an agent process on SIGTERM", async () => {
    const extra = await startProcess(
      [
        RUNNER,
        "text-stats",
        "--hub",
        hubAddress,
        "--id-prefix",
        "extra",
        "--tokens",
        await tokensFor(["text-stats"], (name) => `extra-${name}`),
      ],
      /ready/,
    );
    await expect.poll(async () => (await json<unknown[]>(["agents"])).length).toBe(6);
    extra.child.kill("SIGTERM");
    expect(await exited(extra.child)).toBe(0);
    await expect.poll(async () => (await json<unknown[]>(["agents"])).length).toBe(5);
  });

  it("validates and draws the example workflows", async () => {
    for (const flow of ["triage", "map-reduce", "flaky"]) {
      const r = await cli(["flow", "validate", join(FLOWS, `${flow}.yaml`)]);
      expect(r.code, r.stderr).toBe(0);
    }
    const live = await cli(["flow", "validate", join(FLOWS, "triage.yaml"), "--live"]);
    expect(live.stdout).toContain("checked against the hub");
    const mermaid = await cli(["flow", "graph", join(FLOWS, "triage.yaml")]);
    expect(mermaid.stdout).toContain("triage --> summary");
    const dot = await cli(["flow", "graph", join(FLOWS, "triage.yaml"), "--format", "dot"]);
    expect(dot.stdout).toContain('"summary" -> "decide";');
    const cyclic = join(dataDir, "cyclic.yaml");
    await writeFile(
      cyclic,
      "name: loop\nnodes:\n  - {id: a, capability: x, needs: [b]}\n  - {id: b, capability: x, needs: [a]}\n",
    );
    const bad = await cli(["flow", "validate", cyclic]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("cycle: a -> b -> a");
  });

  it("runs the triage workflow on the example agents and lists the run", async () => {
    const r = await cli([
      "run",
      join(FLOWS, "triage.yaml"),
      "--input",
      `text=@${README}`,
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout) as {
      runId: string;
      status: string;
      outputs: { report: string };
      nodes: Array<{ status: string }>;
    };
    expect(view.status).toBe("succeeded");
    expect(view.outputs.report).toMatch(/^# Brief\n\n\*\*Key terms:\*\* clawhub/);
    expect(view.nodes.every((n) => n.status === "succeeded")).toBe(true);
    const runs = await json<Array<{ runId: string }>>(["runs", "list"]);
    expect(runs.map((x) => x.runId)).toContain(view.runId);
    const shown = await cli(["runs", "show", view.runId]);
    expect(shown.stdout).toContain("(triage): succeeded");
    // A unique prefix of the id names the run too; a prefix nothing matches is "not found".
    const byPrefix = await cli(["runs", "show", view.runId.slice(0, 8)]);
    expect(byPrefix.code, byPrefix.stderr).toBe(0);
    expect(byPrefix.stdout).toContain(view.runId);
    const none = await cli(["runs", "show", "zzzzzzzz"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("no run zzzzzzzz");
    // In a pipe (no terminal): each node's transition once, as it happens, no redraws.
    const piped = await cli(["run", join(FLOWS, "triage.yaml"), "--input", `text=@${README}`]);
    expect(piped.code, piped.stderr).toBe(0);
    const nodeLines = piped.stderr.split("\n").filter((l) => /^ {2}\S /.test(l));
    const ids = nodeLines.map((l) => l.trim().split(/\s+/)[1]);
    expect(ids.length).toBeGreaterThan(3);
    expect(new Set(ids).size).toBe(ids.length);
    expect(nodeLines.every((l) => !l.includes(" running"))).toBe(true);
    const missing = await cli(["run", join(FLOWS, "triage.yaml")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("must have required property 'text'");
  });
});
