/**
 * Search relevance over the real corpus: the project's own judged queries
 * (bench/search-quality.json) ranked three ways in one run (hybrid, BM25 alone, embeddings
 * alone), with recall@1/5/10 and MRR@10 per query kind and overall. Then a grid search over the
 * hybrid weights, whose best setting is what DEFAULT_WEIGHTS should hold.
 *
 *   npm run bench:search-quality -- [corpus-dir]
 *
 * recall@k = |relevant in top k| / min(|relevant|, k), so a perfect ranking scores 1 even for
 * queries with many relevant skills. MRR@10 = 1 / rank of the first relevant skill (0 past 10).
 * Corpus vectors are cached in .bench-tmp/ (by text hash and embedder), so reruns are quick.
 */
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import {
  createLocalEmbedder,
  createSearchEngine,
  DEFAULT_WEIGHTS,
  documentText,
  type EngineDocument,
  type RankingMode,
  type RankingWeights,
} from "../src/search/index.ts";
import { findSkillDirs, validateSkillDir } from "../src/skill/index.ts";
import { openVectorCache } from "./vector-cache.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const corpus =
  process.argv.slice(2).find((a) => !a.startsWith("--")) ??
  join(ROOT, "../shared/corpus/openclaw-skills");
const skillsRoot = join(corpus, "skills");

interface Judgments {
  sets: Record<string, string[]>;
  queries: Array<{ kind: string; q: string; relevant: string[] }>;
}
const judgments = JSON.parse(
  readFileSync(join(ROOT, "bench/search-quality.json"), "utf8"),
) as Judgments;
const queries = judgments.queries.map((j) => ({
  ...j,
  relevant: new Set(
    j.relevant.flatMap((r) =>
      r.startsWith("@") ? (judgments.sets[r.slice(1)] ?? [`missing set ${r}`]) : [r],
    ),
  ),
}));

// ---- documents ------------------------------------------------------------------------------
const started = performance.now();
const dirs = await findSkillDirs([skillsRoot]);
const docs: EngineDocument[] = [];
for (const dir of dirs) {
  const report = await validateSkillDir(dir);
  const m = report.manifest;
  if (!m) continue;
  const id = relative(skillsRoot, dir);
  const tags = Array.isArray(m.metadata.tags) ? (m.metadata.tags as unknown[]).map(String) : [];
  docs.push({
    id,
    name: m.slug,
    owner: id.split("/")[0] ?? "",
    title: m.displayName,
    summary: m.description,
    tags,
    popularity: 0,
    text: documentText({ title: m.displayName, name: m.slug, summary: m.description, tags }),
  });
}
const known = new Set(docs.map((d) => d.id));
for (const q of queries) {
  for (const r of q.relevant)
    if (!known.has(r)) throw new Error(`judgment for "${q.q}" names an unknown skill: ${r}`);
}

// ---- vectors (cached on disk) ---------------------------------------------------------------
const embedder = createLocalEmbedder();
const vectorCache = openVectorCache(join(ROOT, ".bench-tmp"), embedder.id);
const store = vectorCache.store;
const cacheFile = vectorCache.file;

function engineWith(weights: Partial<RankingWeights>) {
  const engine = createSearchEngine({ embedder, vectors: store, weights, batchSize: 64 });
  for (const d of docs) engine.upsert(d);
  return engine;
}
const embedStart = performance.now();
const base = engineWith({});
await base.idle();
vectorCache.save();
const embedSeconds = (performance.now() - embedStart) / 1000;

// ---- evaluation -----------------------------------------------------------------------------
type Metrics = { r1: number; r5: number; r10: number; mrr: number; n: number };
async function evaluate(
  engine: ReturnType<typeof engineWith>,
  ranking: RankingMode,
): Promise<Record<string, Metrics>> {
  const byKind: Record<string, Metrics> = {};
  const add = (kind: string, m: Omit<Metrics, "n">) => {
    const row = byKind[kind] ?? { r1: 0, r5: 0, r10: 0, mrr: 0, n: 0 };
    row.r1 += m.r1;
    row.r5 += m.r5;
    row.r10 += m.r10;
    row.mrr += m.mrr;
    row.n++;
    byKind[kind] = row;
  };
  for (const q of queries) {
    const ids = (await engine.search(q.q, { limit: 10, ranking })).map((h) => h.id);
    const at = (k: number) =>
      ids.slice(0, k).filter((id) => q.relevant.has(id)).length / Math.min(q.relevant.size, k);
    const first = ids.findIndex((id) => q.relevant.has(id));
    const m = { r1: at(1), r5: at(5), r10: at(10), mrr: first >= 0 ? 1 / (first + 1) : 0 };
    add(q.kind, m);
    add("overall", m);
  }
  for (const row of Object.values(byKind)) {
    row.r1 /= row.n;
    row.r5 /= row.n;
    row.r10 /= row.n;
    row.mrr /= row.n;
  }
  return byKind;
}

