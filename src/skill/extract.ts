import { createHash, randomBytes } from "node:crypto";
import { chmod, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { crc32, createInflateRaw } from "node:zlib";
import { ClawHubError } from "../errors/index.ts";
import {
  DEFAULT_LIMITS,
  formatBytes,
  maxArchiveBytes,
  RATIO_FLOOR_BYTES,
  type SkillLimits,
} from "./limits.ts";
import { archiveError, entryType, isEncrypted, readZipDirectory, type ZipEntry } from "./zip.ts";

/** A file written by an extraction. */
export interface ExtractedFile {
  path: string;
  size: number;
  mode: 0o644 | 0o755;
  /** sha256 of the content, computed while it was written (nothing is read back). */
  sha256: string;
}

/** Options of {@link extractZip}. */
export interface ExtractOptions {
  limits?: SkillLimits;
  /** Replace `dest` when it exists and is not empty (atomically, by rename). Default: refuse. */
  overwrite?: boolean;
  /**
   * Runs on the staging folder once every entry is written, before the rename that makes it
   * visible: what it adds (an installer's origin.json) appears atomically with the files.
   */
  beforeCommit?: (staging: string, files: readonly ExtractedFile[]) => Promise<void>;
  /** Aborts the extraction between entries (Ctrl-C); the staging folder is removed. */
  signal?: AbortSignal;
}

/** Result of an extraction. */
export interface ExtractResult {
  dest: string;
  files: ExtractedFile[];
  totalBytes: number;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const DRIVE = /^[A-Za-z]:/;
/** Bidirectional controls (embeddings, overrides, isolates, marks): a name shown as another. */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/** Marks staging folders: `.<name>.clawhub-tmp-<pid>-<random>`, removable once <pid> is gone. */
const STAGING = /^\..+\.clawhub-tmp-(\d+)-[0-9a-f]+(-old)?$/;

/**
 * Checks every entry name before anything is written: traversal, absolute paths, backslashes,
 * drive letters, NUL and control characters, overlong names, duplicates, and names that collide
 * case-insensitively or after Unicode normalisation (they would overwrite each other on macOS and
 * Windows). Also refuses a file that is another entry's parent directory.
 */
export function checkEntryNames(entries: ReadonlyArray<ZipEntry>, limits: SkillLimits): void {
  checkNames(
    entries.map((e) => ({
      name: e.name,
      rawName: e.rawName,
      isDir: e.name.endsWith("/") || entryType(e) === "directory",
    })),
    limits,
  );
}

/**
 * The same name rules for the files of a publish (paths without folders of their own), so the
 * registry never accepts what an installer would refuse to extract.
 */
export function checkSkillPaths(paths: readonly string[], limits: SkillLimits): void {
  checkNames(
    paths.map((name) => ({ name, rawName: Buffer.from(name, "utf8"), isDir: false })),
    limits,
  );
}

function checkNames(
  entries: ReadonlyArray<{ name: string; rawName: Buffer; isDir: boolean }>,
  limits: SkillLimits,
): void {
  const exact = new Set<string>();
  const normalised = new Map<string, string>();
  const folded = new Map<string, string>();
  const files = new Set<string>();
  const dirs = new Set<string>();
  for (const entry of entries) {
    const { name, rawName } = entry;
    if (rawName.includes(0))
      throw archiveError("entry.name-nul", "its name contains a NUL byte", name);
    if (rawName.length > limits.maxPathBytes) {
      throw archiveError(
        "entry.name-too-long",
        `its name is ${rawName.length} bytes; the limit is ${limits.maxPathBytes}`,
        name,
      );
    }
    if (name === "" || name === "/")
      throw archiveError("entry.name-invalid", "its name is empty", name);
    if (name.includes("\\"))
      throw archiveError("entry.backslash", "its name contains a backslash", name);
    if (name.startsWith("/"))
      throw archiveError("entry.absolute-path", "its path is absolute", name);
    if (DRIVE.test(name))
      throw archiveError("entry.drive-letter", "its path starts with a drive letter", name);
    if (CONTROL.test(name))
      throw archiveError("entry.name-invalid", "its name contains a control character", name);
    if (BIDI.test(name))
      throw archiveError(
        "entry.name-bidi",
        "its name contains a bidirectional control character",
        name,
      );
    const isDir = name.endsWith("/");
    const isDirectory = entry.isDir;
    const segments = (isDir ? name.slice(0, -1) : name).split("/");
    for (const seg of segments) {
      if (seg === "..")
        throw archiveError(
          "entry.path-traversal",
          "its path climbs out of the target with ..",
          name,
        );
      if (seg === "" || seg === ".")
        throw archiveError("entry.name-invalid", "its path has an empty or '.' segment", name);
      if (Buffer.byteLength(seg) > limits.maxSegmentBytes) {
        throw archiveError(
          "entry.name-too-long",
          `a path segment is longer than ${limits.maxSegmentBytes} bytes`,
          name,
        );
      }
    }
    const path = segments.join("/");
    if (exact.has(path))
      throw archiveError("entry.duplicate", "the archive holds this name twice", name);
    exact.add(path);
    const nfc = path.normalize("NFC");
    const nfcOther = normalised.get(nfc);
    if (nfcOther !== undefined) {
      throw archiveError(
        "entry.unicode-collision",
        `it equals "${nfcOther}" after Unicode normalisation`,
        name,
      );
    }
    normalised.set(nfc, path);
    const fold = nfc.toLowerCase();
    const foldOther = folded.get(fold);
    if (foldOther !== undefined) {
      throw archiveError(
        "entry.case-collision",
        `it differs from "${foldOther}" only by letter case`,
        name,
      );
    }
    folded.set(fold, path);
    (isDirectory ? dirs : files).add(fold);
    for (let i = 1; i < segments.length; i++)
      dirs.add(segments.slice(0, i).join("/").normalize("NFC").toLowerCase());
  }
  for (const f of files) {
    if (dirs.has(f))
      throw archiveError("entry.path-conflict", "it is both a file and a directory", folded.get(f));
  }
}

/** Checks entry types and methods: no symlinks, links, devices, encryption or exotic compression. */
export function checkEntryTypes(entries: ReadonlyArray<ZipEntry>, limits: SkillLimits): void {
  for (const entry of entries) {
    const type = entryType(entry);
    if (type === "symlink")
      throw archiveError("entry.symlink", "symbolic links are not allowed", entry.name);
    if (type === "special") {
      throw archiveError(
        "entry.special-file",
        "devices, FIFOs and sockets are not allowed",
        entry.name,
      );
    }
    // PKWARE's Unix extra field carries a link target for hard and symbolic links.
    const unixExtra = entry.extra.get(0x000d);
    if (unixExtra && unixExtra.length > 12)
      throw archiveError("entry.hardlink", "links are not allowed", entry.name);
    if (isEncrypted(entry))
      throw archiveError("entry.encrypted", "encrypted entries are not supported", entry.name);
    if (entry.method !== 0 && entry.method !== 8) {
      throw archiveError(
        "entry.compression",
        `compression method ${entry.method} is not supported (only store and deflate)`,
        entry.name,
      );
    }
    if (type === "directory" && entry.uncompressedSize !== 0) {
      throw archiveError("entry.name-invalid", "a directory entry carries data", entry.name);
    }
    if (entry.uncompressedSize > limits.maxFileBytes) {
      throw archiveError(
        "entry.too-large",
        `it declares ${formatBytes(entry.uncompressedSize)}; the per-file limit is ${formatBytes(limits.maxFileBytes)}`,
        entry.name,
      );
    }
  }
}

/** Counts inflated bytes and the CRC as they stream, and aborts the moment a limit is crossed. */
class Meter extends Transform {
  bytes = 0;
  crc = 0;
  readonly hash = createHash("sha256");
  private readonly entry: ZipEntry;
  private readonly limits: SkillLimits;
  private readonly total: { bytes: number };

  constructor(entry: ZipEntry, limits: SkillLimits, total: { bytes: number }) {
    super();
    this.entry = entry;
    this.limits = limits;
    this.total = total;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.total.bytes += chunk.length;
    const { entry, limits } = this;
    if (this.bytes > entry.uncompressedSize) {
      done(
        archiveError(
          "entry.size-mismatch",
          `it inflates past its declared size of ${entry.uncompressedSize} bytes`,
          entry.name,
        ),
      );
      return;
    }
    if (this.bytes > limits.maxFileBytes) {
      done(
        archiveError(
          "entry.too-large",
          `it inflates past the per-file limit of ${formatBytes(limits.maxFileBytes)}`,
          entry.name,
        ),
      );
      return;
    }
    if (this.total.bytes > limits.maxTotalBytes) {
      done(
        archiveError(
          "archive.too-large",
          `the archive inflates past the limit of ${formatBytes(limits.maxTotalBytes)}`,
          entry.name,
        ),
      );
      return;
    }
    if (
      this.bytes > RATIO_FLOOR_BYTES &&
      this.bytes > Math.max(1, entry.compressedSize) * limits.maxCompressionRatio
    ) {
      done(
        archiveError(
          "entry.ratio",
          `it inflates more than ${limits.maxCompressionRatio}x: a decompression bomb`,
          entry.name,
        ),
      );
      return;
    }
    this.crc = crc32(chunk, this.crc);
    this.hash.update(chunk);
    done(null, chunk);
  }
}

/**
 * Extracts a skill archive safely: every name and type is checked before anything is written;
 * data is inflated as a stream with sizes, ratio and CRC measured on the fly (headers are never
 * trusted); setuid/setgid/sticky bits are dropped (files get 0644 or 0755); everything lands in
 * a temporary sibling directory that is renamed into place only when the whole archive passed,
 * so a refused archive leaves nothing behind.
 */
export async function extractZip(
  source: Buffer | string,
  dest: string,
  options: ExtractOptions = {},
): Promise<ExtractResult> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const target = resolve(dest);
  const buf = typeof source === "string" ? await readArchive(source, limits) : source;
  if (buf.length > maxArchiveBytes(limits)) {
    throw archiveError(
      "archive.too-large",
      `the archive is ${formatBytes(buf.length)}; the limit is ${formatBytes(maxArchiveBytes(limits))}`,
    );
  }
  const entries = readZipDirectory(buf, { maxEntries: limits.maxFiles });
  checkEntryNames(entries, limits);
  checkEntryTypes(entries, limits);
  if (!entries.some((e) => e.name === "SKILL.md" || e.name.toLowerCase() === "skill.md"))
    throw archiveError(
      "archive.not-a-skill",
      entries.length === 0 ? "the archive is empty" : "there is no SKILL.md at its root",
    );

  const existing = await dirState(target);
  if (existing === "file") {
    throw new ClawHubError("ALREADY_EXISTS", `${target} exists and is not a directory`);
  }
  if (existing === "non-empty" && !options.overwrite) {
    throw new ClawHubError("ALREADY_EXISTS", `${target} already exists and is not empty`, {
      hint: "Choose another directory, or pass --force to replace it.",
    });
  }

  await mkdir(dirname(target), { recursive: true });
  const tmp = join(
    dirname(target),
    `.${basename(target)}.clawhub-tmp-${process.pid}-${randomBytes(6).toString("hex")}`,
  );
  await mkdir(tmp, { mode: 0o755 });
  const total = { bytes: 0 };
  const files: ExtractedFile[] = [];
  try {
    const ordered = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
    for (const entry of ordered) {
      if (options.signal?.aborted)
        throw new ClawHubError("CANCELLED", `extraction into ${target} was interrupted`);
      const rel = entry.name.replace(/\/$/, "");
      const out = join(tmp, ...rel.split("/"));
      if (entryType(entry) === "directory") {
        await mkdir(out, { recursive: true, mode: 0o755 });
        continue;
      }
      await mkdir(dirname(out), { recursive: true, mode: 0o755 });
      const mode = entry.unixMode !== undefined && entry.unixMode & 0o111 ? 0o755 : 0o644;
      const { size, sha256 } = await writeEntry(buf, entry, out, limits, total);
      await chmod(out, mode);
      files.push({ path: rel, size, mode, sha256 });
    }
    if (options.beforeCommit) await options.beforeCommit(tmp, files);
    if (existing === "non-empty" || existing === "empty") {
      const old = `${tmp}-old`;
      await rename(target, old);
      await rename(tmp, target);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, target);
    }
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { dest: target, files, totalBytes: total.bytes };
}

async function writeEntry(
  buf: Buffer,
  entry: ZipEntry,
  out: string,
  limits: SkillLimits,
  total: { bytes: number },
): Promise<{ size: number; sha256: string }> {
  const compressed = buf.subarray(entry.dataOffset, entry.dataOffset + entry.compressedSize);
  const meter = new Meter(entry, limits, total);

  // 'wx': never follow or reuse something already at this path.
  const handle = await open(out, "wx", 0o600);
  const sink = handle.createWriteStream();
  const input = Readable.from([compressed]);
  try {
    if (entry.method === 8) await pipeline(input, createInflateRaw(), meter, sink);
    else await pipeline(input, meter, sink);
  } catch (error) {
    if (error instanceof Error && "code" in error && String(error.code).startsWith("Z_")) {
      throw archiveError(
        "entry.corrupt",
        `its compressed data is corrupt (${error.message})`,
        entry.name,
      );
    }
    throw error;
  }
  if (meter.bytes !== entry.uncompressedSize) {
    throw archiveError(
      "entry.size-mismatch",
      `it inflates to ${meter.bytes} bytes but declares ${entry.uncompressedSize}`,
      entry.name,
    );
  }
  if (meter.crc >>> 0 !== entry.crc32 >>> 0) {
    throw archiveError("entry.crc-mismatch", "its CRC-32 does not match its content", entry.name);
  }
  return { size: meter.bytes, sha256: meter.hash.digest("hex") };
}

/**
 * Removes staging folders left in `dir` by extractions whose process is gone (killed, power
 * loss): their names carry the pid. Folders of a running process are left alone.
 */
export async function removeStaleStaging(dir: string): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = STAGING.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    await rm(join(dir, name), { recursive: true, force: true });
    removed.push(join(dir, name));
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readArchive(path: string, limits: SkillLimits): Promise<Buffer> {
  const st = await stat(path);
  if (!st.isFile()) throw new ClawHubError("INVALID_ARGUMENT", `${path} is not a file`);
  if (st.size > maxArchiveBytes(limits)) {
    throw archiveError(
      "archive.too-large",
      `the archive is ${formatBytes(st.size)}; the limit is ${formatBytes(maxArchiveBytes(limits))}`,
    );
  }
  const handle = await open(path, "r");
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

async function dirState(path: string): Promise<"missing" | "file" | "empty" | "non-empty"> {
  try {
    const st = await stat(path);
    if (!st.isDirectory()) return "file";
    return (await readdir(path)).length === 0 ? "empty" : "non-empty";
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw error;
  }
}
