#!/usr/bin/env node
// Prints word, sentence and keyword statistics of a text file as JSON.
import { readFileSync } from "node:fs";

const STOP = new Set(
  "a an and are as at be but by for from has have in is it its of on or that the this to was were will with".split(
    " ",
  ),
);
const text = readFileSync(process.argv[2] ?? 0, "utf8");
const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
const sentences = text.split(/[.!?]+(?:\s|$)/).filter((s) => s.trim()).length;
const counts = new Map();
for (const w of words) if (!STOP.has(w) && w.length > 2) counts.set(w, (counts.get(w) ?? 0) + 1);
const keywords = [...counts]
  .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
  .slice(0, 10)
  .map(([w]) => w);
console.log(
  JSON.stringify(
    { words: words.length, sentences, readingMinutes: Math.ceil(words.length / 230), keywords },
    null,
    2,
  ),
);
