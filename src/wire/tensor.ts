/**
 * Packed tensors: embeddings and other numeric arrays travel as little-endian bytes instead of
 * JSON number lists (a 512-d float32 embedding: 2 KiB instead of ~10 KiB of text).
 */

/** Element types on the wire. */
export type DType = "float32" | "float16" | "int8";

const BRAND = Symbol.for("clawhub.tensor");

/**
 * A tensor that is not a plain 1-d Float32Array: a shape, packed data and, for int8, the scale
 * (value = data[i] * scale).
 */
export interface Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: Float32Array | Uint16Array | Int8Array;
  readonly scale: number;
}

/** The wire form of a tensor (as the proto's `Tensor` message). */
export interface WireTensor {
  dtype: "FLOAT32" | "FLOAT16" | "INT8";
  shape: number[];
  data: Uint8Array;
  scale: number;
}

function brand<T extends Tensor>(tensor: T): T {
  Object.defineProperty(tensor, BRAND, { value: true });
  return tensor;
}

/** True for tensors made by {@link tensor} or decoded from the wire. */
export function isTensor(value: unknown): value is Tensor {
  return typeof value === "object" && value !== null && BRAND in value;
}

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function checkShape(shape: readonly number[], length: number): void {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0) || elements(shape) !== length) {
    throw new RangeError(`tensor shape [${shape.join(", ")}] does not hold ${length} values`);
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * float32 -> IEEE half bits, rounding half up (Float16Array is not in Node 22). Out of range
 * values become infinities, tiny ones zero or subnormals.
 */
export function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  // The mantissa's top 11 bits: 10 kept, one to round with.
  const m = (x >>> 12) & 0x7ff;
  if (exp === 0xff) return sign | 0x7c00 | (x & 0x7fffff ? 0x200 : 0);
  if (exp > 142) return sign | 0x7c00;
  if (exp < 103) return sign;
  if (exp < 113) {
    const sub = m | 0x800;
    return sign | ((sub >>> (114 - exp)) + ((sub >>> (113 - exp)) & 1));
  }
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  return (sign | (((exp - 112) << 10) | (m >>> 1))) + (m & 1);
}

/** IEEE half bits -> number. */
export function fromHalf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Builders of tensors to send. A plain Float32Array is sent as a 1-d float32 tensor as is. */
export const tensor = {
  float32(values: ArrayLike<number>, shape: readonly number[] = [values.length]): Tensor {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    checkShape(shape, data.length);
    return brand({ dtype: "float32", shape: [...shape], data, scale: 1 });
  },
  /** Half precision: half the bytes, ~3 significant digits (ample for cosine similarity). */
  float16(values: ArrayLike<number>, shape: readonly number[] = [values.length]): Tensor {
    checkShape(shape, values.length);
    const data = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) data[i] = toHalf(values[i] as number);
    return brand({ dtype: "float16", shape: [...shape], data, scale: 1 });
  },
  /**
   * Symmetric int8 quantisation: a quarter of the bytes; scale = max |value| / 127 unless given.
   */
  int8(
    values: ArrayLike<number>,
    options: { shape?: readonly number[]; scale?: number } = {},
  ): Tensor {
    const shape = options.shape ?? [values.length];
    checkShape(shape, values.length);
    let scale = options.scale;
    if (scale === undefined) {
      let max = 0;
      for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i] as number));
      scale = max > 0 ? max / 127 : 1;
    }
    const data = new Int8Array(values.length);
    for (let i = 0; i < values.length; i++) {
      data[i] = Math.max(-127, Math.min(127, Math.round((values[i] as number) / scale)));
    }
    return brand({ dtype: "int8", shape: [...shape], data, scale });
  },
};

let halfTable: Float32Array | undefined;
/** All 65,536 half values, built on first use (256 KiB): widening is then one lookup each. */
function halves(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) halfTable[i] = fromHalf(i);
  }
  return halfTable;
}

/** The values of any tensor as float32 (dequantised, widened). */
export function toFloat32(value: Tensor | Float32Array): Float32Array {
  if (value instanceof Float32Array) return value;
  if (value.dtype === "float32") return value.data as Float32Array;
  const out = new Float32Array(value.data.length);
  if (value.dtype === "float16") {
    const data = value.data as Uint16Array;
    const table = halves();
    for (let i = 0; i < data.length; i++) out[i] = table[data[i] as number] as number;
  } else {
    const data = value.data as Int8Array;
    for (let i = 0; i < data.length; i++) out[i] = (data[i] as number) * value.scale;
  }
  return out;
}

const WIRE_DTYPE = { float32: "FLOAT32", float16: "FLOAT16", int8: "INT8" } as const;
const BYTES = { FLOAT32: 4, FLOAT16: 2, INT8: 1 } as const;

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Encodes a tensor (or a 1-d Float32Array) to its wire form without copying its bytes. */
export function encodeTensor(value: Tensor | Float32Array): WireTensor {
  if (value instanceof Float32Array) {
    return { dtype: "FLOAT32", shape: [value.length], data: bytesOf(value), scale: 1 };
  }
  return {
    dtype: WIRE_DTYPE[value.dtype],
    shape: [...value.shape],
    data: bytesOf(value.data),
    scale: value.scale,
  };
}

/**
 * Decodes a wire tensor: a 1-d float32 tensor becomes a Float32Array (what was sent), others a
 * {@link Tensor}. Copies only when the bytes are not aligned for a typed-array view.
 */
export function decodeTensor(wire: WireTensor): Tensor | Float32Array {
  const size = BYTES[wire.dtype];
  if (!size) throw new RangeError(`unknown tensor dtype ${String(wire.dtype)}`);
  const count = wire.data.byteLength / size;
  if (!Number.isInteger(count)) throw new RangeError("tensor data is not a whole number of values");
  const shape = wire.shape.length ? wire.shape : [count];
  checkShape(shape, count);
  const aligned = wire.data.byteOffset % size === 0 ? wire.data : new Uint8Array(wire.data); // copies
  const { buffer, byteOffset } = aligned;
  if (wire.dtype === "FLOAT32") {
    const data = new Float32Array(buffer, byteOffset, count);
    return shape.length === 1 ? data : brand({ dtype: "float32", shape, data, scale: 1 });
  }
  if (wire.dtype === "FLOAT16") {
    return brand({
      dtype: "float16",
      shape,
      data: new Uint16Array(buffer, byteOffset, count),
      scale: 1,
    });
  }
  return brand({
    dtype: "int8",
    shape,
    data: new Int8Array(buffer, byteOffset, count),
    scale: wire.scale,
  });
}
