/**
 * The scanner: static analysis of a skill's files (SKILL.md prose, scripts, anything inside),
 * findings with a rule, severity, file, line, evidence and explanation, and a verdict from
 * documented weights. It fails closed: what it cannot read makes a skill suspicious, never
 * clean. Linear in the input: lines are gated by substring tests and matched by RE2JS, and each
 * file and the whole skill have byte budgets.
 */
import { RE2JS } from "re2js";
import {
  FILE_RULES,
  LINE_RULES,
  type LineRule,
  SEVERITY_POINTS,
  type Severity,
} from "./scan-rules.ts";

/** One thing the scanner found. */
export interface Finding {
  rule: string;
  severity: Severity;
  file: string;
  /** 1-based; 0 for a finding about the whole file. */
  line: number;
  /** The matched text (at most 160 characters, control characters made visible). */
  evidence: string;
  explanation: string;
}

/** clean: nothing that weighs; suspicious: held for a look; malicious: blocked. */
export type Verdict = "clean" | "suspicious" | "malicious";

/** What a scan of one skill says. */
export interface ScanReport {
  verdict: Verdict;
  /** Sum of the findings' points (info 0, low 1, medium 3, high 6, critical 10). */
  score: number;
  findings: Finding[];
  /** Files read, and bytes. */
  files: number;
  bytes: number;
  /** The scanner's version: a verdict is only comparable with one of the same version. */
  scanner: string;
}

/** Thresholds and budgets. */
export interface ScanOptions {
  /** Bytes of one file analysed; a larger one is `unanalysed`. Default 1 MiB. */
  maxFileBytes?: number;
  /** Bytes of a whole skill analysed; files past it are `unanalysed`. Default 8 MiB. */
  maxTotalBytes?: number;
}

/** Bumped whenever a rule or a weight changes. */
export const SCANNER_VERSION = "clawhub-scan/3";

/**
 * The verdict's weights: malicious at a critical finding or a score of 9 (a high and a medium
 * finding); suspicious at a high finding, content that could not be analysed, or a score of 3
 * (a medium one); clean below. A file that both reads credentials and sends data out is treated
 * as one high finding more: that pair is what exfiltration looks like.
 */
export const VERDICT_WEIGHTS = { malicious: 9, suspicious: 3 } as const;

const PROSE = /\.(?:md|markdown|txt|rst|mdx)$/i;
const MAX_LINE = 4096;

interface CompiledRule {
  rule: LineRule;
  re: RE2JS;
}
let compiled: CompiledRule[] | undefined;
const rules = () =>
  (compiled ??= LINE_RULES.map((rule) => ({ rule, re: RE2JS.compile(rule.pattern) })));

/** A file of a skill: its path inside the skill and its bytes. */
export interface ScanFile {
  path: string;
  /** The file's bytes, or only their start when `size` says the file is larger. */
  bytes: Uint8Array;
  /** The file's size when `bytes` holds only its start (what is sent to a scan worker). */
  size?: number;
}

/** Scans one skill's files. */
/** The rules a report's findings name that count toward its verdict (not info), each once. */
export function rulesOf(findings: readonly Finding[]): string[] {
  return [...new Set(findings.filter((f) => f.severity !== "info").map((f) => f.rule))];
}

