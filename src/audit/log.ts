/**
 * A tamper-evident audit log: append-only entries, each carrying the sha256 of the one before
 * (over its RFC 8785 canonical JSON), and signed checkpoints of the chain head (Ed25519 by the
 * hub's key) written periodically and on close. Exported as JSON lines; `verifyAuditLog` names
 * the first entry that was edited, deleted, reordered, forged, or where the export was cut.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import canonicalize from "canonicalize";
import { ClawHubError } from "../errors/index.ts";

/** One decision that matters: who did what to which capability, with digests of the data. */
export interface AuditEvent {
  kind: string;
  /** The identity that acted (a SPIFFE URI), when there is one. */
  actor?: string;
  /** On whose behalf (the original caller of a delegated call). */
  onBehalfOf?: string;
  capability?: string;
  /** sha256 of the input and output, never the data itself (it may be secret). */
  inputDigest?: string;
  outputDigest?: string;
  /** accepted, refused, failed...; with a reason for refusals. */
  outcome?: string;
  reason?: string;
  /** The sender's own signature over its request, when it signed one. */
  senderSignature?: string;
  details?: Record<string, string | number | boolean | null>;
}

/** A stored entry: the event, its place in the chain and its hash. */
export interface AuditEntry extends AuditEvent {
  type: "entry";
  seq: number;
  time: number;
  prev: string;
  hash: string;
}

/** A signed statement of the chain head. */
export interface AuditCheckpoint {
  type: "checkpoint";
  /** The last entry it covers (0: none yet). */
  seq: number;
  head: string;
  time: number;
  keyId: string;
  signature: string;
  /** The last checkpoint of an export or of a closed log. */
  final?: boolean;
}

/** The first line of an export: the key its checkpoints are signed with. */
export interface AuditKeyLine {
  type: "key";
  keyId: string;
  publicKeyPem: string;
}

/** A line of the log. */
export type AuditLine = AuditEntry | AuditCheckpoint;

/** Where lines are kept (files in the hub's data directory, memory in tests). */
export interface AuditSink {
  /** Takes the line at once, in call order; resolves once it is stored. */
  append(line: AuditLine): Promise<void>;
  all(): Promise<AuditLine[]>;
  /** The newest lines, ending with the head (saves reading everything on a restart). */
  last?(): Promise<AuditLine[]>;
}

const GENESIS = "0".repeat(64);

/** sha256 hex of the canonical JSON of a value. */
export function digestOf(value: unknown): string {
  return createHash("sha256").update(canonical(value)).digest("hex");
}

function canonical(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined)
    throw new ClawHubError("INVALID_ARGUMENT", "value cannot be canonicalised");
  return text;
}

const entryHash = (e: Omit<AuditEntry, "hash">) => digestOf(e);
const checkpointPayload = (c: Pick<AuditCheckpoint, "seq" | "head" | "time" | "keyId">) =>
  Buffer.from(canonical({ seq: c.seq, head: c.head, time: c.time, keyId: c.keyId }));

/** The hub's signing key (Ed25519), with a short id derived from its public key. */
export interface AuditKey {
  privateKey: KeyObject;
  publicKeyPem: string;
  keyId: string;
}

/** A new Ed25519 key, or one loaded from PKCS#8 PEM. */
export function auditKey(privateKeyPem?: string): AuditKey {
  const privateKey = privateKeyPem
    ? createPrivateKey(privateKeyPem)
    : generateKeyPairSync("ed25519").privateKey;
  const publicKeyPem = createPublicKey(privateKey)
    .export({ type: "spki", format: "pem" })
    .toString();
  const keyId = createHash("sha256").update(publicKeyPem).digest("hex").slice(0, 16);
  return { privateKey, publicKeyPem, keyId };
}

/**
 * An audit log over a sink. An append hashes and hands its line to the sink at once, in the
 * order of the calls, so the chain never forks and a sink may write a turn's lines together;
 * only the first waits for the log's head to be read back.
 */
