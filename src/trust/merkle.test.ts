import { describe, expect, it } from "vitest";
import {
  CompactRange,
  completedNodes,
  consistencyProof,
  EMPTY_ROOT,
  type Hash,
  inclusionProof,
  leafHash,
  rootOf,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
} from "./merkle.ts";

const h = (hex: string) => Buffer.from(hex, "hex");

// RFC 6962 / 9162 test vectors of the transparency-dev Merkle library (the tree that Go's
// checksum database and Certificate Transparency share).
const LEAVES = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
].map(h);
const ROOTS = [
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
].map(h);
const INCLUSION: [index: number, size: number, proof: string[]][] = [
  [0, 1, []],
  [
    0,
    8,
    [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  ],
  [
    5,
    8,
    [
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  ],
  [2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]],
  [
    1,
    5,
    [
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  ],
];
const CONSISTENCY: [m: number, n: number, proof: string[]][] = [
  [1, 1, []],
  [
    1,
    8,
    [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  ],
  [
    6,
    8,
    [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  ],
  [
    2,
    5,
    [
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  ],
  [
    6,
    7,
    [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  ],
];

/** A node table filled the way the registry fills it: completedNodes on every append. */
async function buildTree(leaves: readonly Hash[]) {
  const nodes = new Map<string, Hash>();
  const read = (level: number, index: number) => {
    const hash = nodes.get(`${level}/${index}`);
    if (!hash) throw new Error(`node ${level}/${index} not stored`);
    return hash;
  };
  for (const [i, leaf] of leaves.entries())
    for (const n of await completedNodes(i, leaf, read)) nodes.set(`${n.level}/${n.index}`, n.hash);
  return read;
}

const flip = (hash: Uint8Array) => {
  const copy = Buffer.from(hash);
  copy[0] = (copy[0] ?? 0) ^ 8;
  return copy;
};

describe("RFC 9162 Merkle tree", () => {
  it("hashes leaves and roots as the published vectors say", async () => {
    const hashes = LEAVES.map(leafHash);
    const read = await buildTree(hashes);
    for (let size = 0; size <= 8; size++) {
      expect(rootOf(hashes.slice(0, size)).toString("hex")).toBe(ROOTS[size]?.toString("hex"));
      expect((await treeRoot(size, read)).toString("hex")).toBe(ROOTS[size]?.toString("hex"));
    }
    expect(EMPTY_ROOT.equals(ROOTS[0] as Hash)).toBe(true);
  });

  it("builds and verifies the published inclusion proofs, and refuses every corruption", async () => {
    const hashes = LEAVES.map(leafHash);
    const read = await buildTree(hashes);
    for (const [index, size, expected] of INCLUSION) {
      const proof = await inclusionProof(index, size, read);
      expect(proof.map((p) => p.toString("hex"))).toEqual(expected);
      const root = ROOTS[size] as Hash;
      const leaf = hashes[index] as Hash;
      expect(verifyInclusion(index, size, leaf, proof, root)).toBe(true);
      const wrong: [number, number, Uint8Array, Uint8Array[], Uint8Array][] = [
        [index + 1, size, leaf, proof, root],
        [index ^ 2, size, leaf, proof, root],
        [index, size * 2, leaf, proof, root],
        [index, size, leafHash(Buffer.from("WrongLeaf")), proof, root],
        [index, size, leaf, proof, EMPTY_ROOT],
        [index, size, leaf, [...proof, root], root],
        [index, size, leaf, [root, ...proof], root],
      ];
      for (const i of proof.keys())
        wrong.push([index, size, leaf, proof.map((p, j) => (i === j ? flip(p) : p)), root]);
      if (proof.length > 0) wrong.push([index, size, leaf, proof.slice(0, -1), root]);
      for (const w of wrong) expect(verifyInclusion(...w)).toBe(false);
    }
  });

  it("builds and verifies the published consistency proofs, and refuses every corruption", async () => {
    const read = await buildTree(LEAVES.map(leafHash));
    for (const [m, n, expected] of CONSISTENCY) {
      const proof = await consistencyProof(m, n, read);
      expect(proof.map((p) => p.toString("hex"))).toEqual(expected);
      const [rootM, rootN] = [ROOTS[m] as Hash, ROOTS[n] as Hash];
      expect(verifyConsistency(m, n, proof, rootM, rootN)).toBe(true);
      if (proof.length === 0) continue;
      const wrong: [number, number, Uint8Array[], Uint8Array, Uint8Array][] = [
        [m + 1, n, proof, rootM, rootN],
        [m, n * 2, proof, rootM, rootN],
        [m, n, proof, rootN, rootM],
        [m, n, proof, rootM, EMPTY_ROOT],
        [m, n, [], rootM, rootN],
        [m, n, [...proof, rootN], rootM, rootN],
        [m, n, [rootM, ...proof], rootM, rootN],
        [m, n, proof.slice(0, -1), rootM, rootN],
      ];
      for (const i of proof.keys())
        wrong.push([m, n, proof.map((p, j) => (i === j ? flip(p) : p)), rootM, rootN]);
      for (const w of wrong) expect(verifyConsistency(...w)).toBe(false);
    }
    // A log that shrank or changed its past is not consistent.
    expect(verifyConsistency(2, 1, [], ROOTS[2] as Hash, ROOTS[1] as Hash)).toBe(false);
    expect(verifyConsistency(3, 3, [], ROOTS[3] as Hash, ROOTS[4] as Hash)).toBe(false);
  });

  it("agrees with the reference root for every leaf and size pair of a 70-leaf tree", async () => {
    const hashes = Array.from({ length: 70 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
    const read = await buildTree(hashes);
    const compact = new CompactRange();
    for (let size = 1; size <= hashes.length; size++) {
      compact.append(hashes[size - 1] as Hash);
      const root = rootOf(hashes.slice(0, size));
      expect(compact.root().equals(root)).toBe(true);
      expect(new CompactRange(compact.size, compact.hashes).root().equals(root)).toBe(true);
      for (let index = 0; index < size; index++)
        expect(
          verifyInclusion(
            index,
            size,
            hashes[index] as Hash,
            await inclusionProof(index, size, read),
            root,
          ),
        ).toBe(true);
      for (let m = 1; m <= size; m++)
        expect(
          verifyConsistency(
            m,
            size,
            await consistencyProof(m, size, read),
            rootOf(hashes.slice(0, m)),
            root,
          ),
        ).toBe(true);
    }
    expect(() => new CompactRange(3, [])).toThrow(RangeError);
  });
});