export function scanFiles(files: ScanFile[], options: ScanOptions = {}): ScanReport {
  const maxFile = options.maxFileBytes ?? 1024 * 1024;
  const maxTotal = options.maxTotalBytes ?? 8 * 1024 * 1024;
  const findings: Finding[] = [];
  let total = 0;
  for (const file of files) {
    const size = file.size ?? file.bytes.byteLength;
    total += size;
    const whole = (id: keyof typeof FILE_RULES, evidence: string, line = 0) => {
      const r = FILE_RULES[id] as (typeof FILE_RULES)[string];
      findings.push({
        rule: r.id,
        severity: r.severity,
        file: file.path,
        line,
        evidence: visible(evidence),
        explanation: r.explanation,
      });
    };
    const kind = binaryKind(file.bytes);
    if (kind === "encrypted-zip") {
      whole("encrypted-archive", "a ZIP entry with the encryption flag set");
      continue;
    }
    if (kind === "archive") {
      whole("nested-archive", `${file.path} is an archive`);
      continue;
    }
    if (kind === "executable") {
      whole("binary-executable", `${file.path} is a compiled program`);
      continue;
    }
    if (total > maxTotal) {
      whole("unanalysed", `past the ${maxTotal} bytes a skill is analysed for`);
      continue;
    }
    if (size > maxFile) {
      whole("unanalysed", `${size} bytes, over the ${maxFile} analysed per file`);
      continue;
    }
    const text = decodeText(file.bytes);
    if (text === undefined) {
      if (kind !== "image") whole("unanalysed", "binary content the scanner cannot read");
      continue;
    }
    scanText(file.path, text, findings);
  }
  // Credentials read and a drop point named in one file: exfiltration.
  const byFile = new Map<string, Set<string>>();
  for (const f of findings) byFile.set(f.file, (byFile.get(f.file) ?? new Set()).add(f.rule));
  for (const [file, ids] of byFile)
    if (
      (ids.has("credential-files") || ids.has("env-dump")) &&
      (ids.has("exfiltration-channel") || ids.has("upload") || ids.has("network-send"))
    )
      findings.push({
        rule: "credential-exfiltration",
        severity: "high",
        file,
        line: 0,
        evidence: "reads credentials and sends data to a drop point in the same file",
        explanation:
          "Reads secrets and sends data out in the same file: the shape of credential theft. A skill that needs a secret should ask for it and use it where it belongs, not ship it elsewhere.",
      });
  const score = findings.reduce((sum, f) => sum + SEVERITY_POINTS[f.severity], 0);
  const verdict: Verdict =
    findings.some((f) => f.severity === "critical") || score >= VERDICT_WEIGHTS.malicious
      ? "malicious"
      : findings.some((f) => f.severity === "high" || f.rule === "unanalysed") ||
          score >= VERDICT_WEIGHTS.suspicious
        ? "suspicious"
        : "clean";
  findings.sort(
    (a, b) =>
      SEVERITY_POINTS[b.severity] - SEVERITY_POINTS[a.severity] ||
      a.file.localeCompare(b.file) ||
      a.line - b.line,
  );
  return {
    verdict,
    score,
    findings,
    files: files.length,
    bytes: total,
    scanner: SCANNER_VERSION,
  };
}

/**
 * What a scan needs of each file, copied out: the start of a file (enough to tell its kind and
 * to read it when it is within the per-file budget) and its size, and nothing past the skill's
 * budget. A 45 MiB publish sends a scan worker kilobytes, not 45 MiB.
 */
export function scanInput(files: ScanFile[], options: ScanOptions = {}): ScanFile[] {
  const maxFile = options.maxFileBytes ?? 1024 * 1024;
  const maxTotal = options.maxTotalBytes ?? 8 * 1024 * 1024;
  let total = 0;
  return files.map((f) => {
    const size = f.size ?? f.bytes.byteLength;
    total += size;
    const keep = total > maxTotal ? 512 : size > maxFile ? 512 : size;
    return { path: f.path, size, bytes: f.bytes.slice(0, keep) };
  });
}

