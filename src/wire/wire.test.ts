import { describe, expect, it } from "vitest";
import {
  decodePayload,
  decodeTensor,
  encodePayload,
  encodeTensor,
  fromHalf,
  isTensor,
  tensor,
  toFloat32,
  toHalf,
} from "./index.ts";

describe("tensors", () => {
  it("converts half precision exactly where it can and rounds otherwise", () => {
    for (const v of [0, 1, -2, 0.5, 65504, 2 ** -14, 2 ** -24]) expect(fromHalf(toHalf(v))).toBe(v);
    expect(fromHalf(toHalf(1e6))).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(fromHalf(toHalf(Number.NaN)))).toBe(true);
    expect(fromHalf(toHalf(1e-9))).toBe(0);
    for (let i = 0; i < 1000; i++) {
      const v = (Math.random() - 0.5) * 100;
      expect(Math.abs(fromHalf(toHalf(v)) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 1e-7);
    }
  });

  it("round-trips every dtype through the wire form, with shapes", () => {
    const values = Float32Array.from({ length: 12 }, (_, i) => i / 7 - 0.8);
    const f32 = decodeTensor(encodeTensor(tensor.float32(values, [3, 4])));
    expect(isTensor(f32)).toBe(true);
    expect(f32).toMatchObject({ dtype: "float32", shape: [3, 4] });
    expect([...toFloat32(f32)]).toEqual([...values]);
    const plain = decodeTensor(encodeTensor(values));
    expect(plain).toBeInstanceOf(Float32Array);
    const half = toFloat32(decodeTensor(encodeTensor(tensor.float16(values))));
    const q = decodeTensor(encodeTensor(tensor.int8(values, { shape: [2, 6] })));
    expect(q).toMatchObject({ dtype: "int8", shape: [2, 6] });
    const i8 = toFloat32(q);
    for (let i = 0; i < values.length; i++) {
      expect(Math.abs((half[i] as number) - (values[i] as number))).toBeLessThan(1e-3);
      expect(Math.abs((i8[i] as number) - (values[i] as number))).toBeLessThanOrEqual(0.8 / 127);
    }
  });

  it("refuses shapes that do not hold the values", () => {
    expect(() => tensor.float32([1, 2, 3], [2, 2])).toThrow(/shape/);
  });

  it("decodes unaligned bytes by copying", () => {
    const wire = encodeTensor(Float32Array.of(1, 2, 3));
    const shifted = new Uint8Array(wire.data.byteLength + 1);
    shifted.set(wire.data, 1);
    const out = decodeTensor({ ...wire, data: shifted.subarray(1) });
    expect([...(out as Float32Array)]).toEqual([1, 2, 3]);
  });
});

describe("payloads", () => {
  it("sends plain JSON as JSON and lifts typed arrays out", () => {
    const plain = encodePayload({ a: [1, "x", null] });
    expect(plain.tensors).toEqual([]);
    expect(decodePayload(plain)).toEqual({ a: [1, "x", null] });
    const v = Float32Array.of(0.25, -1);
    const mixed = encodePayload({ id: 7, embedding: v, nested: [{ q: tensor.int8([1, -1]) }] });
    expect(mixed.tensors).toHaveLength(2);
    expect(new TextDecoder().decode(mixed.json)).toBe(
      '{"id":7,"embedding":{"$tensor":0},"nested":[{"q":{"$tensor":1}}]}',
    );
    const back = decodePayload(mixed) as { embedding: Float32Array; nested: Array<{ q: unknown }> };
    expect([...back.embedding]).toEqual([0.25, -1]);
    expect(isTensor(back.nested[0]?.q)).toBe(true);
  });

  it("treats an empty payload as null and undefined as null", () => {
    expect(decodePayload(null)).toBeNull();
    expect(decodePayload(encodePayload(undefined))).toBeNull();
  });
});
