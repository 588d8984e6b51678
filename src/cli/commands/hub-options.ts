import type { Command } from "commander";
import { ClawHubError } from "../../errors/index.ts";
import type { HubOptions } from "../../hub/index.ts";
import { parseBytes, parseDuration } from "../../schema/index.ts";

/** A whole number flag within [min, max]; USAGE (exit 2) naming the flag and the range otherwise. */
export function intFlag(value: unknown, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ClawHubError(
      "USAGE",
      `${flag} must be a whole number from ${min} to ${max}, got "${String(value)}"`,
    );
  return n;
}

/** A flag that is one of `allowed`; USAGE (exit 2) listing them otherwise. */
export function choiceFlag<T extends string>(
  value: unknown,
  allowed: readonly T[],
  flag: string,
): T {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value))
    return value as T;
  throw new ClawHubError(
    "USAGE",
    `${flag} must be one of ${allowed.join(", ")} (got ${JSON.stringify(value)})`,
  );
}

/** A duration flag (`30s`, `7d`) within [minMs, maxMs]. */
export function durationFlag(
  value: unknown,
  flag: string,
  minMs = 1,
  maxMs = 365 * 86_400_000,
): number {
  let ms: number | undefined;
  try {
    ms = parseDuration(value, flag);
  } catch (error) {
    throw new ClawHubError("USAGE", (error as Error).message, {
      hint: "Durations look like 500ms, 30s, 2m, 1h or 7d.",
    });
  }
  if (ms === undefined || ms < minMs || ms > maxMs)
    throw new ClawHubError(
      "USAGE",
      `${flag} must be between ${minMs} ms and ${maxMs} ms, got "${String(value)}"`,
    );
  return ms;
}

/** A size flag (`256MiB`) within [min, max] bytes. */
export function bytesFlag(value: unknown, flag: string, min = 1, max = 2 ** 40): number {
  let n: number;
  try {
    n = parseBytes(value, flag);
  } catch (error) {
    throw new ClawHubError("USAGE", (error as Error).message, {
      hint: "Sizes look like 512, 64KiB, 256MiB or 1GB.",
    });
  }
  if (n < min || n > max)
    throw new ClawHubError(
      "USAGE",
      `${flag} must be between ${min} and ${max} bytes, got "${String(value)}"`,
    );
  return n;
}

/** The hub's tuning flags, shared by `clawhub hub` and `clawhub serve`. */
export function hubTuningOptions(cmd: Command): void {
  cmd.option("--queue-limit <n>", "tasks queued per agent beyond those running", "32");
  cmd.option("--heartbeat <ms>", "agent heartbeat interval (ms)", "2000");
  cmd.option(
    "--attempt-timeout <duration>",
    "an attempt with no result or progress for this long is retried elsewhere (unless the capability says)",
    "60s",
  );
  cmd.option(
    "--route-margin <similarity>",
    "calls by meaning go only to capabilities within this similarity of the best match",
    "0.05",
  );
  cmd.option(
    "--max-queued-bytes <size>",
    "input bytes the hub holds for unfinished calls, in all",
    "256MiB",
  );
  cmd.option(
    "--max-agent-queued-bytes <size>",
    "input bytes held for calls placed on one agent",
    "64MiB",
  );
  cmd.option(
    "--max-peer-buffer <size>",
    "bytes sent to one agent, caller or event stream and not yet read, before it is dropped",
    "64MiB",
  );
  cmd.option(
    "--max-event-bytes <size>",
    "largest topic event an agent may publish; larger ones are dropped and logged",
    "1MiB",
  );
  cmd.option(
    "--breaker-failures <n>",
    "consecutive failures that open a circuit (an agent's, and a workflow dependency's)",
    "5",
  );
  cmd.option("--breaker-cooldown <duration>", "how long an open circuit stays open", "10s");
  cmd.option("--retain-runs <duration>", "how long finished workflow runs are kept", "7d");
  cmd.option(
    "--max-running-runs <n>",
    "workflow runs running at once, in all and per caller (identity, or address without one)",
    "1000,100",
  );
  cmd.option(
    "--max-running-run-bytes <size>",
    "journal bytes (inputs, outputs so far) running runs hold, in all and per caller (memory: about 3.5x)",
    "256MiB,64MiB",
  );
  cmd.option(
    "--journal-max-bytes <size>",
    "journal size of finished runs beyond which the oldest are dropped",
    "256MiB",
  );
}

