/**
 * The audit log on disk: JSON lines in segment files of a directory of its own, owner-only, kept
 * within a byte budget. A segment is closed at a signed checkpoint once it reaches its size, and
 * the next one opens with that same checkpoint: whatever the retention has dropped, the segments
 * left verify on their own, anchored at a head the hub signed (`verifyAuditLog` reports where the
 * log starts). Nothing is held in memory but the lines of the current turn.
 */
import {
  chmodSync,
  closeSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { ClawHubError } from "../errors/index.ts";
import type { AuditLine, AuditSink } from "./log.ts";

/** Sizes of the audit log on disk. */
export interface FileAuditSinkOptions {
  dir: string;
  /** A segment is closed at the first checkpoint past this size. Default 8 MiB. */
  segmentBytes?: number;
  /** The oldest segments are deleted once all of them hold more than this. Default 1 GiB. */
  maxBytes?: number;
}

/** A sink of audit lines in `dir`: `<n>.jsonl` segments, oldest first. */
export interface FileAuditSink extends AuditSink {
  /** Segments and bytes on disk now. */
  usage(): { segments: number; bytes: number; dropped: number };
  close(): void;
}

const NAME = /^(\d{12})\.jsonl$/;
const FILE_MODE = 0o600;

/** Opens (or creates) the audit directory; a line torn by a crash at the end is cut off. */
export function createFileAuditSink(options: FileAuditSinkOptions): FileAuditSink {
  const { dir } = options;
  const segmentBytes = options.segmentBytes ?? 8 * 1024 * 1024;
  const maxBytes = options.maxBytes ?? 1024 * 1024 * 1024;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const segments = readdirSync(dir)
    .map((f) => NAME.exec(f)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b)
    .map((n) => ({ n, bytes: statSync(pathOf(n)).size }));
  let dropped = 0;
  function pathOf(n: number) {
    return join(dir, `${String(n).padStart(12, "0")}.jsonl`);
  }
  const openSegment = (n: number) => openSync(pathOf(n), "a+", FILE_MODE);
  if (segments.length === 0) segments.push({ n: 1, bytes: 0 });
  const current = () => segments[segments.length - 1] as { n: number; bytes: number };
  let fd = openSegment(current().n);
  repairTail(fd, current());

  // Lines of one turn go out in one write; an append resolves once its line is written.
  let pending: string[] = [];
  let flushing: Promise<void> | undefined;
  const flush = () => {
    flushing = undefined;
    if (pending.length === 0) return;
    const text = pending.join("");
    pending = [];
    writeSync(fd, text);
    current().bytes += Buffer.byteLength(text);
  };
  const rotate = (checkpointLine: string) => {
    flush();
    closeSync(fd);
    segments.push({ n: current().n + 1, bytes: 0 });
    fd = openSegment(current().n);
    pending.push(checkpointLine);
    flush();
    let total = segments.reduce((sum, s) => sum + s.bytes, 0);
    while (total > maxBytes && segments.length > 1) {
      const oldest = segments.shift() as { n: number; bytes: number };
      unlinkSync(pathOf(oldest.n));
      total -= oldest.bytes;
      dropped++;
    }
  };
  const readSegment = (n: number): AuditLine[] => {
    const text = existsSync(pathOf(n)) ? readFileSync(pathOf(n), "utf8") : "";
    const lines: AuditLine[] = [];
    for (const [i, row] of text.split("\n").entries()) {
      if (row === "") continue;
      try {
        lines.push(JSON.parse(row) as AuditLine);
      } catch {
        throw new ClawHubError(
          "INTERNAL",
          `audit segment ${pathOf(n)} line ${i + 1} is not JSON: the log on disk was damaged`,
        );
      }
    }
    return lines;
  };
  const read = (from: number): AuditLine[] => {
    flush();
    const out: AuditLine[] = [];
    let last: string | undefined;
    for (const s of segments.slice(from)) {
      for (const line of readSegment(s.n)) {
        // A segment opens with the checkpoint the one before it closed with: keep one.
        const text = JSON.stringify(line);
        if (line.type === "checkpoint" && text === last) continue;
        out.push(line);
        last = text;
      }
    }
    return out;
  };

  return {
    append(line) {
      const text = `${JSON.stringify(line)}\n`;
      if (line.type === "checkpoint" && current().bytes + pendingBytes() >= segmentBytes) {
        pending.push(text);
        rotate(text);
        return Promise.resolve();
      }
      pending.push(text);
      flushing ??= Promise.resolve().then(flush);
      return flushing;
    },
    async all() {
      return read(0);
    },
    async last() {
      // A segment past the first opens with a checkpoint (the head it continues from); only a
      // newest segment left empty by a crash needs the one before.
      const tail = read(segments.length - 1);
      return tail.length > 0 || segments.length < 2 ? tail : read(segments.length - 2);
    },
    usage() {
      flush();
      return {
        segments: segments.length,
        bytes: segments.reduce((sum, s) => sum + s.bytes, 0),
        dropped,
      };
    },
    close() {
      flush();
      closeSync(fd);
    },
  };

  function pendingBytes() {
    let n = 0;
    for (const p of pending) n += p.length;
    return n;
  }
}

/** Cuts a last line a crash left without its newline (it was never acknowledged). */
function repairTail(fd: number, segment: { bytes: number }) {
  const size = fstatSync(fd).size;
  segment.bytes = size;
  if (size === 0) return;
  const chunk = Buffer.alloc(Math.min(size, 64 * 1024));
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const n = readSync(fd, chunk, 0, end - start, start);
    const at = chunk.subarray(0, n).lastIndexOf(0x0a);
    if (at >= 0) {
      const keep = start + at + 1;
      if (keep !== size) {
        ftruncateSync(fd, keep);
        segment.bytes = keep;
      }
      return;
    }
    end = start;
  }
  ftruncateSync(fd, 0);
  segment.bytes = 0;
}
