/**
 * The registry's transparency log (docs/security.md, "Transparency log"): every version's
 * publish statement, countersigned by the registry, is a leaf of an RFC 9162 Merkle tree kept in
 * the database; each append signs a checkpoint (C2SP signed note). Clients keep the last
 * checkpoint they verified and ask for consistency proofs, so a registry that rewrites, forks or
 * rolls back its history is caught.
 *
 * One Ed25519 key signs checkpoints and countersigns statements. The two cannot be confused:
 * DSSE signs `DSSEv1 <len> <type> ...` while a checkpoint's text starts with the origin, which
 * holds no space.
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { ClawHubError } from "../errors/index.ts";
import {
  addSignature,
  consistencyProof,
  createEnvelope,
  type DsseEnvelope,
  EMPTY_ROOT,
  formatCheckpoint,
  generateNoteKey,
  inclusionProof,
  keyIdOf,
  type NoteSigner,
  type PublishAttestation,
  parseSignerKey,
  payloadOf,
  publishStatement,
  signNote,
} from "../trust/index.ts";
import type { LogEntry, LogStore, RegistryStore } from "./store/index.ts";

/** Leaves served per page of `/api/v1/log/entries`. */
export const MAX_LOG_PAGE = 1000;

/** The registry's log, as the service and the HTTP routes use it. */
export interface RegistryLog {
  /** The log's name (checkpoint origin and note key name). */
  origin: string;
  /** The verifier key clients pin (`<origin>+<hash>+<base64>`). */
  verifierKey: string;
  /** DSSE key id of the registry's countersignature. */
  keyId: string;
  /** The statement and registry-signed envelope of a version. */
  entryFor(a: Omit<PublishAttestation, "registry">): { statement: Buffer; envelope: string };
  /** A publisher-signed envelope (already checked) with the registry's countersignature. */
  countersigned(envelope: DsseEnvelope): { statement: Buffer; envelope: string };
  sign(size: number, root: Buffer): string;
  /** The latest signed checkpoint (the empty tree's, signed now, before the first publish). */
  checkpoint(): Promise<{ size: number; note: string }>;
  inclusion(index: number, size: number): Promise<Buffer[]>;
  consistency(from: number, to: number): Promise<Buffer[]>;
  entries(start: number, limit: number): Promise<LogEntry[]>;
  entryOf(versionId: string): Promise<LogEntry | undefined>;
}

/** The log over a store, signing with `signer` (its name is the origin). */
export function createRegistryLog(log: LogStore, signer: NoteSigner): RegistryLog {
  const origin = signer.name;
  const checkSize = async (size: number, what: string) => {
    const current = await log.size();
    if (!Number.isSafeInteger(size) || size < 0 || size > current)
      throw new ClawHubError(
        "INVALID_ARGUMENT",
        `${what} ${size} is not a size of this log (it has ${current} entries)`,
      );
  };
  return {
    origin,
    verifierKey: signer.verifier.text,
    keyId: keyIdOf(signer.privateKey),
    entryFor(a) {
      const statement = publishStatement({ ...a, registry: origin });
      return {
        statement,
        envelope: JSON.stringify(createEnvelope(statement, [signer.privateKey])),
      };
    },
    countersigned(envelope) {
      const copy = { ...envelope, signatures: [...envelope.signatures] };
      addSignature(copy, signer.privateKey);
      return { statement: payloadOf(copy), envelope: JSON.stringify(copy) };
    },
    sign: (size, root) => signNote(formatCheckpoint({ origin, size, root }), signer),
    async checkpoint() {
      return (
        (await log.latestCheckpoint()) ?? {
          size: 0,
          note: signNote(formatCheckpoint({ origin, size: 0, root: EMPTY_ROOT }), signer),
        }
      );
    },
    async inclusion(index, size) {
      await checkSize(size, "tree size");
      if (!(Number.isSafeInteger(index) && index >= 0 && index < size))
        throw new ClawHubError("INVALID_ARGUMENT", `leaf ${index} is not in a tree of ${size}`);
      return inclusionProof(index, size, log.node);
    },
    async consistency(from, to) {
      await checkSize(to, "tree size");
      if (!(Number.isSafeInteger(from) && from >= 0 && from <= to))
        throw new ClawHubError("INVALID_ARGUMENT", `no consistency proof from ${from} to ${to}`);
      return consistencyProof(from, to, log.node);
    },
    entries: (start, limit) =>
      log.entries(start, start + Math.max(0, Math.min(limit, MAX_LOG_PAGE))),
    entryOf: (versionId) => log.entryOf(versionId),
  };
}

/**
 * Loads the log's signing key from `file` (creating it, 0600, for a new log named `origin`) and
 * checks it is the key the database's log was started with. A log whose key is lost cannot
 * go on: clients pinned the old one, so a new key is refused instead of silently made.
 */
export async function loadLogSigner(options: {
  store: RegistryStore;
  file: string;
  /** The origin of a new log. */
  origin: string;
}): Promise<NoteSigner> {
  const { store, file } = options;
  let signer: NoteSigner;
  if (existsSync(file)) {
    try {
      signer = parseSignerKey(await readFile(file, "utf8"));
    } catch (error) {
      throw new ClawHubError("CONFIG_INVALID", `${file} is not a transparency log key`, {
        cause: error,
      });
    }
  } else {
    if ((await store.log.size()) > 0)
      throw new ClawHubError(
        "CONFIG_INVALID",
        `the transparency log's signing key ${file} is missing, and the log has entries`,
        {
          hint: "Restore the key file from a backup (or pass --log-key): clients trust only the key the log was started with.",
        },
      );
    const key = generateNoteKey(options.origin);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, `${key.signer}\n`, { mode: 0o600, flag: "wx" });
    await chmod(file, 0o600);
    signer = parseSignerKey(key.signer);
  }
  const recorded = await store.log.claimKey(signer.verifier.text);
  if (recorded !== signer.verifier.text)
    throw new ClawHubError(
      "CONFIG_INVALID",
      `${file} is not the key this registry's transparency log was started with (${recorded})`,
      { hint: "Every replica needs the same --log-key file." },
    );
  return signer;
}