/** The hub options those flags say. */
export function hubTuningOf(options: Record<string, unknown>): Partial<HubOptions> {
  const margin = Number(options.routeMargin);
  if (!(String(options.routeMargin).trim() !== "" && margin >= 0 && margin <= 1))
    throw new ClawHubError(
      "USAGE",
      `--route-margin must be between 0 and 1, got "${String(options.routeMargin)}"`,
    );
  const failures = intFlag(options.breakerFailures, "--breaker-failures", 1, 1000);
  const cooldownMs = durationFlag(options.breakerCooldown, "--breaker-cooldown", 10);
  return {
    queueLimit: intFlag(options.queueLimit, "--queue-limit", 0, 100_000),
    heartbeatIntervalMs: intFlag(options.heartbeat, "--heartbeat", 50, 600_000),
    attemptTimeoutMs: durationFlag(options.attemptTimeout, "--attempt-timeout", 10),
    routeMargin: margin,
    maxQueuedBytes: bytesFlag(options.maxQueuedBytes, "--max-queued-bytes", 1024),
    maxAgentQueuedBytes: bytesFlag(options.maxAgentQueuedBytes, "--max-agent-queued-bytes", 1024),
    maxPeerBufferBytes: bytesFlag(options.maxPeerBuffer, "--max-peer-buffer", 64 * 1024),
    maxEventBytes: bytesFlag(options.maxEventBytes, "--max-event-bytes", 1024, 64 * 1024 * 1024),
    breaker: { failures, cooldownMs },
    workflows: {
      breaker: { failures, halfOpenAfterMs: cooldownMs },
      retainRunsMs: durationFlag(options.retainRuns, "--retain-runs", 0),
      maxJournalBytes: bytesFlag(options.journalMaxBytes, "--journal-max-bytes", 1024),
      limits: runLimitsOf(options),
    },
  };
}

/** `--max-running-runs ALL,PER_CALLER` and `--max-running-run-bytes ALL,PER_CALLER`. */
function runLimitsOf(options: Record<string, unknown>) {
  const pair = (value: unknown, flag: string) => {
    const parts = String(value ?? "").split(",");
    if (parts.length !== 2)
      throw new ClawHubError("USAGE", `${flag} takes two values, in all and per caller: A,B`);
    return parts as [string, string];
  };
  const [runs, runsPerCaller] = pair(options.maxRunningRuns, "--max-running-runs");
  const [bytes, bytesPerCaller] = pair(options.maxRunningRunBytes, "--max-running-run-bytes");
  return {
    maxRunning: intFlag(runs, "--max-running-runs", 1, 1_000_000),
    maxRunningPerCaller: intFlag(runsPerCaller, "--max-running-runs", 1, 1_000_000),
    maxRunningBytes: bytesFlag(bytes, "--max-running-run-bytes", 1024),
    maxRunningBytesPerCaller: bytesFlag(bytesPerCaller, "--max-running-run-bytes", 1024),
  };
}

/** Whether a listen address only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

/** `--insecure` (and the former `--tls`) of `clawhub hub` and `clawhub serve`. */
export function hubSecurityOptions(cmd: Command): void {
  cmd.option("--tls", "mutual TLS (the default; kept for scripts that pass it)");
  cmd.option(
    "--insecure",
    "plaintext for local development: any process that reaches the port is trusted (loopback only, warned on every start)",
  );
  cmd.option(
    "--audit-max-bytes <size>",
    "audit log kept on disk (segments of 8 MiB under <data>/identity/audit); the oldest go first",
    "1GiB",
  );
}

/** The audit log's byte budget (`--audit-max-bytes`). */
export function auditMaxBytesOf(options: Record<string, unknown>): number {
  return bytesFlag(options.auditMaxBytes ?? "1GiB", "--audit-max-bytes", 64 * 1024 * 1024);
}

/**
 * Whether the hub runs with mutual TLS: always, unless `--insecure` asks for plaintext, which is
 * only served on a loopback address and said on every start (`warn`).
 */
export function hubTlsOf(
  options: Record<string, unknown>,
  host: string,
  warn: (line: string) => void,
): boolean {
  if (options.tls === true && options.insecure === true)
    throw new ClawHubError("USAGE", "--tls and --insecure contradict each other");
  if (options.insecure !== true) return true;
  if (!isLoopback(host))
    throw new ClawHubError(
      "USAGE",
      `--insecure is refused on ${host}: anyone who reaches it could register agents and read calls`,
      {
        hint: "Drop --insecure (mutual TLS is the default: agents and callers enroll with `clawhub hub enroll`), or listen on 127.0.0.1.",
      },
    );
  warn(
    "hub: warning: --insecure: plaintext, every process on this machine that reaches its port is trusted as any agent or caller",
  );
  return false;
}