export function createAuditLog(options: {
  sink: AuditSink;
  key: AuditKey;
  now?: () => number;
  /** Sign the head after this many entries (default 100). */
  checkpointEvery?: number;
}) {
  const { sink, key } = options;
  const now = options.now ?? Date.now;
  const every = options.checkpointEvery ?? 100;
  let seq = 0;
  let head = GENESIS;
  let sinceCheckpoint = 0;
  let ready = false;
  let loaded: Promise<void> | undefined;
  let tail: Promise<unknown> = Promise.resolve();
  // The head is the last line's: an entry's hash, or what a checkpoint signs (a segment of a
  // file sink opens with one; retention may have dropped every entry before it).
  const load = () =>
    (loaded ??= (async () => {
      for (const line of await (sink.last ? sink.last() : sink.all()))
        if (line.type === "entry") {
          seq = line.seq;
          head = line.hash;
        } else if (line.type === "checkpoint") {
          seq = line.seq;
          head = line.head;
        }
      ready = true;
    })());
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
  /** A signed statement of the head now; `final` marks the last line of an export. */
  function signHead(final: boolean, at = { seq, head }): AuditCheckpoint {
    const base = { seq: at.seq, head: at.head, time: now(), keyId: key.keyId };
    const signature = sign(null, checkpointPayload(base), key.privateKey).toString("base64");
    return { type: "checkpoint", ...base, signature, ...(final ? { final } : {}) };
  }
  function checkpoint(): Promise<AuditCheckpoint> {
    const line = signHead(false);
    sinceCheckpoint = 0;
    return sink.append(line).then(() => line);
  }
  function appendNow(event: AuditEvent): Promise<AuditEntry> {
    const base = { ...event, type: "entry" as const, seq: seq + 1, time: now(), prev: head };
    const entry: AuditEntry = { ...base, hash: entryHash(base) };
    const stored = sink.append(entry);
    seq = entry.seq;
    head = entry.hash;
    const signed = ++sinceCheckpoint >= every ? checkpoint() : undefined;
    return Promise.all([stored, signed]).then(() => entry);
  }
  return {
    publicKeyPem: key.publicKeyPem,
    /** Appends an event; resolves to its entry once stored. */
    append(event: AuditEvent): Promise<AuditEntry> {
      return ready ? appendNow(event) : load().then(() => appendNow(event));
    },
    /** The stored lines, in order (entries and checkpoints). */
    lines: () =>
      serial(async () => {
        await load();
        return sink.all();
      }),
    /** Signs the current head now. */
    checkpoint: () =>
      serial(async () => {
        await load();
        return checkpoint();
      }),
    /**
     * The log as JSON lines, ending with a final signed checkpoint. The final checkpoint is the
     * export's own, never stored: a log that goes on after an export (or a restart) still
     * verifies, and an export cut short lacks it.
     */
    export: () =>
      serial(async () => {
        await load();
        const lines = await sink.all();
        // The final head is the last line read's: appends may have gone on since.
        const at = { seq: 0, head: GENESIS };
        for (const l of lines) {
          at.seq = l.seq;
          at.head = l.type === "entry" ? l.hash : l.head;
        }
        const header: AuditKeyLine = {
          type: "key",
          keyId: key.keyId,
          publicKeyPem: key.publicKeyPem,
        };
        return [
          header,
          ...lines.filter((l) => !(l.type === "checkpoint" && l.final)),
          signHead(true, at),
        ]
          .map((l) => JSON.stringify(l))
          .join("\n");
      }),
    /** Closes the log with a signed head (the log may go on after a restart). */
    close: () =>
      serial(async () => {
        await load();
        return checkpoint();
      }),
  };
}

/** What `verifyAuditLog` found. */
export type AuditVerdict =
  | {
      ok: true;
      /** The last entry's seq. */
      entries: number;
      /**
       * The first entry the log holds: 1, or later when retention dropped older segments (the
       * log then opens with a checkpoint the hub signed, and is verified from its head).
       */
      from: number;
      checkpoints: number;
      head: string;
    }
  | {
      ok: false;
      problem: "edited" | "deleted" | "reordered" | "truncated" | "forged" | "malformed";
      /** The line (1-based) and entry seq where the chain breaks. */
      line: number;
      seq?: number;
      message: string;
    };

