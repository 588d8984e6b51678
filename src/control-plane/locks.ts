import { ClawHubError, isClawHubError } from "../errors/index.ts";
import type { AcquireOptions, Kv, Lease, Locks } from "./types.ts";

interface LockValue {
  owner: string;
  token: number;
  expiresAt: number;
}

/** Options of {@link createLocks}. */
export interface LocksOptions {
  now?: () => number;
  /** Pause between attempts while waiting for a held lock. */
  pollMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Locks over any Kv, so every control plane gets the same semantics: a lock is the key
 * `locks.<resource>`, taken by compare-and-set; its fencing token is the store revision of the
 * write that took it, so tokens only grow from one holder to the next. An expired lock may be
 * taken over; a renewal keeps the token.
 */
export function createLocks(kv: Kv, options: LocksOptions = {}): Locks {
  const now = options.now ?? Date.now;
  const pollMs = options.pollMs ?? 20;
  const keyOf = (resource: string) => `locks.${resource}`;

  async function tryTake(resource: string, opts: AcquireOptions): Promise<Lease | undefined> {
    const key = keyOf(resource);
    const current = await kv.get<LockValue>(key);
    if (current?.value && current.value.expiresAt > now()) return undefined;
    // The token is the revision of this write (token 0 in the value means "this revision"); a
    // renewal writes it out, as its own revision is newer.
    const expiresAt = now() + opts.ttlMs;
    let revision: number;
    try {
      revision = current
        ? await kv.update(key, { owner: opts.owner, token: 0, expiresAt }, current.revision)
        : await kv.create(key, { owner: opts.owner, token: 0, expiresAt });
    } catch (error) {
      if (isClawHubError(error) && (error.code === "CONFLICT" || error.code === "ALREADY_EXISTS"))
        return undefined;
      throw error;
    }
    const token = revision;
    let held = revision;
    let lease: Lease;
    const lost = () =>
      new ClawHubError("CONFLICT", `lock ${resource} is no longer held by ${opts.owner}`, {
        hint: "The lease expired and may have been taken; stop work guarded by it.",
      });
    lease = {
      resource,
      owner: opts.owner,
      token,
      expiresAt,
      async renew(ttlMs = opts.ttlMs) {
        const e = now() + ttlMs;
        try {
          held = await kv.update(key, { owner: opts.owner, token, expiresAt: e }, held);
        } catch (error) {
          if (isClawHubError(error) && error.code === "CONFLICT") throw lost();
          throw error;
        }
        lease = Object.assign(lease, { expiresAt: e });
      },
      async release() {
        try {
          await kv.delete(key, { revision: held });
        } catch (error) {
          if (!(isClawHubError(error) && error.code === "CONFLICT")) throw error;
        }
      },
    };
    return lease;
  }

  return {
    async acquire(resource, opts) {
      const deadline = now() + (opts.waitMs ?? 0);
      for (;;) {
        const lease = await tryTake(resource, opts);
        if (lease) return lease;
        if (now() >= deadline) {
          const h = await this.holder(resource);
          throw new ClawHubError(
            "CONFLICT",
            `lock ${resource} is held by ${h?.owner ?? "another owner"}`,
            {
              hint: "Retry later, or pass a longer wait.",
              details: { resource, ...(h ? { holder: h.owner, expiresAt: h.expiresAt } : {}) },
            },
          );
        }
        await sleep(Math.min(pollMs, Math.max(1, deadline - now())));
      }
    },
    async holder(resource) {
      const e = await kv.get<LockValue>(keyOf(resource));
      if (!e?.value || e.value.expiresAt <= now()) return undefined;
      return {
        owner: e.value.owner,
        token: e.value.token || e.revision,
        expiresAt: e.value.expiresAt,
      };
    },
  };
}
