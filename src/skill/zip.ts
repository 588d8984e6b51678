/**
 * A deterministic ZIP writer and a defensive ZIP directory reader, on node:zlib only.
 *
 * Why not a library: packing must be byte-for-byte reproducible (fixed timestamps, no extra
 * fields, modes from content (`archiveFileMode`), sorted UTF-8 names), and reading has to refuse every hostile layout
 * with a named rule before anything touches the disk. Both need control over every header byte.
 * Determinism holds for a given zlib build: the deflate stream is zlib's, so two Node releases
 * that ship different zlib versions may compress differently.
 */
import { promisify } from "node:util";
import { crc32, deflateRaw, deflateRawSync } from "node:zlib";
import { ClawHubError } from "../errors/index.ts";
import { archiveFileMode } from "../schema/index.ts";

/** A file to put in an archive. */
export interface ZipInput {
  /** POSIX path inside the archive. */
  path: string;
  data: Uint8Array;
  /** The data's CRC-32 when already known (a server computes it as the bytes stream in). */
  crc32?: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const FLAG_UTF8 = 0x0800;
const FLAG_ENCRYPTED = 0x0001;
const FLAG_STRONG_ENCRYPTION = 0x0040;
// 1980-01-01 00:00:00, the earliest DOS timestamp: every entry gets it, whatever the mtime.
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const MADE_BY_UNIX = 3;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** Compares UTF-8 byte strings, the order entries are written in. */
function compareBytes(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}

/**
 * Builds a deterministic ZIP: entries sorted by their UTF-8 name bytes, DOS time 1980-01-01,
 * mode 0644 or 0755, UTF-8 flag set, no extra fields, no comment, no directory entries; each
 * entry deflated at `level` unless storing it is smaller.
 */
export function createZip(
  inputs: ReadonlyArray<ZipInput>,
  options: { level?: number } = {},
): Buffer {
  const level = options.level ?? 6;
  const items = sortedEntries(inputs);
  return assemble(
    items,
    items.map(({ input }) =>
      input.data.byteLength > 0 ? deflateRawSync(input.data, { level }) : Buffer.alloc(0),
    ),
    items.map(({ input }) => input.crc32 ?? crc32(input.data)),
  );
}

const deflateRawAsync = promisify(deflateRaw);

/**
 * {@link createZip} with the compression on libuv's thread pool: the same bytes (the same zlib
 * does the work), without holding a server's event loop for the ~1 s that deflating 45 MiB takes.
 */
export async function createZipAsync(
  inputs: ReadonlyArray<ZipInput>,
  options: { level?: number } = {},
): Promise<Buffer> {
  const level = options.level ?? 6;
  const items = sortedEntries(inputs);
  const bodies = Promise.all(
    items.map(({ input }) =>
      input.data.byteLength > 0 ? deflateRawAsync(input.data, { level }) : Buffer.alloc(0),
    ),
  );
  bodies.catch(() => {}); // awaited below; handled meanwhile
  const crcs: number[] = [];
  for (const { input } of items) crcs.push(input.crc32 ?? (await crc32InSlices(input.data)));
  return assemble(items, await bodies, crcs);
}

/** CRC-32 a 1 MiB slice per turn of the event loop (45 MiB in one call held it ~40 ms). */
async function crc32InSlices(data: Uint8Array): Promise<number> {
  const SLICE = 1024 * 1024;
  let crc = 0;
  for (let at = 0; at < data.byteLength; at += SLICE) {
    if (at > 0) await new Promise((r) => setImmediate(r));
    crc = crc32(data.subarray(at, at + SLICE), crc);
  }
  return crc;
}

interface Entry {
  input: ZipInput;
  name: Buffer;
}

/** The entries in archive order, refused when two share a path or there are too many. */
function sortedEntries(inputs: ReadonlyArray<ZipInput>): Entry[] {
  const items = inputs
    .map((input) => ({ input, name: Buffer.from(input.path, "utf8") }))
    .sort((a, b) => compareBytes(a.name, b.name));
  for (let i = 1; i < items.length; i++) {
    if (items[i - 1]?.name.equals(items[i]?.name ?? Buffer.alloc(0))) {
      throw new ClawHubError("INVALID_ARGUMENT", `duplicate archive path: ${items[i]?.input.path}`);
    }
  }
  if (items.length > 0xfffe) {
    throw new ClawHubError("LIMIT_EXCEEDED", "a skill archive holds at most 65,534 entries");
  }
  return items;
}

/** Lays out the archive from its entries and their deflated bodies. */
function assemble(items: Entry[], deflatedBodies: Buffer[], crcs: number[]): Buffer {
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [index, { input, name }] of items.entries()) {
    const data = Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength);
    const crc = crcs[index] as number;
    const deflated = deflatedBodies[index] as Buffer;
    const stored = deflated.length >= data.length;
    const body = stored ? data : deflated;
    const method = stored ? 0 : 8;
    const versionNeeded = stored ? 10 : 20;
    if (offset + 30 + name.length + body.length > 0xfffffffe) {
      throw new ClawHubError("LIMIT_EXCEEDED", "a skill archive must stay under 4 GiB");
    }
    const mode = archiveFileMode(input.data);

