import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import {
  createLocalEmbedder,
  createSearchEngine,
  createVectorIndex,
  documentText,
  type EngineDocument,
  normalize,
  type VectorStore,
} from "../src/search/index.ts";
import { findSkillDirs, validateSkillDir } from "../src/skill/index.ts";
import { openVectorCache } from "./vector-cache.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const corpus =
  args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--")) ??
  join(ROOT, "../shared/corpus/openclaw-skills");
const queryCount = Number(args[args.indexOf("--queries") + 1] ?? 200) || 200;
const skillsRoot = join(corpus, "skills");

let seed = 42;
const rand = () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
};

// ---- the corpus, with its vectors -------------------------------------------------------------
const base: EngineDocument[] = [];
for (const dir of await findSkillDirs([skillsRoot])) {
  const m = (await validateSkillDir(dir)).manifest;
  if (!m) continue;
  const id = relative(skillsRoot, dir);
  base.push({
    id,
    name: m.slug,
    owner: id.split("/")[0] ?? "",
    title: m.displayName,
    summary: m.description,
    tags: [],
    popularity: Math.floor(rand() * 1000),
    text: documentText({
      title: m.displayName,
      name: m.slug,
      summary: m.description,
      tags: [],
    }),
  });
}
const embedder = createLocalEmbedder();
const vectorCache = openVectorCache(join(ROOT, ".bench-tmp"), embedder.id);
const vectorsById = new Map<string, Float32Array>();
{
  const probe = createSearchEngine({ embedder, vectors: vectorCache.store });
  const t = performance.now();
  for (const d of base) probe.upsert(d);
  await probe.idle();
  vectorCache.save();
  process.stdout.write(
    `corpus: ${base.length} documents embedded or loaded in ${((performance.now() - t) / 1000).toFixed(1)} s\n`,
  );
}
for (const d of base) {
  const v = vectorCache.vectorOf(d.text);
  if (v) vectorsById.set(d.id, v);
}

// ---- synthetic scale-up ----------------------------------------------------------------------
function scaled(n: number): { docs: EngineDocument[]; vectors: Map<string, Float32Array> } {
  const docs: EngineDocument[] = [];
  const vectors = new Map<string, Float32Array>();
  for (let i = 0; i < n; i++) {
    const a = base[i % base.length] as EngineDocument;
    if (i < base.length) {
      docs.push(a);
      const v = vectorsById.get(a.id);
      if (v) vectors.set(a.id, v);
      continue;
    }
    const b = base[Math.floor(rand() * base.length)] as EngineDocument;
    const summary = `${a.summary.slice(0, 120)} ${b.summary.slice(0, 80)}`;
    const id = `synthetic/${i}`;
    docs.push({
      ...a,
      id,
      name: `${a.name}-${i}`,
      summary,
      popularity: Math.floor(rand() * 5000),
      text: `${a.text} ${b.summary.slice(0, 80)}`,
    });
    const va = vectorsById.get(a.id);
    if (va) vectors.set(id, normalize(Array.from(va, (x) => x + (rand() - 0.5) * 0.04)));
  }
  return { docs, vectors };
}

const queries = base
  .slice(0, queryCount)
  .map((d, i) =>
    i % 3 === 0
      ? d.summary.split(" ").slice(0, 6).join(" ")
      : i % 3 === 1
        ? d.name.replace(/-/g, " ")
        : `how do I ${d.summary.split(" ").slice(1, 5).join(" ")}`,
  );
const q = (arr: number[], p: number) =>
  arr.sort((x, y) => x - y)[Math.min(arr.length - 1, Math.floor(p * arr.length))] ?? 0;

// Query vectors: the real model, measured once (cold), then the LRU hit.
const queryVectors = new Map<string, Float32Array>();
const coldMs: number[] = [];
for (const text of queries) {
  const t = performance.now();
  const [v] = await embedder.embed([text]);
  coldMs.push(performance.now() - t);
  if (v) queryVectors.set(text, v);
}
process.stdout.write(
  `query embedding (model, worker thread): p50 ${q(coldMs, 0.5).toFixed(1)} ms, p99 ${q(coldMs, 0.99).toFixed(1)} ms; cached queries skip it (LRU of 1000)\n\n`,
);

