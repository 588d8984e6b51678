/**
 * A file's mode inside a skill archive, decided by its content alone: 0o755 when it starts with
 * a `#!` interpreter line, else 0o644. The client packing a folder and the registry rebuilding
 * an archive from uploaded files both call this, so the same files always give the same archive
 * and the same integrity, whatever the execute bits on the author's disk (which the official CLI
 * does not send) or the file's extension.
 */
export function archiveFileMode(bytes: Uint8Array): 0o644 | 0o755 {
  return bytes.length >= 2 && bytes[0] === 0x23 && bytes[1] === 0x21 ? 0o755 : 0o644;
}
