/**
 * The transparency log at registry scale: appends N statements to a fresh SQLite registry store
 * (in batches, as an upgrade backfills them), then times inclusion and consistency proofs built
 * from the stored subtree hashes (O(log n) reads) against the peer a naive log would use:
 * recomputing the tree from every leaf hash (O(n)). Also the client's verification of a proof.
 *
 *   npm run bench:tlog [-- --leaves 100000 --proofs 200]
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { openStore } from "../src/registry/index.ts";
import {
  consistencyProof,
  formatCheckpoint,
  generateNoteKey,
  type Hash,
  inclusionProof,
  leafHash,
  parseSignerKey,
  rootOf,
  signNote,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
} from "../src/trust/index.ts";

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const LEAVES = arg("leaves", 100_000);
const PROOFS = arg("proofs", 200);

const dir = await mkdtemp(join(tmpdir(), "clawhub-bench-tlog-"));
const store = await openStore({ dataDir: dir });
try {
  const signer = parseSignerKey(generateNoteKey("bench.local/log").signer);
  const sign = (size: number, root: Buffer) =>
    signNote(formatCheckpoint({ origin: "bench.local/log", size, root }), signer);
  // Leaves need version rows (a foreign key): one skill, N version rows written directly.
  const owner = await store.createUser({
    id: randomUUID(),
    handle: "bench",
    displayName: null,
    role: "user",
    disabled: false,
    createdAt: 0,
  });
  const skillId = randomUUID();
  await store.publish({
    skill: { id: skillId, ownerId: owner.id, slug: "bench", displayName: "bench", summary: null },
    version: {
      id: randomUUID(),
      version: "0.0.0",
      changelog: "",
      fingerprint: "f",
      integrity: "sha512-x",
      zipSha256: "0".repeat(64),
      zipSize: 1,
      fileCount: 1,
      unpackedSize: 1,
      manifest: "{}",
      publisherId: owner.id,
      createdAt: 0,
    },
    files: [],
    tags: [],
    now: 0,
  });
  const raw = await import("../src/registry/store/index.ts");
  const kdb = raw.openSqlite(join(dir, "registry.db"));
  const leaves: Hash[] = [];
  let appendMs = 0;
  for (let start = 0; start < LEAVES; start += 1000) {
    const ids: string[] = [];
    const n = Math.min(1000, LEAVES - start);
    const rows = Array.from({ length: n }, (_, i) => {
      const id = randomUUID();
      ids.push(id);
      return `('${id}', '${skillId}', '1.0.${start + i}', 'k', '', 'f', 'sha512-x', '${"0".repeat(64)}', 1, 1, 1, '{}', '${owner.id}', 0, NULL)`;
    });
    await sql
      .raw(
        `INSERT INTO versions (id, skill_id, version, sort_key, changelog, fingerprint, integrity, zip_sha256, zip_size, file_count, unpacked_size, manifest, publisher_id, created_at, deleted_at) VALUES ${rows.join(",")}`,
      )
      .execute(kdb);
    const entries = ids.map((versionId, i) => {
      const statement = Buffer.from(`{"statement":${start + i}}`);
      leaves.push(leafHash(statement));
      return { versionId, statement, envelope: "{}" };
    });
    const t = performance.now();
    await store.log.append(entries, sign, 0);
    appendMs += performance.now() - t;
  }
  await kdb.destroy();
  const size = await store.log.size();
  const root = await treeRoot(size, store.log.node);

  const percentile = (xs: number[], p: number) =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? 0;
  const time = async (fn: () => Promise<unknown> | unknown, n: number) => {
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await fn();
      ms.push(performance.now() - t);
    }
    return { p50: percentile(ms, 0.5), p99: percentile(ms, 0.99) };
  };
  const pick = () => Math.floor(Math.random() * size);
  const inclusion = await time(async () => {
    const index = pick();
    const proof = await inclusionProof(index, size, store.log.node);
    if (!verifyInclusion(index, size, leaves[index] as Hash, proof, root)) throw new Error("bad");
  }, PROOFS);
  const consistency = await time(() => consistencyProof(1 + pick(), size, store.log.node), PROOFS);
  // One consistency proof checked in full (the old root rebuilt from its leaves once).
  const m = Math.max(1, Math.floor(size / 3));
  if (
    !verifyConsistency(
      m,
      size,
      await consistencyProof(m, size, store.log.node),
      rootOf(leaves.slice(0, m)),
      root,
    )
  )
    throw new Error("consistency proof does not verify");
  const sample = pick();
  const sampleProof = await inclusionProof(sample, size, store.log.node);
  const verifyOnly = await time(
    () => verifyInclusion(sample, size, leaves[sample] as Hash, sampleProof, root),
    PROOFS,
  );
  // The peer: a log without stored subtrees recomputes the root from every leaf for each proof.
  const naive = await time(() => rootOf(leaves), Math.min(PROOFS, 20));
  process.stdout.write(
    [
      `transparency log, SQLite, ${size} leaves (appended 1,000 a transaction: ${(appendMs / (size / 1000)).toFixed(1)} ms a batch, ${((1000 * size) / appendMs).toFixed(0)} leaves/s)`,
      `  inclusion proof from stored subtrees, built and verified: p50 ${inclusion.p50.toFixed(2)} ms, p99 ${inclusion.p99.toFixed(2)} ms`,
      `  consistency proof from stored subtrees, built: p50 ${consistency.p50.toFixed(2)} ms, p99 ${consistency.p99.toFixed(2)} ms`,
      `  peer: recomputing the root from all ${size} leaf hashes: p50 ${naive.p50.toFixed(1)} ms (${(naive.p50 / inclusion.p50).toFixed(0)}x an inclusion proof)`,
      `  a client's verification of an inclusion proof: p50 ${verifyOnly.p50.toFixed(3)} ms`,
      "",
    ].join("\n"),
  );
} finally {
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
