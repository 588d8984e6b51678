/**
 * Worker thread of the local embedder: loads the bundled model once and answers
 * `{ id, texts }` with `{ id, vectors }` (transferred buffers) or `{ id, error }`. Inference is
 * synchronous WebAssembly, so running it here keeps the server's event loop free.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createLocalEmbedder } from "./embedder.ts";

const { maxChars, batchSize } = (workerData ?? {}) as { maxChars?: number; batchSize?: number };
const embedder = createLocalEmbedder({
  inProcess: true,
  ...(maxChars ? { maxChars } : {}),
  ...(batchSize ? { batchSize } : {}),
});

parentPort?.on("message", async (msg: { id: number; texts: string[] }) => {
  try {
    const vectors = await embedder.embed(msg.texts);
    parentPort?.postMessage(
      { id: msg.id, vectors },
      vectors.map((v) => v.buffer as ArrayBuffer),
    );
  } catch (error) {
    parentPort?.postMessage({
      id: msg.id,
      error: error instanceof Error ? error.message : String(error),
    });
  }
});
