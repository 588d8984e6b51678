import { ClawHubError, toClawHubError } from "../errors/index.ts";

/**
 * Runs `fn` over items with at most `limit` at once. Every item runs even when others fail:
 * successes are recorded (the caller writes the lockfile), then failures are reported together,
 * so a batch never leaves installed files without their lock entries.
 */
export async function pool<T, R>(
  items: T[],
  limit: number,
  label: (item: T) => string,
  fn: (item: T) => Promise<R>,
): Promise<{ ok: R[]; failed: Array<{ item: string; error: ClawHubError }> }> {
  // Results keep the input order, whatever order the parallel work finishes in.
  const results: Array<{ ok: R } | { failed: { item: string; error: ClawHubError } }> = new Array(
    items.length,
  );
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        const item = items[i] as T;
        try {
          results[i] = { ok: await fn(item) };
        } catch (error) {
          results[i] = { failed: { item: label(item), error: toClawHubError(error) } };
        }
      }
    }),
  );
  return {
    ok: results.flatMap((r) => ("ok" in r ? [r.ok] : [])),
    failed: results.flatMap((r) => ("failed" in r ? [r.failed] : [])),
  };
}

/** Throws the failures of a batch (after its successes were written), or returns the successes. */
export function settle<R>(
  result: { ok: R[]; failed: Array<{ item: string; error: ClawHubError }> },
  verb: string,
): R[] {
  const first = result.failed[0];
  if (!first) return result.ok;
  if (result.failed.length === 1 && result.ok.length === 0) throw first.error;
  const lines = result.failed.map((f) => `${f.item}: ${f.error.message}`);
  throw new ClawHubError(
    first.error.code,
    `${result.ok.length} ${verb}, ${result.failed.length} failed:\n  ${lines.join("\n  ")}`,
    {
      ...(first.error.hint ? { hint: first.error.hint } : {}),
      details: {
        succeeded: result.ok,
        failed: result.failed.map((f) => ({
          item: f.item,
          code: f.error.code,
          message: f.error.message,
        })),
      },
    },
  );
}