    // The fields from "version needed" to "name length" are laid out alike in both headers.
    const common = {
      versionNeeded,
      method,
      crc,
      compressedSize: body.length,
      size: data.length,
      nameLength: name.length,
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(SIG_LOCAL, 0);
    writeCommonFields(local, 4, common);
    // extra length: 0

    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(SIG_CENTRAL, 0);
    cd.writeUInt16LE((MADE_BY_UNIX << 8) | 20, 4);
    writeCommonFields(cd, 6, common);
    // extra length, comment length, disk number, internal attributes: all 0
    cd.writeUInt32LE(((S_IFREG | mode) << 16) >>> 0, 38);
    cd.writeUInt32LE(offset, 42);

    chunks.push(local, name, body);
    central.push(cd, name);
    offset += local.length + name.length + body.length;
  }
  const cdSize = central.reduce((n, b) => n + b.length, 0);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(SIG_EOCD, 0);
  eocd.writeUInt16LE(items.length, 8);
  eocd.writeUInt16LE(items.length, 10);
  eocd.writeUInt32LE(cdSize, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...chunks, ...central, eocd]);
}

/** Writes the header fields that local and central records share, starting at `at`. */
function writeCommonFields(
  buf: Buffer,
  at: number,
  f: {
    versionNeeded: number;
    method: number;
    crc: number;
    compressedSize: number;
    size: number;
    nameLength: number;
  },
): void {
  buf.writeUInt16LE(f.versionNeeded, at);
  buf.writeUInt16LE(FLAG_UTF8, at + 2);
  buf.writeUInt16LE(f.method, at + 4);
  buf.writeUInt16LE(DOS_TIME, at + 6);
  buf.writeUInt16LE(DOS_DATE, at + 8);
  buf.writeUInt32LE(f.crc, at + 10);
  buf.writeUInt32LE(f.compressedSize, at + 14);
  buf.writeUInt32LE(f.size, at + 18);
  buf.writeUInt16LE(f.nameLength, at + 22);
}

/** One entry of an archive's central directory, cross-checked with its local header. */
export interface ZipEntry {
  /** Decoded name, exactly as stored (not yet checked for safety). */
  name: string;
  rawName: Buffer;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Offset of the entry's data (after its local header). */
  dataOffset: number;
  localHeaderOffset: number;
  /** Unix mode (type and permission bits) when the archive records one, else undefined. */
  unixMode: number | undefined;
  /** MS-DOS attribute byte. */
  dosAttributes: number;
  /** Extra fields of the central record, by header id. */
  extra: Map<number, Buffer>;
}

/** Every reason an archive is refused, by stable rule id (`details.rule` of the error). */
export const ARCHIVE_RULES = {
  "archive.invalid": "not a ZIP, or a structure that is corrupt or out of bounds",
  "archive.multi-disk": "split (multi-disk) archives",
  "archive.too-many-entries": "more entries than the file limit",
  "archive.too-large": "the archive, or what it inflates to, exceeds the total size limit",
  "archive.not-a-skill": "an archive with no SKILL.md at its root (or with nothing at all)",
  "entry.name-encoding": "a name that is not valid UTF-8",
  "entry.name-mismatch": "a Unicode-path extra field naming a different file",
  "entry.header-mismatch": "a local header naming a different file than the central directory",
  "entry.overlap": "entries sharing or overlapping data (aliasing; the non-recursive zip bomb)",
  "entry.name-nul": "a NUL byte in a name",
  "entry.name-too-long": "a name over 1024 bytes or a path segment over 255 bytes",
  "entry.name-invalid":
    "an empty name, empty or '.' segments, control characters, or a directory with data",
  "entry.backslash": "a backslash in a name (a separator on Windows)",
  "entry.name-bidi":
    "bidirectional control characters in a name (they make a name display as another)",
  "entry.absolute-path": "an absolute path",
  "entry.drive-letter": "a Windows drive letter",
  "entry.path-traversal": "a '..' segment",
  "entry.duplicate": "the same name twice",
  "entry.unicode-collision": "names equal after Unicode NFC normalisation",
  "entry.case-collision": "names that differ only by letter case",
  "entry.path-conflict": "a name that is both a file and a directory",
  "entry.symlink": "a symbolic link",
  "entry.hardlink": "a link target in the PKWARE Unix extra field",
  "entry.special-file": "a device, FIFO or socket",
  "entry.encrypted": "an encrypted entry",
  "entry.compression": "a compression method other than store or deflate",
  "entry.too-large": "an entry over the per-file limit",
  "entry.size-mismatch": "an entry that inflates to a size other than it declares",
  "entry.ratio": "an entry that inflates more than the ratio limit (past 1 MiB)",
  "entry.crc-mismatch": "content that does not match its CRC-32",
  "entry.corrupt": "deflate data that cannot be inflated",
} as const;

