/**
 * A child-process agent for the resume test: every task start is appended to a log file as
 * `<capability> <idempotency key> <attempt> <input n>`. Usage:
 * node counting-agent.ts <hub> <log-file> [<enrollment token for "counting">]
 */
import { appendFileSync } from "node:fs";
import { createAgent } from "../../src/sdk/index.ts";

const [hub = "", log = "", enrollToken] = process.argv.slice(2);
const agent = createAgent({
  hub,
  ...(enrollToken ? { enrollToken } : {}),
  id: "counting",
  name: "counting",
  reconnect: { initialMs: 50, maxMs: 300 },
});
const record = (capability: string, key: string, attempt: number, n: number) =>
  appendFileSync(log, `${capability} ${key} ${attempt} ${n}\n`);
agent.capability(
  { name: "step.fast", description: "a quick step" },
  (input: { n: number }, ctx) => {
    record("step.fast", ctx.idempotencyKey, ctx.attempt, input.n);
    return { n: input.n + 1 };
  },
);
agent.capability(
  { name: "step.slow", description: "a slow step" },
  async (input: { n: number; ms: number }, ctx) => {
    record("step.slow", ctx.idempotencyKey, ctx.attempt, input.n);
    await new Promise((resolve) => setTimeout(resolve, input.ms));
    return { n: input.n * 10 };
  },
);
await agent.start();
process.stdout.write("ready\n");
