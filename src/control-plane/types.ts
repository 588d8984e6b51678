/**
 * The control plane's contract: what the hub keeps outside any one process. Shaped after NATS
 * JetStream (KV buckets with revisions, subjects with `*` and `>` wildcards, work-queue streams),
 * so the in-memory implementation and a JetStream one pass the same conformance suite.
 */

/**
 * Keys are dot-separated tokens of `[A-Za-z0-9_=/-]` (the NATS KV key alphabet, without the
 * dots at either end): `agents.a1`, `locks.doc/42`.
 */
export const KEY_PATTERN = /^[A-Za-z0-9_=/-]+(\.[A-Za-z0-9_=/-]+)*$/;

/** One revision of a key. Revisions increase across the whole store, never per key. */
export interface KvEntry<T = unknown> {
  key: string;
  /** The value; undefined for a deletion. */
  value: T | undefined;
  revision: number;
  operation: "put" | "delete";
}

/** A live stream of changes; `stop()` ends the iteration. */
export interface KvWatch<T = unknown> extends AsyncIterable<KvEntry<T>> {
  stop(): void;
}

/** Key-value store with revisions, compare-and-set and watch. Values are JSON. */
export interface Kv {
  /** The current entry, or undefined when the key is absent or deleted. */
  get<T = unknown>(key: string): Promise<KvEntry<T> | undefined>;
  /** Writes unconditionally; returns the new revision. */
  put(key: string, value: unknown): Promise<number>;
  /** Writes only if the key is absent (or deleted); ALREADY_EXISTS otherwise. */
  create(key: string, value: unknown): Promise<number>;
  /** Writes only if the key's current revision is `revision`; CONFLICT otherwise. */
  update(key: string, value: unknown, revision: number): Promise<number>;
  /** Deletes; with `revision`, only if it is still current (CONFLICT otherwise). */
  delete(key: string, options?: { revision?: number }): Promise<void>;
  /** Live keys under a prefix (`agents.` or an exact key), sorted. */
  keys(prefix?: string): Promise<string[]>;
  /**
   * Changes of keys under `prefix`, in revision order. With `initial: true` the current entries
   * come first, then live changes, with no gap between them.
   */
  watch<T = unknown>(options?: { prefix?: string; initial?: boolean }): KvWatch<T>;
}

/** A message on a subject. */
export interface Message<T = unknown> {
  subject: string;
  data: T;
  /**
   * Opaque bytes published with it, as they were: large payloads travel beside the JSON, not
   * inside it. Read-only (an in-process plane hands every subscriber the same buffer).
   */
  bytes?: Uint8Array;
}

/** A subscription; `unsubscribe()` stops delivery. */
export interface Subscription {
  unsubscribe(): void;
}

/** One job pulled from a work queue: at-least-once, so handlers must be idempotent. */
export interface Job<T = unknown> {
  id: string;
  data: T;
  /** 1 on first delivery, then 2, 3... on redeliveries. */
  attempt: number;
  /** Done: the job is removed. */
  ack(): Promise<void>;
  /** Not done: redeliver after `delayMs` (default at once). */
  nak(delayMs?: number): Promise<void>;
}

/** A work queue: each job goes to one puller; unacknowledged jobs come back after `ackWaitMs`. */
export interface WorkQueue<T = unknown> {
  push(data: T): Promise<string>;
  /** The next available job, or undefined when none is. */
  pull(options?: { ackWaitMs?: number }): Promise<Job<T> | undefined>;
  /** Jobs not yet acknowledged (waiting or in flight). */
  size(): Promise<number>;
}

/** A held lock. `token` is a fencing token: it only grows from one holder to the next. */
export interface Lease {
  resource: string;
  owner: string;
  token: number;
  expiresAt: number;
  /** Extends the lease; CONFLICT if it was lost (expired and taken, or released). */
  renew(ttlMs?: number): Promise<void>;
  /** Releases the lease if still held; a no-op otherwise. */
  release(): Promise<void>;
}

/** Options of a lock acquisition. */
export interface AcquireOptions {
  owner: string;
  ttlMs: number;
  /** How long to wait for a held lock; 0 (default) fails at once with CONFLICT. */
  waitMs?: number;
}

/** Leases and locks with fencing tokens. */
export interface Locks {
  acquire(resource: string, options: AcquireOptions): Promise<Lease>;
  /** The current holder, if the lock is held and not expired. */
  holder(
    resource: string,
  ): Promise<{ owner: string; token: number; expiresAt: number } | undefined>;
}

/** The control plane: KV, locks, publish/subscribe and work queues. */
export interface ControlPlane {
  readonly kv: Kv;
  readonly locks: Locks;
  /**
   * Publishes to every subscription whose pattern matches the subject: `data` as JSON, and
   * `bytes`, when given, as they are (a NATS message's payload; never base64 in JSON).
   */
  publish(subject: string, data: unknown, bytes?: Uint8Array): Promise<void>;
  /** Subjects are dot-separated; `*` matches one token, a final `>` one or more. */
  subscribe<T = unknown>(pattern: string, handler: (message: Message<T>) => void): Subscription;
  queue<T = unknown>(name: string): WorkQueue<T>;
  close(): Promise<void>;
}
