import { ClawHubError } from "../errors/index.ts";
import { decodeTensor, encodeTensor, isTensor, type Tensor, type WireTensor } from "./tensor.ts";

/** The wire form of a value (the proto's `Payload` message). */
export interface WirePayload {
  json: Uint8Array;
  tensors: WireTensor[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encodes a JSON value whose leaves may be Float32Arrays or tensors: those travel packed and
 * are referenced from the JSON as `{"$tensor": index}`. Undefined encodes as JSON null.
 */
export function encodePayload(value: unknown): WirePayload {
  const tensors: WireTensor[] = [];
  const replacer = (_key: string, v: unknown) => {
    if (v instanceof Float32Array || isTensor(v)) {
      tensors.push(encodeTensor(v as Float32Array | Tensor));
      return { $tensor: tensors.length - 1 };
    }
    return v;
  };
  const text = JSON.stringify(value === undefined ? null : value, replacer);
  return { json: encoder.encode(text), tensors };
}

/** Decodes a payload; an absent or empty one is `null`. */
export function decodePayload(payload: Partial<WirePayload> | null | undefined): unknown {
  if (!payload?.json || payload.json.byteLength === 0) return null;
  const text = decoder.decode(payload.json);
  try {
    const wire = payload.tensors ?? [];
    if (wire.length === 0) return JSON.parse(text);
    const tensors = wire.map(decodeTensor);
    return JSON.parse(text, (_key, v: unknown) => {
      if (typeof v === "object" && v !== null && "$tensor" in v) {
        const index = (v as { $tensor: unknown }).$tensor;
        if (typeof index === "number" && tensors[index]) return tensors[index];
      }
      return v;
    });
  } catch (error) {
    throw new ClawHubError("INVALID_ARGUMENT", "payload is not valid JSON", { cause: error });
  }
}

/** Encodes a JSON object to bytes (call parameters); undefined or empty: no bytes. */
export function encodeJson(value: unknown): Uint8Array {
  if (value === undefined || value === null) return new Uint8Array(0);
  return encoder.encode(JSON.stringify(value));
}

/** Decodes JSON bytes; no bytes: `fallback`. */
export function decodeJson<T>(bytes: Uint8Array | undefined, fallback: T): T {
  if (!bytes || bytes.byteLength === 0) return fallback;
  return JSON.parse(decoder.decode(bytes)) as T;
}