function scanText(path: string, text: string, findings: Finding[]): void {
  const prose = PROSE.test(path);
  const add = (rule: string, severity: Severity, line: number, evidence: string, why: string) => {
    // One finding per rule and line; a rule's stronger form on the line stands for it.
    const same = (id: string) =>
      findings.some((f) => f.rule === id && f.file === path && f.line === line);
    if (same(rule) || same(`${rule}-untrusted`)) return;
    findings.push({
      rule,
      severity,
      file: path,
      line,
      evidence: visible(evidence),
      explanation: why,
    });
  };
  // Hidden characters anywhere: zero-width, Unicode tags, bidirectional overrides. A byte order
  // mark at the very start is an encoding marker, not hidden text.
  // A zero-width joiner between pictographs is part of an emoji (👨‍💻), not hidden text.
  const hidden =
    /[\u200B\u200C\u2060\u2066-\u2069\u202A-\u202E]|\uFEFF|[\u{E0000}-\u{E007F}]|(?<!\p{Extended_Pictographic}\uFE0F?)\u200D|\u200D(?!\p{Extended_Pictographic})/gu;
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const lines = body.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    hidden.lastIndex = 0;
    const m = hidden.exec(line);
    if (m) {
      // Unicode tag characters never belong in text (they spell invisible words); bidi
      // overrides reorder what a reviewer sees (Trojan Source); a stray zero-width character is
      // often just pasted text.
      const c = m[0].codePointAt(0) ?? 0;
      const severity: Severity =
        c >= 0xe0000
          ? "critical"
          : (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)
            ? "high"
            : "medium";
      const r = FILE_RULES["hidden-unicode"] as (typeof FILE_RULES)[string];
      add(
        r.id,
        severity,
        i + 1,
        line.slice(Math.max(0, m.index - 40), m.index + 40),
        r.explanation,
      );
    }
  }
  // Instructions inside HTML comments of prose (a rendered page hides them).
  if (prose) {
    let at = 0;
    for (;;) {
      const open = body.indexOf("<!--", at);
      if (open < 0) break;
      const close = body.indexOf("-->", open + 4);
      const end = close < 0 ? body.length : close;
      const inside = body.slice(open + 4, end);
      if (looksLikeInstructions(inside)) {
        const r = FILE_RULES["hidden-comment-instructions"] as (typeof FILE_RULES)[string];
        add(r.id, r.severity, lineOf(body, open), inside.trim().slice(0, 160), r.explanation);
      }
      at = end + 3;
    }
  }
  for (const [i, raw] of lines.entries()) {
    const lower = raw.toLowerCase();
    // Long lines (minified code, one-line payloads) are read in overlapping windows.
    for (let start = 0; start < Math.max(1, lower.length); start += MAX_LINE - 256) {
      const window = lower.slice(start, start + MAX_LINE);
      for (const { rule, re } of rules()) {
        if (rule.in === "prose" && !prose) continue;
        if (rule.in === "code" && prose) continue;
        if (!rule.keywords.some((k) => window.includes(k))) continue;
        const m = re.matcher(window);
        if (!m.find()) continue;
        const hit = m.group() ?? "";
        // `unless` reads the whole line: a negation ("never share your key") or an official
        // host anywhere on it.
        if (rule.unless?.some((u) => window.includes(u))) continue;
        const benign = rule.benign?.some((b) => hit.includes(b)) ?? false;
        // A prose line that warns against what it shows ("piping a download into a shell is
        // risky") is a lesson: listed, at low, but not enough to flag the skill on its own.
        const cautioned =
          !benign && prose && (rule.cautioned?.some((c) => window.includes(c)) ?? false);
        // Prose quoting an attack ("ignore previous instructions" in a guide to injections)
        // describes it; it is not one. Only for rules about prose: a command in backticks is
        // still a command to run.
        const quoted = rule.in === "prose" && isQuoted(window, m.start());
        add(
          benign
            ? `${rule.id}:official`
            : quoted
              ? `${rule.id}:quoted`
              : cautioned
                ? `${rule.id}:cautioned`
                : rule.id,
          benign || quoted ? "info" : cautioned ? "low" : rule.severity,
          i + 1,
          raw.slice(start + m.start(), start + m.end()),
          benign
            ? "Pipes an official installer from its project's own host into a shell: common and usually fine, but the user should know what it installs."
            : quoted
              ? `Quotes what the rule looks for, inside quotation marks: read as an example, not counted. ${rule.explanation}`
              : cautioned
                ? `Shown while warning against it (a lesson), so counted low; make sure nothing asks the agent to run it. ${rule.explanation}`
                : rule.explanation,
        );
      }
      if (start + MAX_LINE >= lower.length) break;
    }
  }
}

/**
 * Whether `at` falls inside a quotation on the line: an odd number of double quotes before it,
 * an open curly or angle quote, or an open single quote (one that starts a word after a space
 * or bracket: apostrophes inside words, as in "don't", are not quotes).
 */