/** A stable archive refusal rule id. */
export type ArchiveRule = keyof typeof ARCHIVE_RULES;

/** Reason an archive or one of its entries is refused, with a stable rule id. */
export function archiveError(rule: ArchiveRule, message: string, entry?: string): ClawHubError {
  const where = entry === undefined ? "" : `entry "${printable(entry)}": `;
  return new ClawHubError("UNSAFE_ARCHIVE", `refused ${where}${message} [${rule}]`, {
    hint: "The archive was not extracted and nothing was written. Re-create it with `clawhub skill pack`.",
    details: { rule, ...(entry === undefined ? {} : { entry }) },
  });
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/g;

/** Makes an entry name safe to print (control characters escaped, long names cut). */
export function printable(name: string): string {
  const escaped = name.replace(
    CONTROL_CHARS,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return escaped.length > 200 ? `${escaped.slice(0, 199)}…` : escaped;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Options of {@link readZipDirectory}. */
export interface ReadDirectoryOptions {
  /** Refuse archives declaring more entries than this. */
  maxEntries: number;
}

/**
 * Reads and cross-checks an archive's central directory: one disk only, entry count within the
 * limit, every record in bounds, local headers agreeing with central records, no two entries
 * sharing or overlapping data (how ZIP aliases one content under two names, the closest it has to
 * a hard link, and the trick behind non-recursive zip bombs). Zip64 records are understood.
 */
export function readZipDirectory(buf: Buffer, options: ReadDirectoryOptions): ZipEntry[] {
  const eocdAt = findEocd(buf);
  if (eocdAt < 0)
    throw archiveError("archive.invalid", "not a ZIP archive (no end-of-central-directory record)");
  let diskNumber = buf.readUInt16LE(eocdAt + 4);
  let cdDisk = buf.readUInt16LE(eocdAt + 6);
  let count = buf.readUInt16LE(eocdAt + 10);
  let cdSize = buf.readUInt32LE(eocdAt + 12);
  let cdOffset = buf.readUInt32LE(eocdAt + 16);

  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocdAt - 20;
    if (loc < 0 || buf.readUInt32LE(loc) !== SIG_EOCD64_LOCATOR) {
      throw archiveError("archive.invalid", "zip64 end record missing");
    }
    const at = Number(buf.readBigUInt64LE(loc + 8));
    if (at + 56 > buf.length || buf.readUInt32LE(at) !== SIG_EOCD64) {
      throw archiveError("archive.invalid", "zip64 end record out of bounds");
    }
    diskNumber = buf.readUInt32LE(at + 16);
    cdDisk = buf.readUInt32LE(at + 20);
    count = safeNumber(buf.readBigUInt64LE(at + 32));
    cdSize = safeNumber(buf.readBigUInt64LE(at + 40));
    cdOffset = safeNumber(buf.readBigUInt64LE(at + 48));
  }
  if (diskNumber !== 0 || cdDisk !== 0)
    throw archiveError("archive.multi-disk", "multi-disk archives are not supported");
  if (count > options.maxEntries) {
    throw archiveError(
      "archive.too-many-entries",
      `the archive has ${count} entries; the limit is ${options.maxEntries}`,
    );
  }
  if (cdOffset + cdSize > buf.length)
    throw archiveError("archive.invalid", "central directory out of bounds");

  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdOffset + cdSize || buf.readUInt32LE(p) !== SIG_CENTRAL) {
      throw archiveError("archive.invalid", `central directory record ${i} is corrupt`);
    }
    const madeBy = buf.readUInt16LE(p + 4) >> 8;
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    let compressedSize = buf.readUInt32LE(p + 20);
    let uncompressedSize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const external = buf.readUInt32LE(p + 38);
    let localHeaderOffset = buf.readUInt32LE(p + 42);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > cdOffset + cdSize)
      throw archiveError("archive.invalid", `central directory record ${i} overruns`);
    const rawName = buf.subarray(p + 46, p + 46 + nameLen);
    const extra = parseExtra(buf.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen));

    const zip64 = extra.get(0x0001);
    if (zip64) {
      let q = 0;
      const next = () => {
        if (q + 8 > zip64.length)
          throw archiveError("archive.invalid", `zip64 field of record ${i} is short`);
        const v = safeNumber(zip64.readBigUInt64LE(q));
        q += 8;
        return v;
      };
      if (uncompressedSize === 0xffffffff) uncompressedSize = next();
      if (compressedSize === 0xffffffff) compressedSize = next();
      if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
    }

    const name = decodeName(rawName, flags);
    const unicodePath = extra.get(0x7075);
    if (unicodePath && unicodePath.length > 5) {
      const alt = unicodePath.subarray(5).toString("utf8");
      if (alt !== name) {
        throw archiveError(
          "entry.name-mismatch",
          `its Unicode-path field names "${printable(alt)}"`,
          name,
        );
      }
    }

    // Cross-check the local header: a name that differs there is how archives smuggle files
    // past tools that read only one of the two directories.
    const lh = localHeaderOffset;
    if (lh + 30 > cdOffset || buf.readUInt32LE(lh) !== SIG_LOCAL) {
      throw archiveError("archive.invalid", "local header missing or out of bounds", name);
    }
    const lNameLen = buf.readUInt16LE(lh + 26);
    const lExtraLen = buf.readUInt16LE(lh + 28);
    const lName = buf.subarray(lh + 30, lh + 30 + lNameLen);
    if (!lName.equals(rawName)) {
      throw archiveError(
        "entry.header-mismatch",
        `its local header names "${printable(lName.toString("utf8"))}"`,
        name,
      );
    }
    const dataOffset = lh + 30 + lNameLen + lExtraLen;
    if (dataOffset + compressedSize > cdOffset) {
      throw archiveError("archive.invalid", "entry data runs past the central directory", name);
    }

    const unixMode = madeBy === MADE_BY_UNIX || madeBy === 19 ? external >>> 16 : undefined;
    entries.push({
      name,
      rawName,
      flags,
      method,
      crc32: crc,
      compressedSize,
      uncompressedSize,
      dataOffset,
      localHeaderOffset: lh,
      unixMode: unixMode === 0 ? undefined : unixMode,
      dosAttributes: external & 0xff,
      extra,
    });
    p = end;
  }

  const byOffset = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1];
    const cur = byOffset[i];
    if (prev && cur && prev.dataOffset + prev.compressedSize > cur.localHeaderOffset) {
      throw archiveError(
        "entry.overlap",
        `its data overlaps entry "${printable(prev.name)}"`,
        cur.name,
      );
    }
  }
  return entries;
}

