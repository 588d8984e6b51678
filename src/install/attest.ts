/**
 * Client-side checks of the registry's transparency log (docs/security.md#transparency-log):
 * every install and update checks that the archive is the one the registry's signed statement
 * names, that the statement is in the log under the latest signed checkpoint, and that this
 * checkpoint extends the last one this client saw. The client keeps that last checkpoint per
 * registry (a "witness" file in its config directory), so a registry that rewrites its history,
 * shows this client a fork, or rolls back is caught, as Go's checksum database clients do.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { RegistryClient } from "../client/index.ts";
import { ClawHubError, isClawHubError } from "../errors/index.ts";
import type { VersionAttestationResponse } from "../schema/index.ts";
import { sha512HexOf } from "../skill/index.ts";
import {
  type Checkpoint,
  EMPTY_ROOT,
  ed25519PublicKey,
  leafHash,
  type NoteVerifier,
  openCheckpoint,
  type PublishAttestation,
  parseEnvelope,
  parseVerifierKey,
  payloadOf,
  readPublishStatement,
  signedBy,
  verifyConsistency,
  verifyInclusion,
} from "../trust/index.ts";

/**
 * What an install requires: `registry` (the default) the registry's signature and log
 * inclusion wherever the registry keeps a log; `publisher` also the publisher's own signature.
 */
export type TrustLevel = "registry" | "publisher";
export const TRUST_LEVELS: readonly TrustLevel[] = ["registry", "publisher"];

/** What a client remembers of one registry's log. */
export interface WitnessState {
  registry: string;
  origin: string;
  /** The log key pinned on first contact (trust on first use, as ssh's known_hosts). */
  verifierKey: string;
  /** The last verified checkpoint: size, base64 root and the signed note itself. */
  size: number;
  root: string;
  note: string;
  updatedAt: string;
}

/** Where a client keeps its witness states. */
export interface Witness {
  load(registry: string): Promise<WitnessState | undefined>;
  /**
   * Stores a newer checkpoint. Never moves back: a stored state that is larger stays, and one
   * of the same size with another root is a fork (VERIFICATION_FAILED).
   */
  save(state: WitnessState): Promise<void>;
}

const fail = (message: string, hint?: string) =>
  new ClawHubError("VERIFICATION_FAILED", message, {
    hint: hint ?? "Nothing was installed. Report it to the registry's operator.",
  });

const fileOf = (dir: string, registry: string) =>
  join(dir, `${createHash("sha256").update(registry).digest("hex").slice(0, 32)}.json`);

