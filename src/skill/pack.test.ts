import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { crc32 } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isClawHubError } from "../errors/index.ts";
import {
  collectFiles,
  extractZip,
  fingerprintOf,
  hashFolder,
  packSkill,
  readZipDirectory,
  resolveLimits,
  validateSkillDir,
} from "./index.ts";

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "clawhub-pack-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const SKILL = "---\nname: demo\ndescription: A demo skill.\n---\n\n# Demo\n\nDo it.\n";

async function writeTree(
  root: string,
  files: Record<string, string | Buffer>,
  order?: string[],
): Promise<void> {
  for (const path of order ?? Object.keys(files)) {
    const full = join(root, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, files[path] ?? "");
  }
}

function hasTool(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("file set", () => {
  it("applies .gitignore, .clawhubignore and .clawdhubignore, and skips dot paths, node_modules and OS junk", async () => {
    const root = join(work, "demo");
    await writeTree(root, {
      "SKILL.md": SKILL,
      ".gitignore": "*.log\nbuild/\n",
      ".clawhubignore": "secret.txt\n!keep.log\n",
      ".clawdhubignore": "legacy.txt\n",
      "app.log": "x",
      "keep.log": "x",
      "build/out.js": "x",
      "secret.txt": "x",
      "legacy.txt": "x",
      ".env": "x",
      ".git/config": "x",
      ".clawhub/origin.json": "{}",
      "docs/.hidden/a.md": "x",
      "node_modules/dep/index.js": "x",
      "scripts/node_modules/x.js": "x",
      "Thumbs.db": "x",
      "__MACOSX/junk": "x",
      "desktop.ini": "x",
      "scripts/run.sh": "#!/bin/sh\n",
      "references/guide.md": "guide",
    });
    const set = await collectFiles(root);
    expect(set.files.map((f) => f.path)).toEqual(
      ["keep.log", "references/guide.md", "scripts/run.sh", "SKILL.md"].sort(),
    );
    expect(set.violations).toEqual([]);
  });

  it("skips symlinks and reports them", async () => {
    const root = join(work, "demo");
    await writeTree(root, { "SKILL.md": SKILL });
    await symlink("/etc/passwd", join(root, "passwd"));
    const set = await collectFiles(root);
    expect(set.files.map((f) => f.path)).toEqual(["SKILL.md"]);
    expect(set.skipped).toEqual([{ path: "passwd", reason: "symlink" }]);
    const report = await validateSkillDir(root);
    expect(report.issues.map((i) => i.rule)).toEqual(["files.symlink"]);
  });

  it("reports each limit with a clear message", async () => {
    const root = join(work, "demo");
    await writeTree(root, {
      "SKILL.md": SKILL,
      "a.txt": "x".repeat(200),
      "b.txt": "y".repeat(200),
      "c.txt": "z",
    });
    const set = await collectFiles(root, {
      limits: resolveLimits({ maxFiles: 3, maxTotalBytes: 300, maxFileBytes: 150 }),
    });
    expect(set.violations.map((v) => v.rule)).toEqual([
      "files.file-too-large",
      "files.file-too-large",
      "files.too-many",
      "files.too-large",
    ]);
    expect(set.violations[0]?.message).toBe("a.txt is 200 B; the per-file limit is 150 B");
    const error = await packSkill(root, { limits: resolveLimits({ maxFiles: 3 }) }).catch(
      (e: unknown) => e,
    );
    expect(isClawHubError(error) && error.code).toBe("LIMIT_EXCEEDED");
    expect(String((error as Error).message)).toContain("the skill has 4 files; the limit is 3");
  });
});

describe("fingerprint", () => {
  it("equals an independent computation with sha256sum", async () => {
    if (!hasTool("sha256sum")) throw new Error("sha256sum is required for this test (coreutils)");
    const root = join(work, "demo");
    await writeTree(root, {
      "SKILL.md": SKILL,
      "references/api.md": "# API\n",
      "scripts/run.sh": "#!/bin/sh\necho ok\n",
      "assets/data.json": '{"a":1}\n',
      "zeta.txt": "",
    });
    // Per-file sha256 from coreutils, lines "path:hash" sorted case-insensitively (for these
    // names, letters and / . only, that is the order of the official CLI's collation), joined
    // by \n without a trailing newline.
    const script =
      "cd \"$1\" && find . -type f | sed 's|^\\./||' | LC_ALL=C sort -f | while read -r f; do " +
      'printf "%s:%s\\n" "$f" "$(sha256sum "$f" | cut -d" " -f1)"; done | head -c -1 | sha256sum | cut -d" " -f1';
    const expected = execFileSync("sh", ["-c", script, "sh", root], { encoding: "utf8" }).trim();
    const { fingerprint, files } = await hashFolder(root);
    expect(fingerprint).toBe(expected);
    const skillHash = execFileSync("sha256sum", [join(root, "SKILL.md")], {
      encoding: "utf8",
    }).split(" ")[0];
    expect(files.find((f) => f.path === "SKILL.md")?.sha256).toBe(skillHash);
  });

  it("orders paths as the official CLI does (collation, not byte order)", () => {
    const h = "0".repeat(64);
    const a = fingerprintOf([
      { path: "README.md", sha256: h },
      { path: "assets/x", sha256: h },
      { path: "Zed.md", sha256: h },
    ]);
    const b = fingerprintOf([
      { path: "Zed.md", sha256: h },
      { path: "README.md", sha256: h },
      { path: "assets/x", sha256: h },
    ]);
    expect(a).toBe(b);
    const sorted = ["README.md", "assets/x", "Zed.md", "b-c", "b_c", "b.c"].sort((x, y) =>
      x.localeCompare(y, "en"),
    );
    const lines = sorted.map((p) => `${p}:${h}`).join("\n");
    expect(fingerprintOf(sorted.map((path) => ({ path, sha256: h })).reverse())).toBe(
      createHash("sha256").update(lines).digest("hex"),
    );
  });
});

describe("deterministic pack", () => {
  const files: Record<string, string> = {
    "SKILL.md": SKILL,
    "references/guide.md": "# Guide\n\nLong text. ".repeat(50),
    "scripts/run.sh": "#!/bin/sh\necho ok\n",
    "assets/b.txt": "bbb",
    "assets/a.txt": "aaa",
    "ünïcödé.md": "names are UTF-8\n",
  };

  async function copy(
    name: string,
    order: string[],
    mtime: Date,
    execMode: number,
  ): Promise<string> {
    const root = join(work, name, "demo");
    await writeTree(root, files, order);
    await chmod(join(root, "scripts/run.sh"), execMode);
    for (const path of Object.keys(files)) await utimes(join(root, path), mtime, mtime);
    return root;
  }

  it("gives identical bytes for the same content whatever mtimes, modes and creation order", async () => {
    const keys = Object.keys(files);
    const one = await copy("one", keys, new Date("2001-02-03T04:05:06Z"), 0o755);
    const two = await copy("two", [...keys].reverse(), new Date("2024-12-31T23:59:59Z"), 0o700);
    await chmod(join(two, "SKILL.md"), 0o600);
    const a = await packSkill(one);
    const b = await packSkill(two);
    expect(a.zip.equals(b.zip)).toBe(true);
    expect(a.integrity).toBe(b.integrity);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.integrity).toMatch(/^sha512-[A-Za-z0-9+/]+={0,2}$/);
  });

  it("writes sorted UTF-8 names, fixed timestamps, normalised modes and no extra fields", async () => {
    const root = await copy("one", Object.keys(files), new Date(), 0o775);
    const { zip } = await packSkill(root);
    const entries = readZipDirectory(zip, { maxEntries: 100 });
    expect(entries.map((e) => e.name)).toEqual(
      [...Object.keys(files)].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))),
    );
    for (const e of entries) {
      expect(e.flags & 0x0800).toBe(0x0800);
      expect(e.extra.size).toBe(0);
      expect([0o100644, 0o100755]).toContain(e.unixMode);
      // DOS date 1980-01-01, time 00:00:00 in the local header.
      expect(zip.readUInt16LE(e.localHeaderOffset + 10)).toBe(0);
      expect(zip.readUInt16LE(e.localHeaderOffset + 12)).toBe(0x21);
    }
    expect(entries.find((e) => e.name === "scripts/run.sh")?.unixMode).toBe(0o100755);
  });

  it("round-trips through safe extraction with the same fingerprint", async () => {
    const root = await copy("one", Object.keys(files), new Date(), 0o755);
    const packed = await packSkill(root);
    const out = join(work, "extracted");
    await extractZip(packed.zip, out);
    expect((await hashFolder(out)).fingerprint).toBe(packed.fingerprint);
  });

  it("is read by Info-ZIP unzip, and Info-ZIP zip archives are read by us", async () => {
    if (!hasTool("unzip") || !hasTool("zip"))
      throw new Error("zip and unzip are required (Debian packages zip, unzip)");
    const root = await copy("one", Object.keys(files), new Date(), 0o755);
    const packed = await packSkill(root);
    const file = join(work, "demo.zip");
    await writeFile(file, packed.zip);
    const test = execFileSync("unzip", ["-t", file], { encoding: "utf8" });
    expect(test).toContain("No errors detected");
    const theirs = join(work, "theirs.zip");
    execFileSync("zip", ["-X", "-r", "-q", theirs, "."], { cwd: root });
    const out = join(work, "from-zip");
    await extractZip(await readFile(theirs), out);
    expect((await hashFolder(out)).fingerprint).toBe(packed.fingerprint);
  });

  it("refuses an invalid skill with every issue attached", async () => {
    const root = join(work, "Bad_Name");
    await writeTree(root, { "SKILL.md": "---\nname: Bad_Name\n---\n" });
    const error = await packSkill(root, { mode: "strict" }).catch((e: unknown) => e);
    expect(isClawHubError(error) && error.code).toBe("INVALID_SKILL");
    const issues = (error as { details: { issues: Array<{ rule: string }> } }).details.issues.map(
      (i) => i.rule,
    );
    expect(issues).toEqual(["name.charset", "description.missing"]);
  });
});

describe("archives built off the event loop", () => {
  it("are byte for byte the synchronous archive, and digests in slices match one pass", async () => {
    const { createZip, createZipAsync, digestInSlices } = await import("./index.ts");
    const files = [
      { path: "SKILL.md", data: Buffer.from("---\nname: a\n---\n") },
      { path: "scripts/run.sh", data: Buffer.from("#!/bin/sh\necho hi\n") },
      { path: "data/big.bin", data: Buffer.alloc(3 * 1024 * 1024 + 7, 42) },
      { path: "empty.txt", data: Buffer.alloc(0) },
    ];
    const sync = createZip(files);
    expect((await createZipAsync(files)).equals(sync)).toBe(true);
    // A CRC-32 computed as the bytes streamed in is used as is: the same archive.
    const known = files.map((f) => ({ ...f, crc32: crc32(f.data) }));
    expect((await createZipAsync(known)).equals(sync)).toBe(true);
    expect(await digestInSlices("sha256", sync, "hex")).toBe(
      createHash("sha256").update(sync).digest("hex"),
    );
    expect(await digestInSlices("sha512", sync, "base64")).toBe(
      createHash("sha512").update(sync).digest("base64"),
    );
  });
});
