/** The hub's tamper-evident audit trail: a hash-chained, checkpoint-signed log and its verifier. */

export { createFileAuditSink, type FileAuditSink, type FileAuditSinkOptions } from "./file-sink.ts";
export {
  type AuditCheckpoint,
  type AuditEntry,
  type AuditEvent,
  type AuditKey,
  type AuditKeyLine,
  type AuditLine,
  type AuditSink,
  type AuditVerdict,
  auditKey,
  createAuditLog,
  digestOf,
  verifyAuditLog,
} from "./log.ts";

import type { AuditLine, AuditSink } from "./log.ts";

/** An in-memory sink (tests; the hub keeps its log in files: createFileAuditSink). */
export function createMemoryAuditSink(): AuditSink {
  const lines: AuditLine[] = [];
  return {
    append: async (line) => {
      lines.push(line);
    },
    all: async () => [...lines],
  };
}
