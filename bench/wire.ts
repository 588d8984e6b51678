/**
 * Wire format: bytes and encode/decode time of packed tensors (float32, float16, int8) against
 * the same payloads as JSON number lists, both inside the hub's protobuf message (what a call
 * would carry without tensors) and as a bare JSON text (what an HTTP JSON API sends).
 *
 *   npm run bench:wire
 */
import {
  decodePayload,
  encodePayload,
  hubProtocol,
  isTensor,
  tensor,
  toFloat32,
} from "../src/wire/index.ts";

interface Serializers {
  requestSerialize(value: unknown): Buffer;
  requestDeserialize(bytes: Buffer): { input: Parameters<typeof decodePayload>[0] };
}
const callMethod = (hubProtocol().CallerService.service as unknown as Record<string, Serializers>)
  .Call as Serializers;

const random = (() => {
  let seed = 42;
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
})();
const unit = (dims: number) => {
  const v = Float32Array.from({ length: dims }, () => random() * 2 - 1);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

// The vectors exist before the call, as float32; building the payload from them (number lists,
// or a half/int8 conversion) is part of the timed encode.
const one = unit(512);
const rows = Array.from({ length: 64 }, () => unit(512));
const payloads: Array<{
  name: string;
  make(kind: "json" | "float32" | "float16" | "int8"): unknown;
}> = [
  {
    name: "1 embedding (512-d)",
    make: (kind) => ({ id: "doc-1", embedding: pack(one, kind) }),
  },
  {
    name: "64 embeddings (64x512)",
    make: (kind) => {
      if (kind === "json")
        return { ids: rows.map((_, i) => `doc-${i}`), embeddings: rows.map((r) => Array.from(r)) };
      const flat = new Float32Array(64 * 512);
      for (const [i, r] of rows.entries()) flat.set(r, i * 512);
      return {
        ids: rows.map((_, i) => `doc-${i}`),
        embeddings:
          kind === "float32"
            ? tensor.float32(flat, [64, 512])
            : kind === "float16"
              ? tensor.float16(flat, [64, 512])
              : tensor.int8(flat, { shape: [64, 512] }),
      };
    },
  },
  {
    name: "ordinary JSON task (no tensors)",
    make: () => ({
      text: "The hub routes each task to the least loaded capable agent. ".repeat(40),
      options: { sentences: 3, language: "en", tags: ["a", "b", "c"] },
    }),
  },
];

function pack(v: Float32Array, kind: "json" | "float32" | "float16" | "int8"): unknown {
  if (kind === "json") return Array.from(v);
  if (kind === "float32") return v;
  return kind === "float16" ? tensor.float16(v) : tensor.int8(v);
}

function time(fn: () => void, minMs = 300): number {
  for (let i = 0; i < 20; i++) fn();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    fn();
    n++;
  }
  return ((performance.now() - start) / n) * 1000;
}

const request = (value: unknown) => ({ capability: "x", input: encodePayload(value) });

console.log(
  "payload | format | bytes | encode µs | decode µs | JSON-in-proto bytes / bytes | JSON-in-proto time / time",
);
console.log("---|---|---|---|---|---|---");
for (const p of payloads) {
  const kinds = p.name.includes("no tensors")
    ? (["json"] as const)
    : (["json", "float32", "float16", "int8"] as const);
  const results: Array<{ format: string; bytes: number; enc: number; dec: number }> = [];
  // Bare JSON text, as an HTTP API would send it.
  {
    const text = Buffer.from(JSON.stringify(p.make("json")));
    results.push({
      format: "bare JSON text",
      bytes: text.byteLength,
      enc: time(() => Buffer.from(JSON.stringify(p.make("json")))),
      dec: time(() => JSON.parse(text.toString("utf8"))),
    });
  }
  for (const kind of kinds) {
    const value = p.make(kind);
    const bytes = callMethod.requestSerialize(request(value));
    const back = decodePayload(callMethod.requestDeserialize(bytes).input) as Record<
      string,
      unknown
    >;
    if (kind !== "json") {
      // Sanity: what arrives is what was sent (within the format's precision).
      const key = "embedding" in back ? "embedding" : "embeddings";
      const got = toFloat32(back[key] as Float32Array);
      if (got.length % 512 !== 0) throw new Error(`decoded ${got.length} values`);
    }
    results.push({
      format: kind === "json" ? "JSON in proto" : `${kind} tensor in proto`,
      bytes: bytes.byteLength,
      enc: time(() => callMethod.requestSerialize(request(p.make(kind)))),
      dec: time(() => {
        const decoded = decodePayload(callMethod.requestDeserialize(bytes).input) as Record<
          string,
          unknown
        >;
        // A consumer reads the values: widen half and int8 as a user of them would.
        for (const v of Object.values(decoded))
          if (v instanceof Float32Array || isTensor(v)) toFloat32(v);
      }),
    });
  }
  const base = results.find((r) => r.format === "JSON in proto") as (typeof results)[number];
  for (const r of results) {
    console.log(
      `${p.name} | ${r.format} | ${r.bytes} | ${r.enc.toFixed(1)} | ${r.dec.toFixed(1)} | ${(base.bytes / r.bytes).toFixed(2)}x | ${((base.enc + base.dec) / (r.enc + r.dec)).toFixed(2)}x`,
    );
  }
}
