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

/** Most messages per frame: bounds a frame's size when a burst arrives in one turn. */
const MAX_PER_FRAME = 512;

export function createBatcher<T>(
  write: (message: T) => void,
  wrap: (messages: T[]) => T,
): Batcher<T> {
  let queue: T[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (queue.length === 0) return;
    const messages = queue;
    queue = [];
    for (let i = 0; i < messages.length; i += MAX_PER_FRAME) {
      const part =
        messages.length <= MAX_PER_FRAME ? messages : messages.slice(i, i + MAX_PER_FRAME);
      write(part.length === 1 ? (part[0] as T) : wrap(part));
    }
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
