/**
 * Signed notes (C2SP signed-note, the format of Go's checksum database) and the transparency
 * log checkpoints they carry (C2SP tlog-checkpoint), so any tool of that ecosystem (witnesses,
 * monitors) can read the registry's log. Ed25519 only (algorithm byte 0x01).
 *
 * A note is its text (ending in a newline), a blank line, then one line per signature:
 * `— <key name> <base64(key hash (4 bytes) || signature)>`. A key's hash is the first four
 * bytes of SHA-256(name || "\n" || 0x01 || public key).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { ClawHubError } from "../errors/index.ts";

const ED25519 = 0x01;
// DER prefixes of an Ed25519 key from its 32 raw bytes (RFC 8410).
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const DASH = "\u2014 ";
/** More signatures than any real note carries (Go's limit); a longer list is refused. */
const MAX_SIGNATURES = 100;
/** A checkpoint is a few hundred bytes; a note past this is refused before it is parsed. */
export const MAX_NOTE_BYTES = 64 * 1024;

const fail = (message: string) => new ClawHubError("VERIFICATION_FAILED", message);

/** ASCII control characters other than newline (notes may not hold them). */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x0a) || c === 0x7f) return true;
  }
  return false;
}

const validName = (name: string) => name.length > 0 && !/[\s+]/u.test(name);

const keyHash = (name: string, publicKey: Buffer) =>
  createHash("sha256")
    .update(`${name}\n`)
    .update(Buffer.from([ED25519]))
    .update(publicKey)
    .digest()
    .readUInt32BE(0);

const hex8 = (n: number) => n.toString(16).padStart(8, "0");

/** A key that verifies notes: its name, hash and public key. */
export interface NoteVerifier {
  name: string;
  hash: number;
  publicKey: KeyObject;
  /** The key as text: `<name>+<hash hex>+<base64(0x01 || public key)>`. */
  text: string;
}

/** A key that signs notes. */
export interface NoteSigner {
  name: string;
  hash: number;
  privateKey: KeyObject;
  verifier: NoteVerifier;
}

const rawPublic = (key: KeyObject) =>
  Buffer.from(createPublicKey(key).export({ format: "der", type: "spki" })).subarray(
    SPKI_PREFIX.length,
  );

function verifierOf(name: string, raw: Buffer): NoteVerifier {
  const hash = keyHash(name, raw);
  const publicKey = createPublicKey({
    key: Buffer.concat([SPKI_PREFIX, raw]),
    format: "der",
    type: "spki",
  });
  const text = `${name}+${hex8(hash)}+${Buffer.concat([Buffer.from([ED25519]), raw]).toString("base64")}`;
  return { name, hash, publicKey, text };
}

/** A new Ed25519 note key: the signer key text (secret) and the verifier key text (public). */
export function generateNoteKey(name: string): { signer: string; verifier: string } {
  if (!validName(name)) throw new ClawHubError("INVALID_ARGUMENT", `invalid key name "${name}"`);
  const { privateKey } = generateKeyPairSync("ed25519");
  const seed = Buffer.from(privateKey.export({ format: "der", type: "pkcs8" })).subarray(
    PKCS8_PREFIX.length,
  );
  const raw = rawPublic(privateKey);
  const secret = Buffer.concat([Buffer.from([ED25519]), seed]).toString("base64");
  return {
    signer: `PRIVATE+KEY+${name}+${hex8(keyHash(name, raw))}+${secret}`,
    verifier: verifierOf(name, raw).text,
  };
}

function splitKey(text: string, parts: number) {
  // The base64 part may itself hold '+': split off the first parts-1 fields only.
  const fields: string[] = [];
  let rest = text;
  for (let i = 0; i < parts - 1; i++) {
    const at = rest.indexOf("+");
    if (at < 0) return undefined;
    fields.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  fields.push(rest);
  return fields;
}

function keyBytes(name: string, hashHex: string, b64: string) {
  if (!validName(name) || !/^[0-9a-f]{8}$/.test(hashHex) || !/^[A-Za-z0-9+/]+=*$/.test(b64))
    return undefined;
  const bytes = Buffer.from(b64, "base64");
  if (bytes.length !== 33 || bytes[0] !== ED25519) return undefined;
  return bytes.subarray(1);
}

/** Parses a verifier key (`<name>+<hash>+<base64>`); its hash must match its name and key. */
export function parseVerifierKey(text: string): NoteVerifier {
  const [name = "", hashHex = "", b64 = ""] = splitKey(text.trim(), 3) ?? [];
  const raw = keyBytes(name, hashHex, b64);
  if (!raw) throw new ClawHubError("INVALID_ARGUMENT", "malformed note verifier key");
  const verifier = verifierOf(name, raw);
  if (hex8(verifier.hash) !== hashHex)
    throw new ClawHubError("INVALID_ARGUMENT", "note verifier key hash does not match its key");
  return verifier;
}

/** Parses a signer key (`PRIVATE+KEY+<name>+<hash>+<base64 seed>`). */
export function parseSignerKey(text: string): NoteSigner {
  const [p = "", k = "", name = "", hashHex = "", b64 = ""] = splitKey(text.trim(), 5) ?? [];
  const seed = p === "PRIVATE" && k === "KEY" ? keyBytes(name, hashHex, b64) : undefined;
  if (!seed) throw new ClawHubError("INVALID_ARGUMENT", "malformed note signer key");
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, seed]),
    format: "der",
    type: "pkcs8",
  });
  const verifier = verifierOf(name, rawPublic(privateKey));
  if (hex8(verifier.hash) !== hashHex)
    throw new ClawHubError("INVALID_ARGUMENT", "note signer key hash does not match its key");
  return { name, hash: verifier.hash, privateKey, verifier };
}

