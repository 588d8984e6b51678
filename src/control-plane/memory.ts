import { randomUUID } from "node:crypto";
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { ClawHubError } from "../errors/index.ts";
import { subjectMatches } from "../schema/index.ts";
import { createLocks } from "./locks.ts";
import {
  type ControlPlane,
  type Job,
  KEY_PATTERN,
  type Kv,
  type KvEntry,
  type KvWatch,
  type Message,
  type WorkQueue,
} from "./types.ts";

/** Options of {@link createMemoryControlPlane}. */
export interface MemoryControlPlaneOptions {
  now?: () => number;
  /**
   * Keep the KV (and so locks, agent records and workflow journals) in this append-only file:
   * every change is written before the call returns, so it survives the process (kill -9
   * included; not a power cut: there is no fsync per write). Compacted on every open, and
   * while running whenever the file holds more than twice its live data and at least
   * `compactAtBytes` (default 16 MiB), so deleted keys give their disk back.
   */
  file?: string | undefined;
  compactAtBytes?: number;
}

const checkKey = (key: string) => {
  if (!KEY_PATTERN.test(key))
    throw new ClawHubError(
      "INVALID_ARGUMENT",
      `invalid control-plane key: ${JSON.stringify(key)}`,
      {
        hint: "Keys are dot-separated tokens of letters, digits, _ = / and -.",
      },
    );
};
const under = (key: string, prefix: string) =>
  prefix === "" || key === prefix || key.startsWith(prefix.endsWith(".") ? prefix : `${prefix}.`);
// Values are copied in and out, as a networked store would: no caller shares an object with it.
const copy = <T>(value: T): T =>
  value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);

/** One process per journal: a second one would interleave writes. A dead holder's lock is taken over. */
function lockJournal(file: string): void {
  const lock = `${file}.lock`;
  for (let tries = 0; tries < 2; tries++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: "wx" });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const pid = Number(readFileSync(lock, "utf8"));
      let alive = false;
      try {
        if (pid > 0 && pid !== process.pid) {
          process.kill(pid, 0);
          alive = true;
        }
      } catch {
        alive = false;
      }
      if (alive)
        throw new ClawHubError(
          "CONFLICT",
          `the control-plane journal ${file} is in use by process ${pid}`,
          {
            hint: "Stop the other hub, or give this one another --data directory.",
          },
        );
      rmSync(lock, { force: true });
    }
  }
}

const lineOf = (key: string, value: unknown, revision: number, deleted = false) =>
  `${JSON.stringify({ k: key, v: value, r: revision, d: deleted ? 1 : undefined })}\n`;

/** Rewrites a journal with the live entries only (and the highest revision); returns its line sizes. */
function writeCompacted(
  file: string,
  entries: Map<string, KvEntry>,
  revision: number,
): Map<string, number> {
  const sizes = new Map<string, number>();
  const lines: string[] = [];
  for (const e of [...entries.values()].sort((a, b) => a.revision - b.revision)) {
    const line = lineOf(e.key, e.value, e.revision);
    sizes.set(e.key, Buffer.byteLength(line));
    lines.push(line);
  }
  // The highest revision must survive compaction even when its key was deleted.
  lines.push(lineOf("_meta.revision", revision, revision, true));
  writeFileSync(`${file}.tmp`, lines.join(""));
  renameSync(`${file}.tmp`, file);
  return sizes;
}

/**
 * Reads a journal into `entries` (a torn last line from a crash is skipped) and returns the
 * highest revision.
 */
function loadJournal(file: string, entries: Map<string, KvEntry>): number {
  let revision = 0;
  if (existsSync(file)) {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      if (!line) continue;
      let rec: { k: string; v: unknown; r: number; d?: number };
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        continue;
      }
      revision = Math.max(revision, rec.r);
      if (rec.d) entries.delete(rec.k);
      else entries.set(rec.k, { key: rec.k, value: rec.v, revision: rec.r, operation: "put" });
    }
  }
  return revision;
}