const kinds = [...new Set(queries.map((q) => q.kind)), "overall"];
function table(results: Array<[string, Record<string, Metrics>]>): string {
  const lines = [
    `${"kind".padEnd(12)} ${"ranking".padEnd(10)} ${"n".padStart(3)}  recall@1  recall@5  recall@10  MRR@10`,
  ];
  for (const kind of kinds) {
    for (const [name, r] of results) {
      const m = r[kind];
      if (!m) continue;
      lines.push(
        `${kind.padEnd(12)} ${name.padEnd(10)} ${String(m.n).padStart(3)}  ${m.r1.toFixed(3).padStart(8)}  ${m.r5.toFixed(3).padStart(8)}  ${m.r10.toFixed(3).padStart(9)}  ${m.mrr.toFixed(3).padStart(6)}`,
      );
    }
  }
  return lines.join("\n");
}

const results: Array<[string, Record<string, Metrics>]> = [
  ["hybrid", await evaluate(base, "hybrid")],
  ["bm25", await evaluate(base, "bm25")],
  ["embedding", await evaluate(base, "embedding")],
];
process.stdout.write(
  `search quality: ${queries.length} judged queries over ${docs.length} skills (${corpus}); embedder ${embedder.id}; corpus embedded in ${embedSeconds.toFixed(1)} s (cache: ${cacheFile})\n\n` +
    `with DEFAULT_WEIGHTS ${JSON.stringify(DEFAULT_WEIGHTS)}\n${table(results)}\n\n`,
);

// ---- weight search --------------------------------------------------------------------------
const baseline = (name: string, kind: string) =>
  results.find(([n]) => n === name)?.[1][kind]?.mrr ?? 0;
const beatsBaselines = (r: Record<string, Metrics>) =>
  ["overall", "paraphrase"].every(
    (k) => (r[k]?.mrr ?? 0) > baseline("bm25", k) && (r[k]?.mrr ?? 0) > baseline("embedding", k),
  );
let best: { weights: Partial<RankingWeights>; metrics: Metrics; beats: boolean } | undefined;
const grid: Array<Partial<RankingWeights>> = [];
// Fusion styles x the BM25/cosine split x saturation x cosine floor x the query-adaptive
// weightings (agreement, coverage) x semantic feedback.
for (const fusion of ["linear", "relative", "rrf"] as const) {
  for (const bm25 of [0.2, 0.3, 0.4, 0.5]) {
    for (const minCosine of [0.2, 0.25]) {
      for (const bm25Saturation of fusion === "rrf" ? [4] : [2, 4, 8]) {
        for (const feedback of [0, 0.1, 0.2, 0.3]) {
          for (const feedbackDocs of feedback === 0 ? [3] : [1, 2, 3]) {
            for (const adaptivePower of [0, 2]) {
              grid.push({
                fusion,
                bm25,
                cosine: Number((1 - bm25).toFixed(2)),
                bm25Saturation,
                minCosine,
                feedback,
                feedbackDocs,
                adaptivePower,
                // Coverage scales the saturated BM25, which rank fusion does not read.
                coveragePower: fusion === "rrf" ? 0 : 1,
              });
            }
          }
        }
      }
    }
  }
}
for (const weights of grid) {
  // The same index, reweighted in place: weights are read per query.
  Object.assign(base.weights, DEFAULT_WEIGHTS, weights);
  const r = await evaluate(base, "hybrid");
  const overall = r.overall as Metrics;
  const beats = beatsBaselines(r);
  // Settings that beat both baselines overall and on paraphrases come first; then MRR@10.
  const better =
    !best ||
    (beats && !best.beats) ||
    (beats === best.beats &&
      (overall.mrr > best.metrics.mrr + 1e-9 ||
        (Math.abs(overall.mrr - best.metrics.mrr) < 1e-9 && overall.r10 > best.metrics.r10)));
  if (better) best = { weights, metrics: overall, beats };
}
if (best) {
  Object.assign(base.weights, DEFAULT_WEIGHTS, best.weights);
  const tuned = base;
  process.stdout.write(
    `best weights (${best.beats ? "beats BM25 and embeddings overall and on paraphrases" : "NO setting beats both baselines overall and on paraphrases"}; then by MRR@10): ${JSON.stringify(best.weights)}\n${table([["hybrid", await evaluate(tuned, "hybrid")]])}\n`,
  );
}
process.stdout.write(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
