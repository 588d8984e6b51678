import { constants as http2 } from "node:http2";

/**
 * What the hub has written to one peer and the peer has not read yet is bounded in bytes. A
 * stream's `write()` queues without limit (HTTP/2 flow control only stops the socket), so a peer
 * that stops reading would otherwise grow the hub by everything sent to it: the issue measured
 * 411 MiB for one stalled subscriber, kept after it left. As NATS does with a slow consumer, the
 * hub drops such a peer once its unsent bytes pass the limit, and says so.
 */
export interface Outbox<T> {
  /** Writes a message of about `bytes`; false once the peer was dropped (nothing is written). */
  write(message: T, bytes: number): boolean;
  /** Bytes written and not yet handed to the network. */
  readonly pendingBytes: number;
  /** Whether the limit was passed (the stream is aborted). */
  readonly overflowed: boolean;
}

/** A writable stream with a completion callback per write (grpc-js server streams are). */
export interface CallbackWritable<T> {
  write(message: T, callback: (error?: Error | null) => void): unknown;
}

/** Options of {@link createOutbox}. */
export interface OutboxOptions {
  /** Unsent bytes allowed before the peer is dropped. */
  maxBytes: number;
  /** The peer passed the limit: the outbox has aborted the stream; free what it held. */
  onOverflow(pendingBytes: number): void;
}

/** Unsent bytes one peer may have before it is dropped (default; `maxPeerBufferBytes`). */
export const DEFAULT_PEER_BUFFER_BYTES = 64 * 1024 * 1024;
/** Bytes counted per message besides its payload (framing, ids): a flood of small ones counts. */
const MESSAGE_OVERHEAD = 64;

/**
 * Counts the bytes of each write until its callback says it reached the network. One message is
 * always allowed in flight, whatever its size (the message size limit bounds it); past that, a
 * write that takes the unsent bytes over `maxBytes` aborts the stream instead.
 */
export function createOutbox<T>(stream: CallbackWritable<T>, options: OutboxOptions): Outbox<T> {
  let pending = 0;
  let overflowed = false;
  return {
    get pendingBytes() {
      return pending;
    },
    get overflowed() {
      return overflowed;
    },
    write(message, bytes) {
      if (overflowed) return false;
      const size = bytes + MESSAGE_OVERHEAD;
      if (pending > 0 && pending + size > options.maxBytes) {
        overflowed = true;
        abortStream(stream);
        options.onOverflow(pending + size);
        return false;
      }
      pending += size;
      let counted = true;
      const sent = () => {
        if (!counted) return;
        counted = false;
        pending -= size;
      };
      try {
        stream.write(message, sent);
      } catch {
        // The stream is closing: whoever listens for its end takes over.
        sent();
      }
      return true;
    },
  };
}

/**
 * Ends a server stream at once, dropping what is queued for it: RST_STREAM with
 * ENHANCE_YOUR_CALM, which gRPC clients report as RESOURCE_EXHAUSTED. A normal end would queue
 * the status behind the unread data and keep it all. grpc-js has no public server-side cancel,
 * so this reaches its HTTP/2 stream through the call chain it keeps; should that change, the
 * writable is still destroyed, which frees its queue, and the call ends when the peer goes.
 */
export function abortStream(stream: unknown): void {
  let call = (stream as { call?: unknown }).call;
  for (let depth = 0; call && depth < 8; depth++) {
    const h2 = (call as { stream?: { close?: (code: number) => void; destroyed?: boolean } })
      .stream;
    if (h2 && typeof h2.close === "function") {
      try {
        if (!h2.destroyed) h2.close(http2.NGHTTP2_ENHANCE_YOUR_CALM);
      } catch {
        // Already closed.
      }
      break;
    }
    call = (call as { nextCall?: unknown }).nextCall;
  }
  const writable = stream as { destroy?: () => void; destroyed?: boolean };
  if (typeof writable.destroy === "function" && !writable.destroyed) {
    try {
      writable.destroy();
    } catch {
      // Already destroyed.
    }
  }
}
