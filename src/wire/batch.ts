import { type CallbackWritable, createOutbox, type OutboxOptions } from "./outbox.ts";

/**
 * Coalesces the messages one side of a stream sends in one turn of the event loop into a single
 * frame: one gRPC message (and one HTTP/2 DATA frame) per turn instead of one per message, which
 * is what lets many concurrent calls share a stream cheaply. A lone message goes out as itself.
 */
export interface Batcher<T> {
  /** Queues a message; it is written at the end of this turn of the event loop. */
  push(message: T): void;
  /** Writes what is queued now. */
  flush(): void;
  /** Drops what is queued (the stream is gone). */
  clear(): void;
}

/** Most messages per frame: bounds a frame when a burst arrives in one turn. */
const MAX_PER_FRAME = 512;
/** Most payload bytes per frame (a larger message goes alone): large inputs are not piled up. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/**
 * `sizeOf` tells a message's payload bytes (its inputs and outputs), so a frame stays under
 * {@link MAX_FRAME_BYTES}; without it only the message count bounds a frame.
 */
export function createBatcher<T>(
  write: (message: T, bytes: number) => void,
  wrap: (messages: T[]) => T,
  sizeOf?: (message: T) => number,
): Batcher<T> {
  let queue: T[] = [];
  let scheduled = false;
  const send = (part: T[], bytes: number) =>
    write(part.length === 1 ? (part[0] as T) : wrap(part), bytes);
  const flush = () => {
    scheduled = false;
    if (queue.length === 0) return;
    const messages = queue;
    queue = [];
    let part: T[] = [];
    let bytes = 0;
    for (const m of messages) {
      const size = sizeOf ? sizeOf(m) : 0;
      if (part.length > 0 && (part.length >= MAX_PER_FRAME || bytes + size > MAX_FRAME_BYTES)) {
        send(part, bytes);
        part = [];
        bytes = 0;
      }
      part.push(m);
      bytes += size;
    }
    if (part.length > 0) send(part, bytes);
  };
  return {
    push(message) {
      queue.push(message);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
    clear() {
      queue = [];
    },
  };
}

/**
 * A batcher writing to a stream (gRPC, either side): writes stop once `open()` says the stream
 * is gone, and a write to a stream that is ending is dropped (its end handlers take over). With
 * `outbox`, the bytes the peer has not read are bounded (see outbox.ts): past the limit the
 * stream is aborted and `outbox.onOverflow` told.
 */
export function createStreamBatcher<T>(
  stream: CallbackWritable<T>,
  wrap: (messages: T[]) => T,
  open: () => boolean,
  sizeOf?: (message: T) => number,
  outbox?: OutboxOptions,
): Batcher<T> {
  const out = outbox ? createOutbox(stream, outbox) : undefined;
  return createBatcher<T>(
    (message, bytes) => {
      if (!open()) return;
      if (out) {
        out.write(message, bytes);
        return;
      }
      try {
        stream.write(message, ignore);
      } catch {
        // The stream is closing: whoever listens for its end takes over.
      }
    },
    wrap,
    sizeOf,
  );
}

const ignore = () => {};

/** Bytes of a payload (JSON and tensors), for frame sizing. */
export function payloadBytes(
  p: { json: Uint8Array; tensors: Array<{ data: Uint8Array }> } | null | undefined,
): number {
  if (!p) return 0;
  let n = p.json.byteLength;
  for (const t of p.tensors) n += t.data.byteLength;
  return n;
}
