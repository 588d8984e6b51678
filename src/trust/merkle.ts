/**
 * The transparency log's Merkle tree, per RFC 9162 §2.1: SHA-256, leaves hashed as
 * `H(0x00 || data)` and interior nodes as `H(0x01 || left || right)`, so a leaf can never pass
 * for a node. Proofs are built from the hashes of complete, aligned subtrees (what the registry
 * stores as it appends), so a proof costs O(log n) reads however large the log is.
 */
import { createHash } from "node:crypto";

/** A SHA-256 hash: 32 bytes. */
export type Hash = Buffer;

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

/** The root of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT: Hash = createHash("sha256").digest();

/** `H(0x00 || data)`. */
export const leafHash = (data: Uint8Array): Hash =>
  createHash("sha256").update(LEAF).update(data).digest();

/** `H(0x01 || left || right)`. */
export const nodeHash = (left: Uint8Array, right: Uint8Array): Hash =>
  createHash("sha256").update(NODE).update(left).update(right).digest();

/** The largest power of two smaller than `n` (n > 1). */
const split = (n: number) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};

const isPowerOfTwo = (n: number) => n > 0 && Number.isInteger(Math.log2(n));

/** The root of a whole tree from its leaf hashes (the reference: O(n), for tests and checks). */
export function rootOf(leaves: readonly Hash[]): Hash {
  if (leaves.length === 0) return EMPTY_ROOT;
  const mth = (start: number, end: number): Hash => {
    if (end - start === 1) return leaves[start] as Hash;
    const k = split(end - start);
    return nodeHash(mth(start, start + k), mth(start + k, end));
  };
  return mth(0, leaves.length);
}

/**
 * Reads the hash of a complete, aligned subtree: `level` 0 is a leaf hash, level `l` covers
 * leaves `[index·2^l, (index+1)·2^l)`.
 */
export type NodeReader = (level: number, index: number) => Hash | Promise<Hash>;

/** A range of leaves `[start, end)` whose hash a proof carries. */
export type Range = readonly [start: number, end: number];

/**
 * The hash of a subtree of the RFC 9162 tree (`MTH(D[start:end])`, with `start` aligned the
 * way every subtree of the tree is): complete parts are read, the ragged right edge is folded.
 */
export async function rangeHash(range: Range, read: NodeReader): Promise<Hash> {
  const [start, end] = range;
  const n = end - start;
  if (n <= 0) throw new RangeError("empty range");
  if (isPowerOfTwo(n) && start % n === 0) return read(Math.log2(n), start / n);
  const k = split(n);
  return nodeHash(
    await rangeHash([start, start + k], read),
    await rangeHash([start + k, end], read),
  );
}

/** The ranges of `PATH(index, D[0:size])` (RFC 9162 §2.1.3.1), nearest the leaf first. */
export function inclusionRanges(index: number, size: number): Range[] {
  if (!(index >= 0 && index < size))
    throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const path = (m: number, start: number, end: number): Range[] => {
    const n = end - start;
    if (n === 1) return [];
    const k = split(n);
    return m < k
      ? [...path(m, start, start + k), [start + k, end]]
      : [...path(m - k, start + k, end), [start, start + k]];
  };
  return path(index, 0, size);
}

/** The ranges of `PROOF(m, D[0:n])` (RFC 9162 §2.1.4.1), nearest the old tree's edge first. */
export function consistencyRanges(m: number, n: number): Range[] {
  if (!(m > 0 && m <= n)) throw new RangeError(`no consistency proof from ${m} to ${n}`);
  const sub = (m: number, start: number, end: number, whole: boolean): Range[] => {
    const size = end - start;
    if (m === size) return whole ? [] : [[start, end]];
    const k = split(size);
    return m <= k
      ? [...sub(m, start, start + k, whole), [start + k, end]]
      : [...sub(m - k, start + k, end, false), [start, start + k]];
  };
  return sub(m, 0, n, true);
}

/** The inclusion proof of leaf `index` in the tree of `size` leaves. */
export async function inclusionProof(index: number, size: number, read: NodeReader) {
  const proof: Hash[] = [];
  for (const range of inclusionRanges(index, size)) proof.push(await rangeHash(range, read));
  return proof;
}

