/**
 * Search relevance over the real corpus: the project's judged queries (bench/search-quality.json,
 * 340 queries, split into a tune half and a test half) ranked by every method in one run, with
 * recall@5 and MRR@10 per query kind and overall on each half. Methods are chosen on the tune
 * half; the test half says whether the choice holds on queries nothing was fitted to.
 *
 *   npm run bench:search-quality -- [corpus-dir] [--check]
 *
 * `--check` only checks the judgments (below) and exits.
 *
 * Before ranking, it checks the judgments: every id names a skill of the corpus, no paraphrase
 * shares a distinctive word (one in fewer than 2% of the skills) with a skill it is judged
 * relevant to, and no skill with the same description as a relevant one is left unlabelled
 * (clones); it reports what it finds. recall@k = |relevant in top k| / min(|relevant|, k);
 * MRR@10 = 1 / rank of the first relevant skill (0 past 10). Corpus vectors are cached in
 * .bench-tmp/ (by text hash and embedder), so reruns are quick.
 */
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { CAPABILITY_WEIGHTS } from "../src/hub/index.ts";
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
  queries: Array<{ kind: string; split: "tune" | "test"; q: string; relevant: string[] }>;
}
const judgments = JSON.parse(
  readFileSync(join(ROOT, "bench/search-quality.json"), "utf8"),
) as Judgments;
const expand = (ids: string[]): string[] =>
  ids.flatMap((r) =>
    r.startsWith("@") ? expand(judgments.sets[r.slice(1)] ?? [`missing set ${r}`]) : [r],
  );
const queries = judgments.queries.map((j) => ({ ...j, relevant: new Set(expand(j.relevant)) }));

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

// ---- the judgments' own checks ------------------------------------------------------------
const STOP = new Set(
  "a an the of to in on for and or my me i is are be it this that with from at by as what how do does did can will should which who when where why your our we you there their them these those all any some into out up down over about than then so not no yes get give make let please just now today tomorrow tonight".split(
    " ",
  ),
);
const words = (text: string) =>
  new Set(
    (text.toLowerCase().match(/[a-z0-9]+/g) ?? [])
      .map((w) => (w.length > 3 && w.endsWith("s") && !w.endsWith("ss") ? w.slice(0, -1) : w))
      .filter((w) => !STOP.has(w)),
  );
const byId = new Map(docs.map((d) => [d.id, d]));
const docWords = new Map(
  docs.map((d) => [d.id, words(`${d.id.split("/").at(-1)} ${d.name} ${d.title} ${d.summary}`)]),
);
const df = new Map<string, number>();
for (const ws of docWords.values()) for (const w of ws) df.set(w, (df.get(w) ?? 0) + 1);
const shares: string[] = [];
for (const q of queries.filter((q) => q.kind === "paraphrase")) {
  const qw = words(q.q);
  for (const id of q.relevant) {
    const common = [...qw].filter(
      (w) => docWords.get(id)?.has(w) && (df.get(w) ?? 0) < 0.02 * docs.length,
    );
    if (common.length > 0) {
      shares.push(`${q.split} "${q.q}" shares ${common.join(", ")} with ${id}`);
      break;
    }
  }
}
const description = (id: string) =>
  (byId.get(id)?.summary ?? "").toLowerCase().replace(/\W+/g, " ").trim().slice(0, 200);
const sameDescription = new Map<string, string[]>();
for (const d of docs) {
  const key = description(d.id);
  sameDescription.set(key, [...(sameDescription.get(key) ?? []), d.id]);
}
let unlabelledClones = 0;
for (const q of queries)
  for (const id of [...q.relevant])
    for (const clone of sameDescription.get(description(id)) ?? [])
      if (!q.relevant.has(clone)) {
        unlabelledClones++;
        q.relevant.add(clone);
      }