function isQuoted(line: string, at: number): boolean {
  const before = line.slice(0, at);
  const count = (c: string) => before.split(c).length - 1;
  if (
    count('"') % 2 === 1 ||
    count("\u201c") > count("\u201d") ||
    count("\u00ab") > count("\u00bb")
  )
    return true;
  let open = false;
  for (let i = 0; i < before.length; i++) {
    if (before[i] !== "'" && before[i] !== "\u2018" && before[i] !== "\u2019") continue;
    const prev = i === 0 ? " " : (before[i - 1] as string);
    const next = line[i + 1] ?? " ";
    if (!open && /[\s([:]/.test(prev) && /\S/.test(next)) open = true;
    else if (open && /\S/.test(prev) && /[\s.,;:!?)\]]/.test(next)) open = false;
  }
  return open;
}

/** Imperatives aimed at an agent, or commands, inside a comment. */
function looksLikeInstructions(text: string): boolean {
  const t = text.toLowerCase();
  if (t.trim().length < 12) return false;
  return /\b(?:ignore|disregard|you must|you should|you are|always|never|do not|don't|assistant|agent|ai model|instructions?|run|execute|curl|wget|send|upload|read|fetch|secretly|silently)\b/.test(
    t,
  );
}

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < index; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/** Control and invisible characters as \u{...}, cut to 160 characters. */
export function visible(text: string): string {
  const cut = text.length > 160 ? `${text.slice(0, 157)}...` : text;
  return cut.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: making them visible is the point
    /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]|[\u{E0000}-\u{E007F}]/gu,
    (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`,
  );
}

type BinaryKind = "encrypted-zip" | "archive" | "executable" | "image" | undefined;

function binaryKind(b: Uint8Array): BinaryKind {
  const at = (i: number) => b[i] ?? -1;
  // ZIP local file header: PK\x03\x04; general purpose flag bit 0 = encrypted.
  if (at(0) === 0x50 && at(1) === 0x4b && at(2) === 0x03 && at(3) === 0x04)
    return (at(6) & 1) === 1 ? "encrypted-zip" : "archive";
  if (at(0) === 0x1f && at(1) === 0x8b) return "archive"; // gzip
  if (at(0) === 0x37 && at(1) === 0x7a && at(2) === 0xbc && at(3) === 0xaf) return "archive"; // 7z
  if (at(0) === 0x52 && at(1) === 0x61 && at(2) === 0x72 && at(3) === 0x21) return "archive"; // rar
  if (b.byteLength > 262 && String.fromCharCode(...b.subarray(257, 262)) === "ustar")
    return "archive";
  if (at(0) === 0x7f && at(1) === 0x45 && at(2) === 0x4c && at(3) === 0x46) return "executable";
  if (at(0) === 0x4d && at(1) === 0x5a) return "executable"; // PE
  const mach = (at(0) << 24) | (at(1) << 16) | (at(2) << 8) | at(3);
  if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(mach >>> 0))
    return "executable";
  if (
    (at(0) === 0x89 && at(1) === 0x50 && at(2) === 0x4e && at(3) === 0x47) ||
    (at(0) === 0xff && at(1) === 0xd8) ||
    (at(0) === 0x47 && at(1) === 0x49 && at(2) === 0x46) ||
    (at(0) === 0x52 && at(1) === 0x49 && at(2) === 0x46 && at(3) === 0x46)
  )
    return "image";
  return undefined;
}

const decoder = new TextDecoder("utf-8", { fatal: true });
function decodeText(b: Uint8Array): string | undefined {
  try {
    const text = decoder.decode(b);
    // NUL bytes: binary data that happens to be valid UTF-8.
    return text.includes("\u0000") ? undefined : text;
  } catch {
    return undefined;
  }
}

/**
 * The report for a skill the scanner could not analyse at all (an archive it cannot open, a scan
 * over its budget): suspicious, never clean.
 */
export function notAnalysed(evidence: string, files: ScanFile[] = []): ScanReport {
  const rule = FILE_RULES.unanalysed as (typeof FILE_RULES)[string];
  return {
    verdict: "suspicious",
    score: SEVERITY_POINTS[rule.severity],
    findings: [
      {
        rule: rule.id,
        severity: rule.severity,
        file: "(skill)",
        line: 0,
        evidence: visible(evidence),
        explanation: rule.explanation,
      },
    ],
    files: files.length,
    bytes: files.reduce((sum, f) => sum + (f.size ?? f.bytes.byteLength), 0),
    scanner: SCANNER_VERSION,
  };
}
