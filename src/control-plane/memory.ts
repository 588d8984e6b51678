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
/**
 * A live key as stored: its value's JSON, serialised once on write. Values are copied in and
 * out as a networked store would (no caller shares an object with the store), and the journal
 * line reuses the same text.
 */
interface Stored {
  key: string;
  json: string;
  revision: number;
}
const toJson = (value: unknown) => JSON.stringify(value === undefined ? null : value);
const entryOf = <T>(s: Stored): KvEntry<T> => ({
  key: s.key,
  value: JSON.parse(s.json) as T,
  revision: s.revision,
  operation: "put",
});

/** The journal holds run inputs and secrets: owner-only whatever the umask. */
const PRIVATE = 0o600;

/** One process per journal: a second one would interleave writes. A dead holder's lock is taken over. */
function lockJournal(file: string): void {
  const lock = `${file}.lock`;
  for (let tries = 0; tries < 2; tries++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: "wx", mode: PRIVATE });
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

/** A journal line; `json` is the value's JSON text as stored (not serialised again). */
const lineOf = (key: string, json: string, revision: number, deleted = false) =>
  deleted
    ? `{"k":${JSON.stringify(key)},"v":null,"r":${revision},"d":1}\n`
    : `{"k":${JSON.stringify(key)},"v":${json},"r":${revision}}\n`;

/** Rewrites a journal with the live entries only (and the highest revision); returns its line sizes. */
function writeCompacted(
  file: string,
  entries: Map<string, Stored>,
  revision: number,
): Map<string, number> {
  const sizes = new Map<string, number>();
  const lines: string[] = [];
  for (const e of [...entries.values()].sort((a, b) => a.revision - b.revision)) {
    const line = lineOf(e.key, e.json, e.revision);
    sizes.set(e.key, Buffer.byteLength(line));
    lines.push(line);
  }
  // The highest revision must survive compaction even when its key was deleted.
  lines.push(lineOf("_meta.revision", "null", revision, true));
  writeFileSync(`${file}.tmp`, lines.join(""), { mode: PRIVATE });
  renameSync(`${file}.tmp`, file);
  return sizes;
}

/**
 * Reads a journal into `entries` (a torn last line from a crash is skipped) and returns the
 * highest revision.
 */
function loadJournal(file: string, entries: Map<string, Stored>): number {
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
      else entries.set(rec.k, { key: rec.k, json: toJson(rec.v), revision: rec.r });
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
  const entries = new Map<string, Stored>();
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
  // Group commit: lines written in one turn of the event loop go out in one write, and a
  // change's promise resolves only once its line is written (the journal's durability as before).
  let pending: string[] = [];
  let flushing: Promise<void> | undefined;
  const flush = () => {
    flushing = undefined;
    if (pending.length === 0 || journal === undefined) return;
    const text = pending.length === 1 ? (pending[0] as string) : pending.join("");
    pending = [];
    writeSync(journal, text);
  };
  const durable = (): Promise<void> | undefined => {
    if (pending.length === 0) return undefined;
    flushing ??= Promise.resolve().then(flush);
    return flushing;
  };
  const compact = (file: string) => {
    // The compacted file is written from memory, which already holds what is pending.
    pending = [];
    if (journal !== undefined) closeSync(journal);
    sizes = writeCompacted(file, entries, revision);
    liveBytes = [...sizes.values()].reduce((a, b) => a + b, 0);
    fileBytes = liveBytes;
    journal = openSync(file, "a", PRIVATE);
  };
  if (options.file) {
    lockJournal(options.file);
    revision = loadJournal(options.file, entries);
    compact(options.file);
  }
  const write = (key: string, value: unknown, operation: KvEntry["operation"]) => {
    const json = operation === "put" ? toJson(value) : "null";
    const entry: Stored = { key, json, revision: ++revision };
    if (journal !== undefined && options.file) {
      const line = lineOf(key, json, entry.revision, operation === "delete");
      pending.push(line);
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
      if (under(key, w.prefix))
        w.push(
          operation === "put"
            ? entryOf(entry)
            : { key, value: undefined, revision: entry.revision, operation },
        );
    if (options.file && fileBytes > Math.max(compactAt, 2 * liveBytes)) compact(options.file);
    return entry.revision;
  };
  const live = (key: string) => entries.get(key);

  const kv: Kv = {
    async get<T>(key: string) {
      open();
      checkKey(key);
      const e = live(key);
      return e ? entryOf<T>(e) : undefined;
    },
    async put(key, value) {
      open();
      checkKey(key);
      const revision = write(key, value, "put");
      await durable();
      return revision;
    },
    async create(key, value) {
      open();
      checkKey(key);
      if (live(key)) throw new ClawHubError("ALREADY_EXISTS", `key ${key} exists`);
      const revision = write(key, value, "put");
      await durable();
      return revision;
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
      const revision = write(key, value, "put");
      await durable();
      return revision;
    },
    async delete(key, opts = {}) {
      open();
      checkKey(key);
      const current = live(key);
      if (opts.revision !== undefined && current?.revision !== opts.revision)
        throw new ClawHubError("CONFLICT", `key ${key} changed since revision ${opts.revision}`);
      if (current) write(key, undefined, "delete");
      await durable();
    },
    async keys(prefix = "") {
      open();
      return [...entries.keys()].filter((k) => under(k, prefix)).sort();
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
          if (under(e.key, watcher.prefix)) buffer.push(entryOf<T>(e));
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
      /** The job's JSON (a copy, as a networked queue would hold). */
      data: string;
      attempt: number;
      availableAt: number;
      token: number;
    }
    const items: Item[] = [];
    let tokens = 0;
    return {
      async push(data) {
        open();
        const item = { id: randomUUID(), data: toJson(data), attempt: 0, availableAt: 0, token: 0 };
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
          data: JSON.parse(item.data) as T,
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
    async publish(subject, data, bytes) {
      open();
      // Serialised once, when someone listens: each subscriber parses its own copy.
      let json: string | undefined;
      for (const s of [...subscriptions])
        if (subjectMatches(s.pattern, subject)) {
          json ??= toJson(data);
          const text = json;
          // Delivered asynchronously and in order, as over a network; a failing handler does
          // not stop the others.
          queueMicrotask(() => {
            if (!subscriptions.has(s)) return;
            try {
              s.handler(
                bytes
                  ? { subject, data: JSON.parse(text), bytes }
                  : { subject, data: JSON.parse(text) },
              );
            } catch {
              // A subscriber's failure is its own; the publisher and the others go on.
            }
          });
        }
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
        flush();
        closeSync(journal);
        rmSync(`${options.file}.lock`, { force: true });
      }
      closed = true;
      for (const w of [...watchers]) w.stop();
      subscriptions.clear();
    },
  };
}