if (process.argv.includes("--check")) {
  process.stdout.write(
    `${queries.length} queries; ${shares.length} paraphrase(s) sharing a distinctive word with a target${shares.length ? `:\n  ${shares.join("\n  ")}` : ""}\n${unlabelledClones} unlabelled clone(s)\n`,
  );
  process.exit(0);
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
type Metrics = { r5: number; mrr: number; n: number };
type Scores = Record<string, Metrics>;
/** Metrics per "<split> <kind>" and "<split> overall". */
async function evaluate(
  engine: ReturnType<typeof engineWith>,
  ranking: RankingMode,
): Promise<Scores> {
  const rows: Scores = {};
  const add = (key: string, m: Omit<Metrics, "n">) => {
    const row = rows[key] ?? { r5: 0, mrr: 0, n: 0 };
    row.r5 += m.r5;
    row.mrr += m.mrr;
    row.n++;
    rows[key] = row;
  };
  for (const q of queries) {
    const ids = (await engine.search(q.q, { limit: 10, ranking })).map((h) => h.id);
    const r5 =
      ids.slice(0, 5).filter((id) => q.relevant.has(id)).length / Math.min(q.relevant.size, 5);
    const first = ids.findIndex((id) => q.relevant.has(id));
    const m = { r5, mrr: first >= 0 ? 1 / (first + 1) : 0 };
    add(`${q.split} ${q.kind}`, m);
    add(`${q.split} overall`, m);
  }
  for (const row of Object.values(rows)) {
    row.r5 /= row.n;
    row.mrr /= row.n;
  }
  return rows;
}

/** A method: a ranking mode and weights over the shipped defaults. */
interface Method {
  name: string;
  ranking: RankingMode;
  weights: Partial<RankingWeights>;
}
const BASELINE: Partial<RankingWeights> = {
  fusion: "max",
  bm25: 0.2,
  cosine: 1,
  feedback: 0,
  tiers: false,
};
const methods: Method[] = [
  { name: "shipped", ranking: "hybrid", weights: {} },
  { name: "BM25 alone", ranking: "bm25", weights: {} },
  { name: "embedding alone", ranking: "embedding", weights: {} },
  { name: "baseline: cos + 0.2 bm25/max", ranking: "hybrid", weights: BASELINE },
];
// Candidates, each a small change from the baseline: the BM25 weight, the name tiers, semantic
// feedback, and the earlier fusions (rank fusion as shipped before, saturated linear).
for (const bm25 of [0.1, 0.2, 0.3, 0.5])
  for (const tiers of [false, true])
    for (const feedback of [0, 0.1])
      methods.push({
        name: `max bm25 ${bm25}${tiers ? " tiers" : ""}${feedback ? ` fb ${feedback}` : ""}`,
        ranking: "hybrid",
        weights: { ...BASELINE, bm25, tiers, feedback },
      });
for (const tiers of [false, true])
  methods.push(
    {
      name: `rrf 0.3/0.7 fb 0.2${tiers ? " tiers" : ""}`,
      ranking: "hybrid",
      weights: { fusion: "rrf", bm25: 0.3, cosine: 0.7, feedback: 0.2, tiers },
    },
    {
      name: `linear saturated 0.3/0.7${tiers ? " tiers" : ""}`,
      ranking: "hybrid",
      weights: { fusion: "linear", bm25: 0.3, cosine: 0.7, feedback: 0, tiers },
    },
  );

const results: Array<[Method, Scores]> = [];
for (const m of methods) {
  // The same index, reweighted in place: weights are read per query.
  Object.assign(base.weights, DEFAULT_WEIGHTS, m.weights);
  results.push([m, await evaluate(base, m.ranking)]);
}
Object.assign(base.weights, DEFAULT_WEIGHTS);

const kinds = ["paraphrase", "keyword", "exact", "task", "overall"];
const fmt = (m: Metrics | undefined) => (m ? `${m.r5.toFixed(3)} / ${m.mrr.toFixed(3)}` : "-");
const counts = (split: string) =>
  kinds
    .map(
      (k) =>
        `${k} ${queries.filter((q) => q.split === split && (k === "overall" || q.kind === k)).length}`,
    )
    .join(", ");
const lines = [
  `search quality: ${queries.length} judged queries over ${docs.length} skills (${corpus}); embedder ${embedder.id}; corpus embedded in ${embedSeconds.toFixed(1)} s (cache: ${cacheFile})`,
  `judgments: ${shares.length} paraphrase(s) sharing a distinctive word with a target${shares.length ? `:\n  ${shares.join("\n  ")}` : ""}`,
  `judgments: ${unlabelledClones} unlabelled clone(s) (same description as a relevant skill) counted relevant`,
  `tune: ${counts("tune")}; test: ${counts("test")}`,
  "",
  "recall@5 / MRR@10 per kind, tune half then test half",
  `| method | ${kinds.map((k) => `tune ${k}`).join(" | ")} | ${kinds.map((k) => `test ${k}`).join(" | ")} |`,
  `|---|${kinds.map(() => "---").join("|")}|${kinds.map(() => "---").join("|")}|`,
  ...results.map(
    ([m, r]) =>
      `| ${m.name} | ${kinds.map((k) => fmt(r[`tune ${k}`])).join(" | ")} | ${kinds.map((k) => fmt(r[`test ${k}`])).join(" | ")} |`,
  ),
];
// The pick: the best tune overall MRR@10 among hybrid methods; the test half then says whether
// it beats the baseline on queries it was not chosen on.
const hybrid = results.filter(([m]) => m.ranking === "hybrid");
const pick = hybrid.reduce((a, b) =>
  (b[1]["tune overall"]?.mrr ?? 0) > (a[1]["tune overall"]?.mrr ?? 0) + 1e-9 ? b : a,
);
const baseline = results.find(([m]) => m.name.startsWith("baseline"))?.[1] as Scores;
const versus = (r: Scores, key: string) =>
  `${fmt(r[key])} against the baseline's ${fmt(baseline[key])}`;
lines.push(
  "",
  `best on tune (overall MRR@10): ${pick[0].name} ${JSON.stringify(pick[0].weights)}`,
  `  test overall ${versus(pick[1], "test overall")}; test paraphrase ${versus(pick[1], "test paraphrase")}`,
  `shipped (DEFAULT_WEIGHTS): test overall ${versus(results[0]?.[1] as Scores, "test overall")}; test paraphrase ${versus(results[0]?.[1] as Scores, "test paraphrase")}`,
);

// ---- the hub's capability discovery -----------------------------------------------------------
// The hub indexes each capability as its name and description (src/hub/capabilities.ts) and
// routes a call by query to the best hit: paraphrased needs must still reach the right one.
const capabilities: Array<[string, string]> = [
  ["text.summarize", "Summarize a long text into a few sentences"],
  ["text.translate", "Translate text between languages"],
  ["image.generate", "Generate an image from a text prompt"],
  ["audio.transcribe", "Transcribe speech in an audio file to text"],
  ["speech.synthesize", "Turn text into spoken audio"],
  ["payments.charge", "Charge a customer's card for an order"],
  ["payments.refund", "Refund a payment to the customer"],
  ["email.send", "Send an email message"],
  ["calendar.schedule", "Create a calendar event with attendees"],
  ["weather.forecast", "Get the weather forecast for a place"],
  ["code.review", "Review a code change and point out bugs"],
  ["db.query", "Run a SQL query against the analytics database"],
];
const needs: Array<[string, string]> = [
  ["give me the gist of this report in three lines", "text.summarize"],
  ["boil this article down to its main points", "text.summarize"],
  ["put this paragraph into Spanish", "text.translate"],
  ["what does this German sentence mean in English", "text.translate"],
  ["draw a cat wearing a space helmet", "image.generate"],
  ["make a picture for my blog header", "image.generate"],
  ["write down what was said in this recording", "audio.transcribe"],
  ["turn the voicemail into words I can read", "audio.transcribe"],
  ["read this out loud", "speech.synthesize"],
  ["make an mp3 of me saying this paragraph in a calm voice", "speech.synthesize"],
  ["take the money for order 42", "payments.charge"],
  ["bill the buyer's visa for the basket", "payments.charge"],
  ["give the client their money back", "payments.refund"],
  ["the customer returned the shoes, reverse the charge", "payments.refund"],
  ["mail the invoice to the accountant", "email.send"],
  ["drop Bob a note in his inbox", "email.send"],
  ["set up a meeting with Ana and Li on Friday", "calendar.schedule"],
  ["put lunch with the team in my agenda", "calendar.schedule"],
  ["will it rain in Lisbon tomorrow", "weather.forecast"],
  ["do I need sunscreen this afternoon", "weather.forecast"],
  ["look over my pull request for mistakes", "code.review"],
  ["is there anything wrong with this diff", "code.review"],
  ["how many signups did we have last week according to the warehouse", "db.query"],
  ["pull the top ten customers by revenue from our tables", "db.query"],
];
// The example agents' capabilities (examples/agents), as `clawhub demo` registers them.
const examples: Array<[string, string]> = [
  [
    "doc.chunk",
    "Document chunking: splits a long document into overlapping chunks of a token budget at paragraph boundaries, for retrieval or map-reduce.",
  ],
  [
    "llm.chat",
    "Language model chat: answers a prompt or question in natural language, drafts, rewrites and reasons over text.",
  ],
  [
    "report.compose",
    "Report writing: composes keywords, a summary and statistics into a short Markdown brief.",
  ],
  [
    "text.summarize",
    "Extractive summarisation: condenses a document to its most informative sentences, kept in their original order.",
  ],
  [
    "text.stats",
    "Text statistics: counts words, sentences, paragraphs and characters, estimates tokens and reading time.",
  ],
  [
    "text.keywords",
    "Keyword extraction: finds the most important words and two-word phrases of a text, ranked by frequency.",
  ],
  ["weather.live", "Current weather for a city from a live upstream service."],
  ["weather.cached", "Last known weather for a city from a local cache."],
];
const exampleNeeds: Array<[string, string]> = [
  ["condense a long article into a few key sentences", "text.summarize"],
  ["break a big file into smaller pieces for retrieval", "doc.chunk"],
  ["ask a language model a question", "llm.chat"],
  ["how many words are in my essay", "text.stats"],
  ["how long will it take to read this", "text.stats"],
  ["what are the main terms this text is about", "text.keywords"],
  ["write me a short brief with the stats and gist of this document", "report.compose"],
  ["is it raining in Paris right now", "weather.live"],
  ["give me the shortest version of this memo", "text.summarize"],
  ["split the manual into passages for my vector store", "doc.chunk"],
  ["rewrite this email so it sounds friendlier", "llm.chat"],
  ["which phrases come up most often in these reviews", "text.keywords"],
];
const catalogs = [
  { name: "our own", capabilities, needs },
  { name: "the example agents'", capabilities: examples, needs: exampleNeeds },
];
const routing: Method[] = [
  methods[0] as Method,
  methods[3] as Method,
  {
    name: "rrf 0.3/0.7 fb 0.2 tiers (shipped before)",
    ranking: "hybrid",
    weights: { fusion: "rrf", bm25: 0.3, cosine: 0.7, feedback: 0.2, tiers: true },
  },
  { name: "the hub's (CAPABILITY_WEIGHTS)", ranking: "hybrid", weights: CAPABILITY_WEIGHTS },
];
for (const catalog of catalogs) {
  const engine = createSearchEngine({ embedder, batchSize: 64 });
  for (const [name, description] of catalog.capabilities)
    engine.upsert({
      id: name,
      name,
      title: "",
      summary: description,
      tags: [],
      owner: "",
      popularity: 0,
      text: `${name.replace(/[._-]+/g, " ")}. ${description}`,
    });
  await engine.idle();
  lines.push(
    "",
    `hub capability discovery: ${catalog.needs.length} paraphrased needs over ${catalog.capabilities.length} capabilities (${catalog.name}), routed to the best hit`,
  );
  for (const m of routing) {
    Object.assign(engine.weights, DEFAULT_WEIGHTS, m.weights);
    let right = 0;
    for (const [need, capability] of catalog.needs)
      if ((await engine.search(need, { limit: 1, ranking: m.ranking }))[0]?.id === capability)
        right++;
    lines.push(`  ${m.name}: ${right}/${catalog.needs.length} routed right`);
  }
}
lines.push(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.stdout.write(`${lines.join("\n")}\n`);