/** Classifies an entry by its recorded file type. */
export function entryType(entry: ZipEntry): "file" | "directory" | "symlink" | "special" {
  if (entry.unixMode !== undefined) {
    const type = entry.unixMode & S_IFMT;
    if (type === S_IFLNK) return "symlink";
    if (type === S_IFDIR) return "directory";
    if (type !== S_IFREG && type !== 0) return "special";
  }
  if (entry.name.endsWith("/") || entry.dosAttributes & 0x10) return "directory";
  return "file";
}

/** True when the entry is encrypted (traditional PKWARE, strong encryption or AES). */
export function isEncrypted(entry: ZipEntry): boolean {
  return (entry.flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION)) !== 0 || entry.method === 99;
}

function findEocd(buf: Buffer): number {
  const min = Math.max(0, buf.length - 22 - 0xffff);
  for (let i = buf.length - 22; i >= min; i--) {
    if (buf.readUInt32LE(i) === SIG_EOCD && i + 22 + buf.readUInt16LE(i + 20) === buf.length)
      return i;
  }
  return -1;
}

function parseExtra(extra: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let i = 0;
  while (i + 4 <= extra.length) {
    const id = extra.readUInt16LE(i);
    const size = extra.readUInt16LE(i + 2);
    if (i + 4 + size > extra.length) throw archiveError("archive.invalid", "malformed extra field");
    out.set(id, extra.subarray(i + 4, i + 4 + size));
    i += 4 + size;
  }
  return out;
}

function decodeName(raw: Buffer, flags: number): string {
  const ascii = raw.every((b) => b < 0x80);
  if (ascii) return raw.toString("latin1");
  try {
    // Names are UTF-8 when flagged; many tools also write UTF-8 without the flag. Anything else
    // (CP437 and friends) is ambiguous across extractors, so it is refused rather than guessed.
    return utf8.decode(raw);
  } catch {
    const flagged = flags & FLAG_UTF8 ? " although flagged as UTF-8" : "";
    throw archiveError(
      "entry.name-encoding",
      `its name is not valid UTF-8${flagged}`,
      raw.toString("latin1"),
    );
  }
}

function safeNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER))
    throw archiveError("archive.invalid", "a zip64 field is out of range");
  return Number(value);
}
