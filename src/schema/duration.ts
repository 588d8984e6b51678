import { ClawHubError } from "../errors/index.ts";

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d{1,12}(?:\.\d{1,6})?) ?(ms|s|m|h|d)?$/;

/**
 * The one duration syntax, for CLI flags and workflow files alike: `500ms`, `30s`, `2m`, `1h`,
 * `7d` (a space before the unit is allowed), or a whole number of milliseconds. Returns
 * undefined for an absent value and throws INVALID_ARGUMENT naming `what` for a malformed one.
 */
export function parseDuration(value: unknown, what = "duration"): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number") {
    if (Number.isFinite(value) && value >= 0) return Math.round(value);
  } else {
    const m = DURATION.exec(String(value).trim());
    if (m) return Math.round(Number(m[1]) * UNITS[(m[2] ?? "ms") as keyof typeof UNITS]);
  }
  throw new ClawHubError(
    "INVALID_ARGUMENT",
    `${what}: ${JSON.stringify(String(value).slice(0, 40))} is not a duration`,
    { hint: "Durations look like 500ms, 30s, 2m, 1h or 7d (or a number of milliseconds)." },
  );
}
