/**
 * Documented limits of a skill package, shared by pack, publish and every extraction. The
 * registry enforces the same numbers, so a skill that packs locally also publishes.
 */
export interface SkillLimits {
  /** Files in one skill (packing) or entries in one archive (extraction). */
  maxFiles: number;
  /** Sum of all file sizes, uncompressed. */
  maxTotalBytes: number;
  /** Size of one file, uncompressed. */
  maxFileBytes: number;
  /**
   * Inflated-to-compressed ratio above which an entry is refused as a decompression bomb. Only
   * applied past {@link RATIO_FLOOR_BYTES}: small, highly repetitive text legitimately compresses
   * far better than this.
   */
  maxCompressionRatio: number;
  /** Length of an archive entry name in UTF-8 bytes. */
  maxPathBytes: number;
  /** Length of one path segment in UTF-8 bytes (what file systems allow). */
  maxSegmentBytes: number;
}

const MiB = 1024 * 1024;

/** The defaults: the public ClawHub registry's 50 MB bundle limit, and conservative per-file caps. */
export const DEFAULT_LIMITS: Readonly<SkillLimits> = Object.freeze({
  maxFiles: 1000,
  maxTotalBytes: 50 * MiB,
  maxFileBytes: 10 * MiB,
  maxCompressionRatio: 200,
  maxPathBytes: 1024,
  maxSegmentBytes: 255,
});

/** Entries inflating to less than this are never refused for their ratio. */
export const RATIO_FLOOR_BYTES = 1 * MiB;

/** Largest archive file accepted for extraction: the uncompressed limit plus header overhead. */
export function maxArchiveBytes(limits: SkillLimits): number {
  return limits.maxTotalBytes + limits.maxFiles * (2 * limits.maxPathBytes + 128);
}

/** Fills unset fields of a partial limits object with the defaults. */
export function resolveLimits(partial: Partial<SkillLimits> = {}): SkillLimits {
  return { ...DEFAULT_LIMITS, ...partial };
}

/** "52428800" -> "50.0 MiB", for messages. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < MiB) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
