import type { Agent } from "../../src/sdk/index.ts";
import { taskError } from "../../src/sdk/index.ts";

/**
 * A capability behind an unreliable upstream, and its cached fallback: the flaky-dependency
 * flow shows retries, the circuit breaker opening and the fallback taking over. The upstream
 * fails its first `failures` calls (default 6), then recovers.
 */
export function flaky(agent: Agent, options: { failures?: number } = {}): Agent {
  let calls = 0;
  const failures = options.failures ?? 6;
  const input = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
  agent.capability(
    {
      name: "weather.live",
      description: "Current weather for a city from a live upstream service.",
      input,
      maxConcurrency: 4,
    },
    (req: { city: string }) => {
      calls++;
      if (calls <= failures)
        throw taskError("UPSTREAM_TIMEOUT", `weather upstream timed out (call ${calls})`, {
          retryable: true,
        });
      return { city: req.city, tempC: 14 + (req.city.length % 9), source: "live" };
    },
  );
  agent.capability(
    {
      name: "weather.cached",
      description: "Last known weather for a city from a local cache.",
      input,
      maxConcurrency: 8,
    },
    (req: { city: string }) => ({
      city: req.city,
      tempC: 12 + (req.city.length % 7),
      source: "cache",
    }),
  );
  return agent;
}
