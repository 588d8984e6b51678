import { ClawHubError } from "../errors/index.ts";

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};
const SIZE = /^(\d{1,15}(?:\.\d{1,6})?) ?([kmg]i?b|b)?$/i;

/** A size in bytes: `512`, `64KiB`, `256MiB`, `1GB` (SI and binary units). */
export function parseBytes(value: unknown, what = "size"): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return Math.floor(value);
  const m = SIZE.exec(String(value).trim());
  if (!m)
    throw new ClawHubError(
      "INVALID_ARGUMENT",
      `${what}: ${JSON.stringify(String(value).slice(0, 40))} is not a size`,
      { hint: "Sizes look like 512, 64KiB, 256MiB or 1GB." },
    );
  return Math.floor(Number(m[1]) * (UNITS[(m[2] ?? "").toLowerCase()] as number));
}
