import { describe, expect, it } from "vitest";
import { createOutbox } from "./outbox.ts";

/** A stream whose peer reads only when told to: write callbacks wait for `read()`. */
function stalledStream() {
  const waiting: Array<() => void> = [];
  let destroyed = false;
  return {
    written: [] as string[],
    write(message: string, callback: () => void) {
      this.written.push(message);
      waiting.push(callback);
    },
    destroy() {
      destroyed = true;
    },
    get destroyed() {
      return destroyed;
    },
    read() {
      for (const cb of waiting.splice(0)) cb();
    },
  };
}

describe("outbox", () => {
  it("lets one message of any size through, counts unsent bytes, and frees them as they go", () => {
    const stream = stalledStream();
    const overflows: number[] = [];
    const out = createOutbox(stream, { maxBytes: 1000, onOverflow: (n) => overflows.push(n) });
    expect(out.write("huge", 5000)).toBe(true);
    expect(out.pendingBytes).toBeGreaterThan(5000);
    stream.read();
    expect(out.pendingBytes).toBe(0);
    for (let i = 0; i < 3; i++) expect(out.write(`m${i}`, 200)).toBe(true);
    stream.read();
    expect(out.pendingBytes).toBe(0);
    expect(overflows).toEqual([]);
    expect(stream.destroyed).toBe(false);
  });

  it("drops a peer that leaves more than the limit unread, once, and writes nothing after", () => {
    const stream = stalledStream();
    const overflows: number[] = [];
    const out = createOutbox(stream, { maxBytes: 1000, onOverflow: (n) => overflows.push(n) });
    let accepted = 0;
    for (let i = 0; i < 10; i++) if (out.write(`m${i}`, 300)) accepted++;
    expect(accepted).toBe(2);
    expect(out.overflowed).toBe(true);
    expect(stream.destroyed).toBe(true);
    expect(overflows).toHaveLength(1);
    expect(overflows[0]).toBeGreaterThan(1000);
    expect(stream.written).toEqual(["m0", "m1"]);
    stream.read();
    expect(out.write("late", 1)).toBe(false);
  });
});