/** Witness states as JSON files in `dir` (0600 in 0700), one per registry URL. */
export function createFileWitness(dir: string): Witness {
  let queue: Promise<unknown> = Promise.resolve();
  const load = async (registry: string) => {
    try {
      const state = JSON.parse(await readFile(fileOf(dir, registry), "utf8")) as WitnessState;
      return state.registry === registry ? state : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new ClawHubError(
        "CONFIG_INVALID",
        `the transparency log state ${fileOf(dir, registry)} is unreadable`,
        { cause: error, hint: "Delete it to trust the registry's log afresh." },
      );
    }
  };
  return {
    load,
    save(state) {
      // Serialised in this process: concurrent installs read-compare-write one at a time.
      const run = queue.then(async () => {
        const stored = await load(state.registry);
        if (stored && stored.verifierKey !== state.verifierKey)
          throw fail(`the log key of ${state.registry} changed`);
        if (stored && stored.size > state.size) return;
        if (stored && stored.size === state.size) {
          if (stored.root !== state.root)
            throw fail(`the transparency log of ${state.registry} forked at size ${state.size}`);
          return;
        }
        await mkdir(dir, { recursive: true, mode: 0o700 });
        const file = fileOf(dir, state.registry);
        const tmp = `${file}.${process.pid}.tmp`;
        await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
        await rename(tmp, file);
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

/** What a verified install records. */
export interface Attested {
  logIndex: number;
  /** Who signed the statement: always the registry; the publisher too when they signed. */
  signedBy: ("publisher" | "registry")[];
  checkpointSize: number;
  /** The publisher whose key signed, when one did. */
  publisher?: { keyId: string; handle: string };
  /** The log key was pinned by this install (first contact with the registry's log). */
  pinned: boolean;
}

/**
 * Pins a registry's log on first contact (or returns the pinned state). Undefined when the
 * registry keeps no log and none was pinned before: a registry seen with a log that no
 * longer has one is a downgrade and fails.
 */
export async function pinnedLog(
  client: RegistryClient,
  witness: Witness,
): Promise<{ state: WitnessState; verifier: NoteVerifier; pinned: boolean } | undefined> {
  const stored = await witness.load(client.registry);
  if (stored)
    return { state: stored, verifier: parseVerifierKey(stored.verifierKey), pinned: false };
  let info: Awaited<ReturnType<RegistryClient["log"]["info"]>>;
  try {
    info = await client.log.info();
  } catch (error) {
    if (isClawHubError(error) && error.code === "NOT_FOUND") return undefined;
    throw error;
  }
  const verifier = parseVerifierKey(info.verifierKey);
  if (verifier.name !== info.origin) throw fail("the registry's log key does not name its log");
  return {
    state: {
      registry: client.registry,
      origin: info.origin,
      verifierKey: info.verifierKey,
      size: 0,
      root: EMPTY_ROOT.toString("base64"),
      note: "",
      updatedAt: new Date(0).toISOString(),
    },
    verifier,
    pinned: true,
  };
}

/**
 * Checks a new checkpoint against the pinned state: signed by the pinned key, not smaller
 * (a rollback), and consistent with it (no rewritten or forked history). Returns it opened.
 */
export function checkCheckpoint(
  state: WitnessState,
  verifier: NoteVerifier,
  note: string,
  consistencyProof: readonly string[] | undefined,
): Checkpoint {
  const checkpoint = openCheckpoint(note, verifier);
  if (checkpoint.size < state.size)
    throw fail(
      `the transparency log of ${state.registry} rolled back: it shows ${checkpoint.size} entries, this client saw ${state.size}`,
    );
  const old = Buffer.from(state.root, "base64");
  if (
    state.size > 0 &&
    !verifyConsistency(
      state.size,
      checkpoint.size,
      (consistencyProof ?? []).map((h) => Buffer.from(h, "base64")),
      old,
      checkpoint.root,
    )
  )
    throw fail(
      `the transparency log of ${state.registry} is not consistent with the checkpoint this client saw at size ${state.size}: its history was rewritten or forked`,
    );
  return checkpoint;
}

/** The witness state after a verified checkpoint. */
export const advanced = (state: WitnessState, checkpoint: Checkpoint, note: string) => ({
  ...state,
  size: checkpoint.size,
  root: checkpoint.root.toString("base64"),
  note,
  updatedAt: new Date().toISOString(),
});

/** Fetches the latest checkpoint and checks it against the pinned state (as checkCheckpoint). */
export async function latestCheckpoint(
  client: RegistryClient,
  state: WitnessState,
  verifier: NoteVerifier,
): Promise<{ checkpoint: Checkpoint; note: string }> {
  const note = await client.log.checkpoint();
  // The consistency proof from the size seen, once the new size is known (and signed).
  const size = openCheckpoint(note, verifier).size;
  const proof =
    state.size > 0 && size >= state.size
      ? (await client.log.consistency(state.size, size)).proof
      : undefined;
  return { checkpoint: checkCheckpoint(state, verifier, note, proof), note };
}

/**
 * Checks an attestation answer: its checkpoint (as checkCheckpoint), the registry's signature
 * on the envelope, a statement about this registry and the version asked for (owner "" takes
 * the one the registry resolved), and the statement's inclusion in the checkpoint's tree.
 */
export function checkAttestation(
  state: WitnessState,
  verifier: NoteVerifier,
  a: VersionAttestationResponse,
  want: { slug: string; version?: string | undefined; owner: string },
): { statement: PublishAttestation; checkpoint: Checkpoint; leaf: Buffer } {
  const name = `${want.owner ? `@${want.owner}/` : ""}${want.slug}@${want.version ?? a.version}`;
  const checkpoint = checkCheckpoint(state, verifier, a.checkpoint, a.consistencyProof);
  const envelope = parseEnvelope(a.envelope);
  if (!signedBy(envelope, verifier.publicKey))
    throw fail(`the statement of ${name} is not signed by the registry's log key`);
  const payload = payloadOf(envelope);
  const statement = readPublishStatement(payload);
  if (
    statement.registry !== state.origin ||
    statement.slug !== want.slug ||
    statement.version !== (want.version ?? a.version) ||
    (want.owner !== "" && statement.owner !== want.owner) ||
    statement.owner !== a.ownerHandle
  )
    throw fail(`the logged statement is about another skill than ${name}`);
  const leaf = leafHash(payload);
  if (
    !verifyInclusion(
      a.logIndex,
      checkpoint.size,
      leaf,
      a.inclusionProof.map((h) => Buffer.from(h, "base64")),
      checkpoint.root,
    )
  )
    throw fail(`the statement of ${name} is not in the transparency log's signed tree`);
  return { statement, checkpoint, leaf };
}

/**
 * Verifies a downloaded version against the registry's log. Undefined when the registry keeps
 * no log (never had one for this client): integrity alone was checked, which the caller says.
 * Throws VERIFICATION_FAILED naming what failed.
 */
export async function verifyAttested(options: {
  client: RegistryClient;
  witness: Witness;
  slug: string;
  /** The owner asked for ("" for a bare slug: whoever the registry resolves). */
  owner: string;
  version: string;
  /** The archive's digests (sha512 SRI optional: lockfiles of other CLIs lack it). */
  archive: { sha256: string; integrity?: string | undefined };
  trust?: TrustLevel;
}): Promise<Attested | undefined> {
  const { client, witness, slug, owner, version, archive } = options;
  const name = `${owner ? `@${owner}/` : ""}${slug}@${version}`;
  const log = await pinnedLog(client, witness);
  if (!log) {
    if (options.trust === "publisher")
      throw fail(
        `${client.registry} keeps no transparency log, so ${name} carries no signature to check`,
        "Nothing was installed. Drop --trust publisher to install with integrity checks only.",
      );
    return undefined;
  }
  const { state, verifier } = log;
  let a: Awaited<ReturnType<RegistryClient["log"]["attestation"]>>;
  try {
    a = await client.log.attestation(slug, {
      version,
      ...(owner ? { ownerHandle: owner } : {}),
      ...(state.size > 0 ? { since: state.size } : {}),
    });
  } catch (error) {
    if (isClawHubError(error) && error.code === "NOT_FOUND")
      throw fail(`${name} is not in the transparency log of ${client.registry}`);
    throw error;
  }
  const { statement, checkpoint } = checkAttestation(state, verifier, a, { slug, version, owner });
  // A lockfile of another CLI may lack the sha512: the sha256 still binds the archive.
  const sha512 = sha512HexOf(archive.integrity ?? "") ?? statement.sha512;
  if (statement.sha256 !== archive.sha256 || statement.sha512 !== sha512)
    throw fail(
      `the archive of ${name} is not the one the transparency log records: the registry serves other bytes than were published`,
    );
  const publisher = await checkPublisher(client, a, statement);
  if (options.trust === "publisher" && !publisher)
    throw fail(
      `${name} was published without a publisher signature (the registry signed it alone)`,
      "Nothing was installed. Use --trust registry to accept versions the registry alone signed.",
    );
  await witness.save(advanced(state, checkpoint, a.checkpoint));
  return {
    logIndex: a.logIndex,
    signedBy: publisher ? ["publisher", "registry"] : ["registry"],
    ...(publisher ? { publisher } : {}),
    checkpointSize: checkpoint.size,
    pinned: log.pinned,
  };
}

/**
 * The publisher's signature, when the statement names a publisher key: the key (from the
 * registry's key directory) must sign the envelope and not have been revoked before the
 * publish. Undefined when the registry signed alone; VERIFICATION_FAILED when a named key
 * does not vouch.
 */
export async function checkPublisher(
  client: RegistryClient,
  a: VersionAttestationResponse,
  statement: PublishAttestation,
): Promise<{ keyId: string; handle: string } | undefined> {
  const keyId = statement.publisherKeyId;
  if (keyId === null) return undefined;
  const name = `@${statement.owner}/${statement.slug}@${statement.version}`;
  let key: Awaited<ReturnType<RegistryClient["keys"]["get"]>>["key"];
  try {
    key = (await client.keys.get(keyId)).key;
  } catch (error) {
    if (isClawHubError(error) && error.code === "NOT_FOUND")
      throw fail(
        `the publisher key ${keyId.slice(0, 16)} that signed ${name} is unknown to the registry`,
      );
    throw error;
  }
  if (key.keyId !== keyId || !signedBy(parseEnvelope(a.envelope), ed25519PublicKey(key.publicKey)))
    throw fail(`the publisher's signature on ${name} does not verify`);
  if (key.revokedAt !== null && key.revokedAt <= Date.parse(statement.publishedAt))
    throw fail(`${name} was signed with publisher key ${keyId.slice(0, 16)} after it was revoked`);
  return { keyId, handle: key.handle };
}
