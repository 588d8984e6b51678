/**
 * Builds ZIP archives byte by byte, including hostile ones: every header field can be set to
 * lie. Used only by tests; written independently of src/skill/zip.ts so that a bug in the
 * product's writer cannot hide the same bug in the reader.
 */
import { crc32, deflateRawSync } from "node:zlib";

export interface RawEntry {
  name: string | Buffer;
  data?: Buffer | string;
  /** 0 store, 8 deflate (default), or any other number to test refusals. */
  method?: number;
  /** General-purpose flags; bit 11 (UTF-8) is set by default. */
  flags?: number;
  /** Unix mode including type bits, e.g. 0o100644 or 0o120777 (symlink). */
  unixMode?: number;
  /** Override the declared uncompressed size (a lying header). */
  declaredSize?: number;
  /** Override the declared CRC-32. */
  crc?: number;
  /** Raw compressed bytes to use instead of compressing `data`. */
  rawData?: Buffer;
  /** Extra field bytes for the central record. */
  extra?: Buffer;
  /** A different name for the local header than the central record. */
  localName?: string;
  /** Override the central record's compressed size (to make data ranges overlap). */
  declaredCompressedSize?: number;
}

export function buildZip(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  const records: Array<{
    entry: RawEntry;
    name: Buffer;
    crc: number;
    csize: number;
    usize: number;
    method: number;
    flags: number;
  }> = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.isBuffer(entry.name) ? entry.name : Buffer.from(entry.name, "utf8");
    const data = Buffer.isBuffer(entry.data) ? entry.data : Buffer.from(entry.data ?? "", "utf8");
    const method = entry.method ?? 8;
    const body = entry.rawData ?? (method === 8 ? deflateRawSync(data) : data);
    const crc = entry.crc ?? crc32(data);
    const usize = entry.declaredSize ?? data.length;
    const flags = entry.flags ?? 0x0800;
    const localName = entry.localName === undefined ? name : Buffer.from(entry.localName, "utf8");
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(flags, 6);
    lh.writeUInt16LE(method, 8);
    lh.writeUInt16LE(0x21, 12);
    lh.writeUInt32LE(crc >>> 0, 14);
    lh.writeUInt32LE(body.length, 18);
    lh.writeUInt32LE(usize, 22);
    lh.writeUInt16LE(localName.length, 26);
    offsets.push(offset);
    parts.push(lh, localName, body);
    offset += 30 + localName.length + body.length;
    records.push({ entry, name, crc, csize: body.length, usize, method, flags });
  }
  const central: Buffer[] = [];
  records.forEach((r, i) => {
    const extra = r.entry.extra ?? Buffer.alloc(0);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE((3 << 8) | 20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(r.flags, 8);
    cd.writeUInt16LE(r.method, 10);
    cd.writeUInt16LE(0x21, 14);
    cd.writeUInt32LE(r.crc >>> 0, 16);
    cd.writeUInt32LE(r.entry.declaredCompressedSize ?? r.csize, 20);
    cd.writeUInt32LE(r.usize, 24);
    cd.writeUInt16LE(r.name.length, 28);
    cd.writeUInt16LE(extra.length, 30);
    cd.writeUInt32LE(((r.entry.unixMode ?? 0o100644) << 16) >>> 0, 38);
    cd.writeUInt32LE(offsets[i] ?? 0, 42);
    central.push(cd, r.name, extra);
  });
  const cdBuf = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(records.length, 8);
  eocd.writeUInt16LE(records.length, 10);
  eocd.writeUInt32LE(cdBuf.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBuf, eocd]);
}
