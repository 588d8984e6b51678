/**
 * Trust in skills (docs/security.md): the scanner (`scanFiles` over a skill's bytes and
 * readers for a skill folder and a skill archive), its optional language-model judge, look-alike
 * slugs and display names, publish attestations (in-toto statements in DSSE envelopes), the
 * transparency log's Merkle tree (RFC 9162) and its signed checkpoints (C2SP signed-note).
 * DESIGN.md: src/trust.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collectFiles, extractZip, loadFiles, readZipDirectory } from "../skill/index.ts";
import { type Judge, type JudgeOpinion, withOpinion } from "./judge.ts";
import {
  notAnalysed,
  type ScanFile,
  type ScanOptions,
  type ScanReport,
  scanFiles,
} from "./scanner.ts";

export {
  addSignature,
  createEnvelope,
  type DsseEnvelope,
  ed25519PublicKey,
  ed25519RawKey,
  INTOTO_PAYLOAD_TYPE,
  keyIdOf,
  MAX_ENVELOPE_BYTES,
  PUBLISH_PREDICATE_TYPE,
  type PublishAttestation,
  pae,
  parseEnvelope,
  payloadOf,
  publishStatement,
  readPublishStatement,
  signedBy,
} from "./attestation.ts";
export {
  checkDisplayNameSpoof,
  type DisplayNameProblem,
  displaySkeleton,
  type KnownDisplayName,
  latinLookalikes,
} from "./display-names.ts";
export {
  createHttpJudge,
  type HttpJudgeOptions,
  type Judge,
  type JudgeOpinion,
  parseOpinion,
  withOpinion,
} from "./judge.ts";
export {
  CompactRange,
  completedNodes,
  consistencyProof,
  EMPTY_ROOT,
  type Hash,
  inclusionProof,
  leafHash,
  type NodeReader,
  nodeHash,
  rootOf,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
} from "./merkle.ts";
export {
  checkNewSlug,
  editDistance,
  type KnownSkill,
  type NameProblem,
  OFFICIAL_NAMES,
  slugSkeleton,
} from "./names.ts";
export {
  type Checkpoint,
  formatCheckpoint,
  generateNoteKey,
  MAX_NOTE_BYTES,
  type NoteSigner,
  type NoteVerifier,
  type OpenedNote,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
  signNote,
} from "./note.ts";
export {
  createScanPool,
  SCAN_BUDGET,
  SCAN_JOBS,
  type ScanPool,
  scanOnPool,
} from "./scan-pool.ts";
export {
  FILE_RULES,
  LINE_RULES,
  OFFICIAL_INSTALLERS,
  SEVERITY_POINTS,
  type Severity,
} from "./scan-rules.ts";
export {
  type Finding,
  notAnalysed,
  rulesOf,
  SCANNER_VERSION,
  type ScanFile,
  type ScanOptions,
  type ScanReport,
  scanFiles,
  scanInput,
  VERDICT_WEIGHTS,
  type Verdict,
  visible,
} from "./scanner.ts";

/** A report with the judge's second opinion, when one was asked (src/trust/judge.ts). */
export type JudgedReport = ScanReport & {
  judge?: JudgeOpinion | { error: string };
};

/**
 * Scans a skill folder: the files a publish of it would send (ignore files respected). With a
 * judge, its opinion is added and may raise a clean verdict to suspicious (never lower one);
 * a judge that fails leaves the static verdict, with the error.
 */
export async function scanDirectory(
  dir: string,
  options: ScanOptions = {},
  judge?: Judge,
): Promise<JudgedReport> {
  const set = await collectFiles(dir);
  const files: ScanFile[] = (await loadFiles(set)).map((f) => ({ path: f.path, bytes: f.data }));
  const report = scanFiles(files, options);
  if (!judge) return report;
  try {
    const opinion = await judge.judge(files, report);
    return { ...report, verdict: withOpinion(report.verdict, opinion), judge: opinion };
  } catch (error) {
    return { ...report, judge: { error: error instanceof Error ? error.message : String(error) } };
  }
}

/**
 * Scans a skill archive (.zip): extracted with the registry's limits into a temporary folder.
 * An archive that cannot be extracted (encrypted, damaged, over a limit) is not clean.
 */
export async function scanArchive(
  path: string,
  options: ScanOptions = {},
  judge?: Judge,
): Promise<JudgedReport> {
  const data = await readFile(path);
  let encrypted = false;
  try {
    encrypted = readZipDirectory(data, { maxEntries: 100_000 }).some((e) => (e.flags & 1) === 1);
  } catch {
    encrypted = false;
  }
  if (encrypted) return scanFiles([{ path: "(archive)", bytes: data }], options);
  const dir = await mkdtemp(join(tmpdir(), "clawhub-scan-"));
  try {
    await extractZip(data, dir);
    return await scanDirectory(dir, options, judge);
  } catch (error) {
    return notAnalysed(error instanceof Error ? error.message : "unreadable archive");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
