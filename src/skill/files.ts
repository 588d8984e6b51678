import { lstat, readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import ignore from "ignore";
import { type FileHash, fingerprintOf, sha256Hex } from "./hash.ts";
import { DEFAULT_LIMITS, formatBytes, type SkillLimits } from "./limits.ts";
import type { RuleId } from "./rules.ts";

/** One file of a skill's publishable file set. */
export interface SkillFile {
  /** POSIX path relative to the skill folder. */
  path: string;
  absPath: string;
  size: number;
}

/** A path left out of the file set, and why. */
export interface SkippedPath {
  path: string;
  reason: "symlink" | "special-file";
}

/** A limit the file set breaks. */
export interface FileSetViolation {
  rule: Extract<RuleId, "files.too-many" | "files.too-large" | "files.file-too-large">;
  message: string;
  path?: string;
}

/** The files `pack` and `publish` take from a skill folder, sorted by path. */
export interface FileSet {
  root: string;
  files: SkillFile[];
  totalBytes: number;
  skipped: SkippedPath[];
  violations: FileSetViolation[];
}

/**
 * Names skipped wherever they appear: version control, dependencies, ClawHub's own install
 * metadata, and operating-system junk. Any path segment starting with "." is skipped as well,
 * as the official CLI does.
 */
export const ALWAYS_IGNORED = ["node_modules", "Thumbs.db", "desktop.ini", "__MACOSX", "Icon\r"];

/** Ignore files read from the skill's root folder, in order (gitignore syntax). */
export const IGNORE_FILES = [".gitignore", ".clawhubignore", ".clawdhubignore"];

/** Options of {@link collectFiles}. */
export interface CollectOptions {
  limits?: SkillLimits;
}

/**
 * Walks a skill folder and returns its publishable file set: ignore rules applied, symlinks and
 * special files skipped (reported in `skipped`), limits checked (reported in `violations`; the
 * walk stops early once the file count is far past the limit).
 */
export async function collectFiles(root: string, options: CollectOptions = {}): Promise<FileSet> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const ig = ignore().add([".git/", "node_modules/", ".clawhub/", ".clawdhub/"]);
  for (const name of IGNORE_FILES) {
    try {
      ig.add((await readFile(join(root, name), "utf8")).split(/\r?\n/));
    } catch {
      // optional file
    }
  }
  const files: SkillFile[] = [];
  const skipped: SkippedPath[] = [];
  const stopAt = limits.maxFiles * 2;

  async function walk(dir: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      if (files.length > stopAt) return;
      if (entry.name.startsWith(".") || ALWAYS_IGNORED.includes(entry.name)) continue;
      const abs = join(dir, entry.name);
      const rel = relative(root, abs).split(sep).join("/");
      if (entry.isDirectory()) {
        if (!ig.ignores(`${rel}/`)) await walk(abs);
        continue;
      }
      if (ig.ignores(rel)) continue;
      if (entry.isSymbolicLink()) {
        skipped.push({ path: rel, reason: "symlink" });
        continue;
      }
      if (!entry.isFile()) {
        skipped.push({ path: rel, reason: "special-file" });
        continue;
      }
      const st = await lstat(abs);
      files.push({ path: rel, absPath: abs, size: st.size });
    }
  }
  await walk(root);
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const violations: FileSetViolation[] = [];
  let totalBytes = 0;
  for (const f of files) {
    totalBytes += f.size;
    if (f.size > limits.maxFileBytes) {
      violations.push({
        rule: "files.file-too-large",
        path: f.path,
        message: `${f.path} is ${formatBytes(f.size)}; the per-file limit is ${formatBytes(limits.maxFileBytes)}`,
      });
    }
  }
  if (files.length > limits.maxFiles) {
    const count = files.length > stopAt ? `more than ${stopAt}` : String(files.length);
    violations.push({
      rule: "files.too-many",
      message: `the skill has ${count} files; the limit is ${limits.maxFiles}`,
    });
  }
  if (totalBytes > limits.maxTotalBytes) {
    violations.push({
      rule: "files.too-large",
      message: `the skill's files add up to ${formatBytes(totalBytes)}; the limit is ${formatBytes(limits.maxTotalBytes)}`,
    });
  }
  return { root, files, totalBytes, skipped, violations };
}

/** A file of the set with its content read. */
export interface LoadedFile extends SkillFile {
  data: Buffer;
  sha256: string;
}

/** Reads every file of a set and hashes it. */
export async function loadFiles(set: FileSet): Promise<LoadedFile[]> {
  return Promise.all(
    set.files.map(async (f) => {
      const data = await readFile(f.absPath);
      // The size may have changed since the walk; the bytes read are what counts.
      return { ...f, size: data.length, data, sha256: sha256Hex(data) };
    }),
  );
}

/** Per-file hashes and the ClawHub fingerprint of a skill folder. */
export async function hashFolder(
  root: string,
  options: CollectOptions = {},
): Promise<{ files: FileHash[]; fingerprint: string }> {
  const loaded = await loadFiles(await collectFiles(root, options));
  const files = loaded.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size }));
  return { files, fingerprint: fingerprintOf(files) };
}