/**
 * The in-process control plane, the default of a single `clawhub serve`: everything in memory,
 * the same semantics as the clustered one (see the conformance suite).
 */
export function createMemoryControlPlane(options: MemoryControlPlaneOptions = {}): ControlPlane {
  const now = options.now ?? Date.now;
  let revision = 0;
  const entries = new Map<string, KvEntry>();
  const watchers = new Set<{ prefix: string; push: (e: KvEntry) => void; stop: () => void }>();
  const subscriptions = new Set<{ pattern: string; handler: (m: Message) => void }>();
  const queues = new Map<string, WorkQueue>();
  let closed = false;
  const open = () => {
    if (closed) throw new ClawHubError("INTERNAL", "the control plane is closed");
  };

  let journal: number | undefined;
  let sizes = new Map<string, number>();
  let fileBytes = 0;
  let liveBytes = 0;
  const compactAt = options.compactAtBytes ?? 16 * 1024 * 1024;
  const compact = (file: string) => {
    if (journal !== undefined) closeSync(journal);
    sizes = writeCompacted(file, entries, revision);
    liveBytes = [...sizes.values()].reduce((a, b) => a + b, 0);
    fileBytes = liveBytes;
    journal = openSync(file, "a");
  };
  if (options.file) {
    lockJournal(options.file);
    revision = loadJournal(options.file, entries);
    compact(options.file);
  }
  const write = (key: string, value: unknown, operation: KvEntry["operation"]) => {
    const entry: KvEntry = { key, value: copy(value), revision: ++revision, operation };
    if (journal !== undefined && options.file) {
      const line = lineOf(key, entry.value, entry.revision, operation === "delete");
      writeSync(journal, line);
      const bytes = Buffer.byteLength(line);
      fileBytes += bytes;
      liveBytes -= sizes.get(key) ?? 0;
      if (operation === "put") {
        sizes.set(key, bytes);
        liveBytes += bytes;
      } else sizes.delete(key);
    }
    // Deleted keys leave memory (watchers still see the deletion below).
    if (operation === "delete") entries.delete(key);
    else entries.set(key, entry);
    for (const w of watchers)
      if (under(key, w.prefix)) w.push({ ...entry, value: copy(entry.value) });
    if (options.file && fileBytes > Math.max(compactAt, 2 * liveBytes)) compact(options.file);
    return entry.revision;
  };
  const live = (key: string) => {
    const e = entries.get(key);
    return e && e.operation === "put" ? e : undefined;
  };

  const kv: Kv = {
    async get<T>(key: string) {
      open();
      checkKey(key);
      const e = live(key);
      return e ? ({ ...e, value: copy(e.value) } as KvEntry<T>) : undefined;
    },
    async put(key, value) {
      open();
      checkKey(key);
      return write(key, value, "put");
    },
    async create(key, value) {
      open();
      checkKey(key);
      if (live(key)) throw new ClawHubError("ALREADY_EXISTS", `key ${key} exists`);
      return write(key, value, "put");
    },
    async update(key, value, expected) {
      open();
      checkKey(key);
      const current = live(key)?.revision;
      if (current !== expected)
        throw new ClawHubError(
          "CONFLICT",
          `key ${key} is at revision ${current ?? "none"}, not ${expected}`,
          { details: { key, expected, current: current ?? null } },
        );
      return write(key, value, "put");
    },
    async delete(key, opts = {}) {
      open();
      checkKey(key);
      const current = live(key);
      if (opts.revision !== undefined && current?.revision !== opts.revision)
        throw new ClawHubError("CONFLICT", `key ${key} changed since revision ${opts.revision}`);
      if (current) write(key, undefined, "delete");
    },
    async keys(prefix = "") {
      open();
      return [...entries.values()]
        .filter((e) => e.operation === "put" && under(e.key, prefix))
        .map((e) => e.key)
        .sort();
    },
    watch<T>(opts: { prefix?: string; initial?: boolean } = {}): KvWatch<T> {
      open();
      const buffer: KvEntry<T>[] = [];
      let wake: (() => void) | undefined;
      let stopped = false;
      const watcher = {
        prefix: opts.prefix ?? "",
        push: (e: KvEntry) => {
          buffer.push(e as KvEntry<T>);
          wake?.();
        },
        stop: () => stop(),
      };
      if (opts.initial) {
        for (const e of [...entries.values()].sort((a, b) => a.revision - b.revision))
          if (e.operation === "put" && under(e.key, watcher.prefix))
            buffer.push({ ...(e as KvEntry<T>), value: copy(e.value as T) });
      }
      watchers.add(watcher);
      const stop = () => {
        stopped = true;
        watchers.delete(watcher);
        wake?.();
      };
      return {
        stop,
        async *[Symbol.asyncIterator]() {
          try {
            while (!stopped) {
              const next = buffer.shift();
              if (next) {
                yield next;
                continue;
              }
              await new Promise<void>((r) => {
                wake = r;
              });
              wake = undefined;
            }
          } finally {
            stop();
          }
        },
      };
    },
  };

  function createQueue<T>(): WorkQueue<T> {
    interface Item {
      id: string;
      data: T;
      attempt: number;
      availableAt: number;
      token: number;
    }
    const items: Item[] = [];
    let tokens = 0;
    return {
      async push(data) {
        open();
        const item = { id: randomUUID(), data: copy(data), attempt: 0, availableAt: 0, token: 0 };
        items.push(item);
        return item.id;
      },
      async pull(opts = {}) {
        open();
        const t = now();
        const item = items.find((i) => i.availableAt <= t);
        if (!item) return undefined;
        item.attempt++;
        item.availableAt = t + (opts.ackWaitMs ?? 30_000);
        const token = ++tokens;
        item.token = token;
        // Only the latest delivery may settle a job: a late ack of an expired one is ignored.
        const settle = (fn: () => void) => async () => {
          if (item.token === token) fn();
        };
        const job: Job<T> = {
          id: item.id,
          data: copy(item.data),
          attempt: item.attempt,
          ack: settle(() => {
            const at = items.indexOf(item);
            if (at >= 0) items.splice(at, 1);
          }),
          nak: async (delayMs = 0) =>
            settle(() => {
              item.availableAt = now() + delayMs;
              item.token = 0;
            })(),
        };
        return job;
      },
      async size() {
        return items.length;
      },
    };
  }

  return {
    kv,
    locks: createLocks(kv, { now }),
    async publish(subject, data) {
      open();
      const message = { subject, data };
      for (const s of [...subscriptions])
        if (subjectMatches(s.pattern, subject))
          // Delivered asynchronously and in order, as over a network; a failing handler does
          // not stop the others.
          queueMicrotask(() => {
            if (!subscriptions.has(s)) return;
            try {
              s.handler({ subject, data: copy(message.data) });
            } catch {
              // A subscriber's failure is its own; the publisher and the others go on.
            }
          });
    },
    subscribe<T>(pattern: string, handler: (m: Message<T>) => void) {
      open();
      const s = { pattern, handler: handler as (m: Message) => void };
      subscriptions.add(s);
      return { unsubscribe: () => subscriptions.delete(s) };
    },
    queue<T>(name: string) {
      open();
      checkKey(name);
      let q = queues.get(name);
      if (!q) {
        q = createQueue<T>() as WorkQueue;
        queues.set(name, q);
      }
      return q as WorkQueue<T>;
    },
    async close() {
      if (!closed && journal !== undefined) {
        closeSync(journal);
        rmSync(`${options.file}.lock`, { force: true });
      }
      closed = true;
      for (const w of [...watchers]) w.stop();
      subscriptions.clear();
    },
  };
}