/** Signs `text` (which must end in a newline): the note with its one signature line. */
export function signNote(text: string, signer: NoteSigner): string {
  if (!text.endsWith("\n") || text.includes("\n\n"))
    throw new ClawHubError("INVALID_ARGUMENT", "a note's text ends in one newline, no blank line");
  const signature = sign(null, Buffer.from(text), signer.privateKey);
  const hash = Buffer.alloc(4);
  hash.writeUInt32BE(signer.hash);
  return `${text}\n${DASH}${signer.name} ${Buffer.concat([hash, signature]).toString("base64")}\n`;
}

/** A note opened with a known key: its text and who signed it. */
export interface OpenedNote {
  text: string;
  /** Names of the known keys whose signatures verified. */
  signedBy: string[];
}

/**
 * Opens a signed note: at least one signature must be by one of `verifiers` and verify; a
 * signature by a known key that does not verify fails the whole note, unknown keys' lines are
 * ignored (witness cosignatures). Throws VERIFICATION_FAILED.
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[]): OpenedNote {
  if (Buffer.byteLength(note) > MAX_NOTE_BYTES) throw fail("signed note too large");
  if (hasControl(note)) throw fail("signed note holds control characters");
  const at = note.lastIndexOf("\n\n");
  if (at < 0 || !note.endsWith("\n")) throw fail("malformed signed note");
  const text = note.slice(0, at + 1);
  const lines = note.slice(at + 2, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) throw fail("signed note has too many signatures");
  const signedBy: string[] = [];
  const message = Buffer.from(text);
  for (const line of lines) {
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/]+=*)$/u.exec(line);
    if (!match) throw fail("malformed signature line in signed note");
    const [, name = "", b64 = ""] = match;
    const bytes = Buffer.from(b64, "base64");
    if (bytes.length < 5) throw fail("malformed signature in signed note");
    const hash = bytes.readUInt32BE(0);
    const key = verifiers.find((v) => v.name === name && v.hash === hash);
    if (!key) continue;
    if (!verify(null, message, key.publicKey, bytes.subarray(4)))
      throw fail(`the signature of ${name} on the note does not verify`);
    if (!signedBy.includes(name)) signedBy.push(name);
  }
  if (signedBy.length === 0) throw fail("signed note has no signature by a known key");
  return { text, signedBy };
}

/** A transparency log checkpoint (C2SP tlog-checkpoint). */
export interface Checkpoint {
  /** The log's name, a schema-less URL (`registry.example/log`). */
  origin: string;
  size: number;
  root: Buffer;
  /** Lines after the root (none written here; kept when read). */
  extensions: string[];
}

/** The checkpoint's note text: origin, size, base64 root, one per line. */
export function formatCheckpoint(c: Pick<Checkpoint, "origin" | "size" | "root">): string {
  return `${c.origin}\n${c.size}\n${c.root.toString("base64")}\n`;
}

/** Parses a checkpoint's text (from an opened note). */
export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split("\n");
  const [origin = "", size = "", root = ""] = lines;
  if (lines.length < 4 || lines[lines.length - 1] !== "" || !validName(origin))
    throw fail("malformed checkpoint");
  if (!/^(0|[1-9][0-9]{0,15})$/.test(size) || !Number.isSafeInteger(Number(size)))
    throw fail("malformed checkpoint size");
  const hash = Buffer.from(root, "base64");
  if (hash.length !== 32 || hash.toString("base64") !== root)
    throw fail("malformed checkpoint root");
  return { origin, size: Number(size), root: hash, extensions: lines.slice(3, -1) };
}

/** Opens a signed checkpoint with the log's key and checks its origin is the log's. */
export function openCheckpoint(note: string, log: NoteVerifier): Checkpoint {
  const { text } = openNote(note, [log]);
  const checkpoint = parseCheckpoint(text);
  if (checkpoint.origin !== log.name)
    throw fail(`checkpoint of log "${checkpoint.origin}", expected "${log.name}"`);
  return checkpoint;
}