/** The consistency proof between the trees of `m` and `n` leaves (empty when m is 0 or n). */
export async function consistencyProof(m: number, n: number, read: NodeReader) {
  if (m === 0 || m === n) return [];
  const proof: Hash[] = [];
  for (const range of consistencyRanges(m, n)) proof.push(await rangeHash(range, read));
  return proof;
}

/** The root of a tree of `size` leaves (EMPTY_ROOT for none). */
export async function treeRoot(size: number, read: NodeReader): Promise<Hash> {
  return size === 0 ? EMPTY_ROOT : rangeHash([0, size], read);
}

/**
 * The complete subtrees that appending leaf `index` (hash `leaf`) completes, leaf first: what
 * the store writes beside the leaf so later proofs read instead of recompute.
 */
export async function completedNodes(index: number, leaf: Hash, read: NodeReader) {
  const nodes: { level: number; index: number; hash: Hash }[] = [{ level: 0, index, hash: leaf }];
  let hash = leaf;
  for (let level = 1; (index + 1) % 2 ** level === 0; level++) {
    const at = (index + 1) / 2 ** level - 1;
    hash = nodeHash(await read(level - 1, 2 * at), hash);
    nodes.push({ level, index: at, hash });
  }
  return nodes;
}

const lsb = (n: number) => n % 2 === 1;
const is32 = (hash: Uint8Array) => hash.length === 32;
const half = (n: number) => Math.floor(n / 2);

/** Checks an inclusion proof (RFC 9162 §2.1.3.2). */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size))
    return false;
  if (![leaf, root, ...proof].every(is32)) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!lsb(fn))
        while (!lsb(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && Buffer.from(r).equals(root);
}

/** Checks a consistency proof between the trees of `m` and `n` leaves (RFC 9162 §2.1.4.2). */
export function verifyConsistency(
  m: number,
  n: number,
  proof: readonly Uint8Array[],
  rootM: Uint8Array,
  rootN: Uint8Array,
): boolean {
  if (!(Number.isSafeInteger(m) && Number.isSafeInteger(n) && m >= 0 && m <= n)) return false;
  if (![rootM, rootN, ...proof].every(is32)) return false;
  if (m === n) return proof.length === 0 && Buffer.from(rootM).equals(rootN);
  // Every tree is consistent with the empty one.
  if (m === 0) return proof.length === 0 && Buffer.from(rootM).equals(EMPTY_ROOT);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(m) ? [rootM, ...proof] : [...proof];
  let fn = m - 1;
  let sn = n - 1;
  while (lsb(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Uint8Array = path[0] as Uint8Array;
  let sr: Uint8Array = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!lsb(fn))
        while (!lsb(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && Buffer.from(fr).equals(rootM) && Buffer.from(sr).equals(rootN);
}

/**
 * The right edge of a tree (one hash per complete subtree, largest first): what a monitor keeps
 * to follow a log, appending the leaves it reads and comparing roots with signed checkpoints,
 * in O(log n) memory.
 */
export class CompactRange {
  #size = 0;
  #hashes: Hash[] = [];

  constructor(size = 0, hashes: readonly Hash[] = []) {
    let expected = 0;
    for (let s = size; s > 0; s &= s - 1) expected++;
    if (hashes.length !== expected)
      throw new RangeError("a compact range needs one hash per set bit");
    this.#size = size;
    this.#hashes = [...hashes];
  }

  get size(): number {
    return this.#size;
  }

  /** The hashes, largest subtree first (to persist). */
  get hashes(): readonly Hash[] {
    return this.#hashes;
  }

  append(leaf: Hash): void {
    let hash = leaf;
    // Each trailing set bit of the old size is a subtree the new leaf completes.
    for (let s = this.#size; lsb(s); s = half(s)) hash = nodeHash(this.#hashes.pop() as Hash, hash);
    this.#hashes.push(hash);
    this.#size++;
  }

  root(): Hash {
    if (this.#hashes.length === 0) return EMPTY_ROOT;
    let hash = this.#hashes[this.#hashes.length - 1] as Hash;
    for (let i = this.#hashes.length - 2; i >= 0; i--)
      hash = nodeHash(this.#hashes[i] as Hash, hash);
    return hash;
  }
}
