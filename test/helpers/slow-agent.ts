/**
 * A child-process agent for tests: `slow.echo` waits `input.ms` and then reports who served
 * which attempt. Usage: node test/helpers/slow-agent.ts <hub> <agent-id>
 */
import { createAgent } from "../../src/sdk/index.ts";

const [hub = "", id = ""] = process.argv.slice(2);
const agent = createAgent({ hub, id, name: id, reconnect: { initialMs: 50, maxMs: 200 } });
agent.capability(
  { name: "slow.echo", description: "waits, then echoes", maxConcurrency: 4 },
  async (input: { ms: number; value: unknown }, ctx) => {
    await new Promise((resolve) => setTimeout(resolve, input.ms));
    return {
      value: input.value,
      agentId: ctx.agentId,
      attempt: ctx.attempt,
      key: ctx.idempotencyKey,
    };
  },
);
await agent.start();
process.stdout.write("ready\n");