/**
 * Verifies an exported log. With `publicKeyPem` (the hub's, obtained out of band), checkpoints
 * must be signed by that key: nobody without the hub's private key can re-sign an edited log.
 * Without it, the key in the export's first line is used: damage and edits are caught, but a
 * complete forgery made with a new key is not.
 */
export function verifyAuditLog(text: string, publicKeyPem?: string): AuditVerdict {
  let rows = text.split("\n").filter((l) => l.trim() !== "");
  let embedded: string | undefined;
  try {
    const first = JSON.parse(rows[0] ?? "{}") as Partial<AuditKeyLine>;
    if (first.type === "key" && typeof first.publicKeyPem === "string") {
      embedded = first.publicKeyPem;
      rows = rows.slice(1);
    }
  } catch {
    // reported below, line by line
  }
  const trusted = publicKeyPem ?? embedded;
  if (!trusted)
    return {
      ok: false,
      problem: "malformed",
      line: 1,
      message: "no key: the export has no key line and none was given",
    };
  const key = createPublicKey(trusted);
  let prev = GENESIS;
  let seq = 0;
  let from = 1;
  let checkpoints = 0;
  let sawFinal = false;
  for (const [i, row] of rows.entries()) {
    // Line numbers of the file, the key line included.
    const line = i + 1 + (embedded ? 1 : 0);
    let parsed: AuditLine;
    try {
      parsed = JSON.parse(row) as AuditLine;
    } catch {
      return { ok: false, problem: "malformed", line, message: `line ${line} is not JSON` };
    }
    if (sawFinal)
      return {
        ok: false,
        problem: "forged",
        line,
        message: `line ${line} follows the final checkpoint`,
      };
    if (parsed.type === "entry") {
      if (parsed.seq < seq + 1)
        return {
          ok: false,
          problem: "reordered",
          line,
          seq: parsed.seq,
          message: `entry ${parsed.seq} appears after entry ${seq}`,
        };
      if (parsed.seq > seq + 1)
        return {
          ok: false,
          problem: "deleted",
          line,
          seq: seq + 1,
          message: `entries ${seq + 1}..${parsed.seq - 1} are missing`,
        };
      const { hash, ...rest } = parsed;
      if (entryHash(rest) !== hash)
        return {
          ok: false,
          problem: "edited",
          line,
          seq: parsed.seq,
          message: `entry ${parsed.seq} was changed after it was written`,
        };
      if (parsed.prev !== prev)
        return {
          ok: false,
          problem: "edited",
          line,
          seq: parsed.seq,
          message: `entry ${parsed.seq} does not follow entry ${seq}`,
        };
      prev = hash;
      seq = parsed.seq;
    } else if (parsed.type === "checkpoint") {
      checkpoints++;
      const good = verify(
        null,
        checkpointPayload(parsed),
        key,
        Buffer.from(String(parsed.signature), "base64"),
      );
      if (!good)
        return {
          ok: false,
          problem: "forged",
          line,
          seq: parsed.seq,
          message: `checkpoint at line ${line} is not signed by the hub's key`,
        };
      // A log whose older segments were dropped opens with a signed head: the chain goes on
      // from there. (Dropping the start on purpose looks the same: `from` says where it starts.)
      if (i === 0 && seq === 0 && parsed.seq > 0) {
        seq = parsed.seq;
        prev = parsed.head;
        from = parsed.seq + 1;
      }
      if (parsed.seq !== seq || parsed.head !== prev)
        return {
          ok: false,
          // Entries the signed head counts are not there: removed from the middle.
          problem: parsed.seq > seq ? "deleted" : "edited",
          line,
          seq: parsed.seq,
          message: `checkpoint at line ${line} signs entry ${parsed.seq}, the chain is at ${seq}`,
        };
      if (parsed.final) sawFinal = true;
    } else
      return {
        ok: false,
        problem: "malformed",
        line,
        message: `line ${line} is neither entry nor checkpoint`,
      };
  }
  if (!sawFinal)
    return {
      ok: false,
      problem: "truncated",
      line: rows.length + (embedded ? 1 : 0),
      seq,
      message: `the log ends after entry ${seq} without its final signed checkpoint`,
    };
  return { ok: true, entries: seq, from, checkpoints, head: prev };
}
