import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildZip, type RawEntry } from "../../test/helpers/hostile-zip.ts";
import { isClawHubError } from "../errors/index.ts";
import { extractZip, removeStaleStaging, resolveLimits } from "./index.ts";

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "clawhub-extract-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const ok: RawEntry = { name: "SKILL.md", data: "---\nname: x\ndescription: y\n---\nbody\n" };

/** Extracts and returns the rule of the refusal; also asserts nothing was left behind. */
async function refusal(entries: RawEntry[] | Buffer, limits = resolveLimits()): Promise<string> {
  const zip = Buffer.isBuffer(entries) ? entries : buildZip(entries);
  const dest = join(work, "out");
  const error = await extractZip(zip, dest, { limits }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isClawHubError(error), `expected a refusal, got ${String(error)}`).toBe(true);
  if (!isClawHubError(error)) throw error;
  expect(error.code).toBe("UNSAFE_ARCHIVE");
  // All or nothing: no destination and no temporary directory remain.
  expect(await readdir(work)).toEqual([]);
  return String(error.details?.rule);
}

describe("safe extraction", () => {
  it("refuses an archive that holds no SKILL.md, or nothing at all", async () => {
    expect(await refusal([])).toBe("archive.not-a-skill");
    expect(await refusal([{ name: "README.md", data: "hi" }])).toBe("archive.not-a-skill");
    expect(await refusal([{ name: "docs/SKILL.md", data: "nested" }])).toBe("archive.not-a-skill");
  });

  it("hashes files while writing them and commits what beforeCommit adds with them", async () => {
    const zip = buildZip([ok, { name: "a.txt", data: "hello" }]);
    const dest = join(work, "out");
    const result = await extractZip(zip, dest, {
      beforeCommit: async (staging, files) => {
        // The destination does not exist yet: the staged files and the extra file appear at once.
        await expect(stat(dest)).rejects.toThrow();
        await writeFile(join(staging, "extra.json"), JSON.stringify(files.map((f) => f.path)));
      },
    });
    expect(result.files.find((f) => f.path === "a.txt")?.sha256).toBe(
      createHash("sha256").update("hello").digest("hex"),
    );
    expect(JSON.parse(await readFile(join(dest, "extra.json"), "utf8"))).toEqual([
      "SKILL.md",
      "a.txt",
    ]);
  });

  it("stops when aborted and leaves no staging folder; stale staging of dead processes goes", async () => {
    const ac = new AbortController();
    ac.abort();
    const error = await extractZip(buildZip([ok]), join(work, "out"), { signal: ac.signal }).catch(
      (e: unknown) => e,
    );
    expect(isClawHubError(error) && error.code).toBe("CANCELLED");
    expect(await readdir(work)).toEqual([]);
    // A folder left by a killed process (pid not running) is removed; ours and others' stay.
    const dead = ".x.clawhub-tmp-999999999-abcdef";
    const mine = `.y.clawhub-tmp-${process.pid}-abcdef`;
    for (const name of [dead, mine, "kept"]) await mkdir(join(work, name));
    expect(await removeStaleStaging(work)).toEqual([join(work, dead)]);
    expect((await readdir(work)).sort()).toEqual([mine, "kept"].sort());
  });

  it("extracts a normal archive, keeping 0755 for executables", async () => {
    const zip = buildZip([
      ok,
      { name: "scripts/run.sh", data: "#!/bin/sh\necho hi\n", unixMode: 0o100755 },
    ]);
    const result = await extractZip(zip, join(work, "out"));
    expect(result.files.map((f) => f.path)).toEqual(["SKILL.md", "scripts/run.sh"]);
    expect((await stat(join(work, "out/scripts/run.sh"))).mode & 0o7777).toBe(0o755);
    expect((await stat(join(work, "out/SKILL.md"))).mode & 0o7777).toBe(0o644);
    expect(await readFile(join(work, "out/scripts/run.sh"), "utf8")).toBe("#!/bin/sh\necho hi\n");
  });

  it("strips setuid, setgid and sticky bits", async () => {
    const zip = buildZip([
      ok,
      { name: "suid", data: "x", unixMode: 0o106755 },
      { name: "sticky", data: "y", unixMode: 0o101644 },
    ]);
    await extractZip(zip, join(work, "out"));
    expect((await stat(join(work, "out/suid"))).mode & 0o7777).toBe(0o755);
    expect((await stat(join(work, "out/sticky"))).mode & 0o7777).toBe(0o644);
  });

  it.each([
    ["../evil", "entry.path-traversal"],
    ["a/../../evil", "entry.path-traversal"],
    ["a/..", "entry.path-traversal"],
    ["/etc/passwd", "entry.absolute-path"],
    ["..\\evil", "entry.backslash"],
    ["a\\b", "entry.backslash"],
    ["C:/Windows/evil", "entry.drive-letter"],
    ["c:evil", "entry.drive-letter"],
    ["a//b", "entry.name-invalid"],
    ["./a", "entry.name-invalid"],
    ["a\u0001b", "entry.name-invalid"],
    ["invoice\u202Efdp.sh", "entry.name-bidi"],
    ["scripts/\u2066x\u2069.md", "entry.name-bidi"],
  ])("refuses the name %j as %s", async (name, rule) => {
    expect(await refusal([ok, { name, data: "x" }])).toBe(rule);
  });

  it("refuses a NUL byte in a name", async () => {
    expect(await refusal([ok, { name: Buffer.from("a\0b.md") }])).toBe("entry.name-nul");
  });

  it("refuses overlong names and path segments", async () => {
    expect(await refusal([ok, { name: `${"d/".repeat(600)}f` }])).toBe("entry.name-too-long");
    expect(await refusal([ok, { name: `${"x".repeat(256)}.md` }])).toBe("entry.name-too-long");
  });

  it("accepts a segment of exactly 255 bytes", async () => {
    const zip = buildZip([ok, { name: `${"x".repeat(252)}.md`, data: "x" }]);
    await expect(extractZip(zip, join(work, "out"))).resolves.toBeTruthy();
  });

  it("refuses names that are not UTF-8", async () => {
    expect(await refusal([ok, { name: Buffer.from([0x61, 0xff, 0x62]), flags: 0 }])).toBe(
      "entry.name-encoding",
    );
  });

  it("refuses symlinks, hard links and special files", async () => {
    expect(await refusal([ok, { name: "link", data: "/etc/passwd", unixMode: 0o120777 }])).toBe(
      "entry.symlink",
    );
    expect(await refusal([ok, { name: "fifo", unixMode: 0o010644 }])).toBe("entry.special-file");
    expect(await refusal([ok, { name: "dev", unixMode: 0o020644 }])).toBe("entry.special-file");
    // PKWARE Unix extra field (0x000d) carrying a link target.
    const target = Buffer.from("SKILL.md");
    const field = Buffer.alloc(4 + 12 + target.length);
    field.writeUInt16LE(0x000d, 0);
    field.writeUInt16LE(12 + target.length, 2);
    target.copy(field, 16);
    expect(await refusal([ok, { name: "hard", data: "", extra: field }])).toBe("entry.hardlink");
  });

  it("refuses duplicates and names that collide by case or Unicode normalisation", async () => {
    expect(await refusal([ok, { name: "a.md", data: "1" }, { name: "a.md", data: "2" }])).toBe(
      "entry.duplicate",
    );
    expect(
      await refusal([ok, { name: "Readme.md", data: "1" }, { name: "README.md", data: "2" }]),
    ).toBe("entry.case-collision");
    const nfc = "caf\u00e9.md";
    const nfd = "cafe\u0301.md";
    expect(await refusal([ok, { name: nfc, data: "1" }, { name: nfd, data: "2" }])).toBe(
      "entry.unicode-collision",
    );
    expect(await refusal([ok, { name: "docs", data: "1" }, { name: "docs/a.md", data: "2" }])).toBe(
      "entry.path-conflict",
    );
  });

  it("refuses encrypted entries and unsupported compression", async () => {
    expect(await refusal([ok, { name: "secret", data: "x", flags: 0x0801 }])).toBe(
      "entry.encrypted",
    );
    expect(
      await refusal([ok, { name: "aes", data: "x", method: 99, rawData: Buffer.from("x") }]),
    ).toBe("entry.encrypted");
    expect(
      await refusal([ok, { name: "bz", data: "x", method: 12, rawData: Buffer.from("x") }]),
    ).toBe("entry.compression");
  });

  it("refuses too many entries", async () => {
    const entries = Array.from({ length: 11 }, (_, i) => ({ name: `f${i}`, data: "x" }));
    expect(await refusal(entries, resolveLimits({ maxFiles: 10 }))).toBe(
      "archive.too-many-entries",
    );
  });

  it("measures inflated size while streaming instead of trusting the header", async () => {
    // Declares 10 bytes, inflates to 5 MiB.
    const big = Buffer.alloc(5 * 1024 * 1024, 0x61);
    expect(await refusal([ok, { name: "bomb", data: big, declaredSize: 10 }])).toBe(
      "entry.size-mismatch",
    );
  });

  it("refuses an entry that inflates past the per-file limit", async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x61);
    expect(
      await refusal([ok, { name: "big", data: big }], resolveLimits({ maxFileBytes: 1024 * 1024 })),
    ).toBe("entry.too-large");
  });

  it("refuses an archive that inflates past the total limit", async () => {
    const part = Buffer.alloc(600 * 1024, 0x62);
    const limits = resolveLimits({ maxTotalBytes: 1024 * 1024, maxFileBytes: 1024 * 1024 });
    expect(await refusal([ok, { name: "a", data: part }, { name: "b", data: part }], limits)).toBe(
      "archive.too-large",
    );
  });

  it("refuses a decompression bomb by its ratio", async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 0); // deflates ~1000x
    expect(await refusal([ok, { name: "zeros", data: big }])).toBe("entry.ratio");
  });

  it("accepts small, highly compressible files (ratio applies only past 1 MiB)", async () => {
    const zip = buildZip([ok, { name: "spaces.txt", data: Buffer.alloc(512 * 1024, 0x20) }]);
    await expect(extractZip(zip, join(work, "out"))).resolves.toBeTruthy();
  });

  it("refuses a local header whose name differs from the central directory", async () => {
    expect(await refusal([ok, { name: "innocent.md", data: "x", localName: "../evil.md" }])).toBe(
      "entry.header-mismatch",
    );
  });

  it("refuses entries whose data overlap (aliased content, the non-recursive zip bomb)", async () => {
    const second = { name: "b.md", data: "bbbb" };
    const firstBody = deflateRawSync(Buffer.from("aaaa"));
    const overlap = firstBody.length + 30 + 4 + deflateRawSync(Buffer.from("bbbb")).length;
    expect(
      await refusal([ok, { name: "a.md", data: "aaaa", declaredCompressedSize: overlap }, second]),
    ).toBe("entry.overlap");
  });

  it("refuses a CRC mismatch and corrupt deflate data", async () => {
    expect(await refusal([ok, { name: "a.md", data: "hello", crc: 1234 }])).toBe(
      "entry.crc-mismatch",
    );
    expect(
      await refusal([
        ok,
        { name: "a.md", data: "hello", rawData: Buffer.from([0xff, 0xff, 0xff, 0xff]) },
      ]),
    ).toBe("entry.corrupt");
  });

  it("refuses data that is not a ZIP", async () => {
    expect(await refusal(Buffer.from("definitely not a zip archive"))).toBe("archive.invalid");
  });

  it("names the entry and the rule in the message", async () => {
    const error = await extractZip(
      buildZip([ok, { name: "../x", data: "" }]),
      join(work, "o"),
    ).catch((e: Error) => e);
    expect(String((error as Error).message)).toMatch(/entry "\.\.\/x".*\[entry\.path-traversal\]/);
  });

  it("refuses a non-empty destination unless overwrite is set, then replaces it atomically", async () => {
    const dest = join(work, "out");
    await extractZip(buildZip([ok, { name: "old.md", data: "old" }]), dest);
    const again = await extractZip(buildZip([ok]), dest).catch((e: unknown) => e);
    expect(isClawHubError(again) && again.code).toBe("ALREADY_EXISTS");
    await extractZip(buildZip([ok, { name: "new.md", data: "new" }]), dest, { overwrite: true });
    expect((await readdir(dest)).sort()).toEqual(["SKILL.md", "new.md"]);
    expect(await readdir(work)).toEqual(["out"]);
  });

  it("keeps the existing destination when a replacement is refused", async () => {
    const dest = join(work, "out");
    await extractZip(buildZip([ok]), dest);
    const bad = buildZip([ok, { name: "../escape", data: "x" }]);
    await expect(extractZip(bad, dest, { overwrite: true })).rejects.toThrow(/path-traversal/);
    expect(await readdir(dest)).toEqual(["SKILL.md"]);
    expect(await readdir(work)).toEqual(["out"]);
  });

  it("reads the archive from a file path", async () => {
    const file = join(work, "s.zip");
    await writeFile(file, buildZip([ok]));
    const result = await extractZip(file, join(work, "out"));
    expect(result.files).toHaveLength(1);
  });
});