// Embedding throughput: the model run naively (on the main thread, one text per call, whole
// texts) against the engine's way (worker threads, batches of 16 grouped by length, texts cut at
// 600 characters), with one worker (the server's default) and one per core; and whether the
// workers' vectors are the main thread's (cosine agreement).
{
  const sample = base.slice(0, 64).map((d) => `${d.text}. ${d.summary}`);
  const naive = createLocalEmbedder({ inProcess: true, batchSize: 1, maxChars: 100_000 });
  await naive.embed(["warm up"]);
  const t = performance.now();
  for (const text of sample) await naive.embed([text]);
  const naiveRate = sample.length / ((performance.now() - t) / 1000);
  const bulk = base.slice(0, 256).map((d) => d.text);
  const rate = async (e: ReturnType<typeof createLocalEmbedder>) => {
    await e.embed(Array.from({ length: 64 }, (_, i) => `warm up ${i}`));
    const start = performance.now();
    const vectors = await e.embed(bulk);
    return { rate: bulk.length / ((performance.now() - start) / 1000), vectors };
  };
  const cores = availableParallelism();
  const one = await rate(embedder);
  const pool = await rate(createLocalEmbedder({ workers: cores }));
  const reference = await createLocalEmbedder({ inProcess: true }).embed(bulk);
  let worst = 1;
  for (const [i, v] of pool.vectors.entries()) {
    const r = reference[i] as Float32Array;
    let dot = 0;
    for (let k = 0; k < v.length; k++) dot += (v[k] as number) * (r[k] as number);
    worst = Math.min(worst, dot);
  }
  process.stdout.write(
    `document embedding (corpus texts): naive ${naiveRate.toFixed(1)} texts/s; engine, 1 worker ${one.rate.toFixed(1)} texts/s (${(one.rate / naiveRate).toFixed(2)}x); ${cores} workers ${pool.rate.toFixed(1)} texts/s (${(pool.rate / naiveRate).toFixed(2)}x); the whole corpus: ${(base.length / one.rate).toFixed(0)} s on 1 worker, ${(base.length / pool.rate).toFixed(0)} s on ${cores}, in the background\n` +
      `vectors of the ${cores} workers against the main thread's: lowest cosine ${worst.toFixed(6)} over ${bulk.length} texts\n`,
  );
}

process.stdout.write(
  `${"documents".padStart(9)}  ${"build docs/s".padStart(12)}  ${"ranking p50 ms".padStart(14)}  ${"ranking p99 ms".padStart(14)}  ${"heap MB".padStart(8)}  ${"peak RSS MB".padStart(11)}  ${"int8 recall@100".padStart(15)}\n`,
);
for (const n of [base.length, 10_000, 100_000]) {
  const { docs, vectors } = scaled(n);
  // A precomputed embedder: vectors are handed over as a restart reading them from the database
  // would, and ranking is timed without the model (measured above).
  const byText = new Map(docs.map((d) => [d.text, d.id]));
  const fixed = {
    id: "precomputed",
    dimensions: 512,
    embed: async (texts: string[]) =>
      texts.map(
        (t) => queryVectors.get(t) ?? vectors.get(byText.get(t) ?? "") ?? new Float32Array(512),
      ),
  };
  const store: VectorStore = { getVectors: async () => new Map(), putVectors: async () => {} };
  globalThis.gc?.();
  const t0 = performance.now();
  const engine = createSearchEngine({ embedder: fixed, vectors: store, batchSize: 4096 });

  for (const d of docs) engine.upsert(d);
  await engine.idle();
  const buildSeconds = (performance.now() - t0) / 1000;
  // Warm up, then time ranking.
  for (const text of queries.slice(0, 20)) await engine.search(text);
  const times: number[] = [];
  for (const text of queries) {
    const t = performance.now();
    await engine.search(text, { limit: 20 });
    times.push(performance.now() - t);
  }
  // The int8 scan with rescoring against an exact float32 scan of the same vectors.
  const exact = createVectorIndex(512, { quantize: false, initialCapacity: n });
  const approx = createVectorIndex(512, { initialCapacity: n });
  for (const [id, v] of vectors) {
    exact.set(id, v);
    approx.set(id, v);
  }
  let found = 0;
  let total = 0;
  for (const text of queries.slice(0, 50)) {
    const qv = queryVectors.get(text) as Float32Array;
    const truth = new Set(exact.topK(qv, 100).map((h) => h.id));
    total += truth.size;
    for (const h of approx.topK(qv, 100)) if (truth.has(h.id)) found++;
  }
  const mem = process.memoryUsage();
  process.stdout.write(
    `${String(n).padStart(9)}  ${(n / buildSeconds).toFixed(0).padStart(12)}  ${q(times, 0.5).toFixed(2).padStart(14)}  ${q(times, 0.99).toFixed(2).padStart(14)}  ${(mem.heapUsed / 2 ** 20).toFixed(0).padStart(8)}  ${(process.resourceUsage().maxRSS / 1024).toFixed(0).padStart(11)}  ${(found / total).toFixed(4).padStart(15)}\n`,
  );
}
process.stdout.write(
  "\nranking = lexical tiers + BM25 + int8 vector scan with exact rescoring + fusion, query vector given; peak RSS is the process high-water mark so far\n",
);
process.exit(0);
