import { isMap, isScalar, LineCounter, parseDocument, visit } from "yaml";
import { jsonNestingDepth, MAX_JSON_DEPTH } from "../schema/index.ts";

/** How the frontmatter block was found in SKILL.md. */
export type FrontmatterKind =
  /** `---` on the first line, closed by `---` or `...`: the spec's form. */
  | "delimited"
  /** `---` first, preceded by blank lines: accepted in lenient mode. */
  | "late-delimited"
  /** `name:`/`description:` lines with no opening `---`, closed by `---`: legacy, lenient only. */
  | "undelimited"
  /** Opened by `---` but never closed. */
  | "unterminated"
  /** No frontmatter at all. */
  | "none";

/** SKILL.md split into its frontmatter source and body, with line numbers into the file. */
export interface FrontmatterSplit {
  kind: FrontmatterKind;
  /** YAML source of the frontmatter ("" when there is none). */
  yaml: string;
  /** 1-based line of the file where `yaml` starts. */
  yamlLine: number;
  body: string;
  /** 1-based line of the file where `body` starts. */
  bodyLine: number;
}

const OPEN = /^---[ \t]*$/;
const CLOSE = /^(?:---|\.\.\.)[ \t]*$/;
const BARE_KEY = /^(?:name|description)[ \t]*:/;

/** Removes a UTF-8 BOM and turns CRLF / lone CR line ends into LF. */
export function normalizeText(text: string): string {
  return text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
}

/** Splits normalised SKILL.md text into frontmatter and body. Never throws. */
export function splitFrontmatter(text: string): FrontmatterSplit {
  const lines = text.split("\n");
  let first = 0;
  while (first < lines.length && (lines[first] ?? "").trim() === "") first++;
  const firstLine = lines[first] ?? "";

  if (OPEN.test(firstLine)) {
    for (let i = first + 1; i < lines.length; i++) {
      if (CLOSE.test(lines[i] ?? "")) {
        return {
          kind: first === 0 ? "delimited" : "late-delimited",
          yaml: lines.slice(first + 1, i).join("\n"),
          yamlLine: first + 2,
          body: lines.slice(i + 1).join("\n"),
          bodyLine: i + 2,
        };
      }
    }
    return { kind: "unterminated", yaml: "", yamlLine: first + 2, body: text, bodyLine: 1 };
  }

  if (BARE_KEY.test(firstLine)) {
    for (let i = first + 1; i < lines.length; i++) {
      if (OPEN.test(lines[i] ?? "")) {
        return {
          kind: "undelimited",
          yaml: lines.slice(first, i).join("\n"),
          yamlLine: first + 1,
          body: lines.slice(i + 1).join("\n"),
          bodyLine: i + 2,
        };
      }
    }
  }
  return { kind: "none", yaml: "", yamlLine: 1, body: text, bodyLine: 1 };
}

/** A YAML syntax problem, positioned in the SKILL.md file. */
export interface YamlProblem {
  message: string;
  line: number;
  column: number;
}

/** Result of reading the frontmatter YAML. */
export interface FrontmatterData {
  /** The top-level mapping, or undefined when the YAML is not a mapping. */
  data: Record<string, unknown> | undefined;
  /** Type of the YAML root when it is not a mapping ("sequence", "scalar"). */
  rootType: string | undefined;
  /** 1-based file line of each top-level key, for positioned messages. */
  keyLines: Map<string, number>;
  /** Syntax errors (strict mode reports them; lenient mode salvaged what it could). */
  errors: YamlProblem[];
  /** Keys whose value could not be parsed as YAML and were kept as literal text. */
  salvagedKeys: string[];
}

// Caps alias expansion: a "billion laughs" frontmatter must not explode memory.
const MAX_ALIAS_COUNT = 50;

/**
 * Largest frontmatter read, in UTF-8 bytes. The biggest of the 2,448 real skills in the public
 * registry is under 2 KB; 64 KiB leaves room for any honest one and bounds parse time.
 */
export const MAX_FRONTMATTER_BYTES = 64 * 1024;

/**
 * Repeated keys in every mapping of the document, in one pass with a set per mapping. The yaml
 * package's own `uniqueKeys` compares each key with every earlier one: 40k keys took 18 s.
 */
function duplicateKeys(
  doc: ReturnType<typeof parseDocument>,
  lineCounter: LineCounter,
  yamlLine: number,
): YamlProblem[] {
  const problems: YamlProblem[] = [];
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? pair.key.value : String(pair.key);
        if (!seen.has(key)) {
          seen.add(key);
          continue;
        }
        const offset = isScalar(pair.key) ? (pair.key.range?.[0] ?? 0) : 0;
        const pos = lineCounter.linePos(offset);
        problems.push({
          message: `Map keys must be unique: "${String(key).slice(0, 80)}" is repeated`,
          line: pos.line + yamlLine - 1,
          column: pos.col,
        });
      }
    },
  });
  return problems;
}

/**
 * Parses frontmatter YAML (1.2 core schema, duplicate keys refused). With `salvage`, a document
 * with syntax errors is re-read key by key: each top-level key's block is parsed on its own and,
 * where that still fails, kept as literal text. Real authors write `description: Use when: ...`
 * unquoted; a registry has to accept that.
 */
export function readFrontmatter(
  yaml: string,
  yamlLine: number,
  options: { salvage: boolean },
): FrontmatterData {
  // Flow collections nested thousands deep overflow the parser's stack after hundreds of
  // milliseconds; no honest frontmatter nests past a few levels, so such text is not parsed.
  if (jsonNestingDepth(yaml) > MAX_JSON_DEPTH) {
    const errors = [
      {
        message: `the frontmatter nests collections deeper than ${MAX_JSON_DEPTH} levels`,
        line: yamlLine,
        column: 1,
      },
    ];
    if (options.salvage) return { ...salvage(yaml, yamlLine), errors };
    return { data: undefined, rootType: undefined, keyLines: new Map(), errors, salvagedKeys: [] };
  }
  const lineCounter = new LineCounter();
  // The failsafe schema: every scalar is the text written, as in the Agent Skills reference
  // implementation (skills-ref reads frontmatter with StrictYAML). `version: 1.0` stays "1.0",
  // `name: 0123` stays "0123", `yes`/`null` stay words, so values compare as text.
  const doc = parseDocument(yaml, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: false,
    logLevel: "error",
    schema: "failsafe",
  });
  const errors: YamlProblem[] = doc.errors.map((e) => {
    const pos = e.linePos?.[0];
    return {
      message: e.message.split("\n")[0] ?? e.message,
      line: (pos?.line ?? 1) + yamlLine - 1,
      column: pos?.col ?? 1,
    };
  });
  if (errors.length === 0) errors.push(...duplicateKeys(doc, lineCounter, yamlLine));

  const keyLines = new Map<string, number>();
  if (errors.length === 0) {
    const root = doc.contents;
    if (root === null || (isScalar(root) && (root.value === null || root.value === ""))) {
      return { data: {}, rootType: undefined, keyLines, errors, salvagedKeys: [] };
    }
    if (!isMap(root)) {
      const rootType = isScalar(root) ? "scalar" : "sequence";
      return { data: undefined, rootType, keyLines, errors, salvagedKeys: [] };
    }
    for (const pair of root.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const offset = isScalar(pair.key) ? (pair.key.range?.[0] ?? 0) : 0;
      keyLines.set(key, lineCounter.linePos(offset).line + yamlLine - 1);
    }
    try {
      const data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as Record<string, unknown>;
      return { data, rootType: undefined, keyLines, errors, salvagedKeys: [] };
    } catch (error) {
      // Excessive alias expansion ("billion laughs") and similar: a syntax problem, not a crash.
      const message = error instanceof Error ? error.message : String(error);
      errors.push({ message, line: yamlLine, column: 1 });
      if (options.salvage) return { ...salvage(yaml, yamlLine), errors };
      return {
        data: undefined,
        rootType: undefined,
        keyLines: new Map(),
        errors,
        salvagedKeys: [],
      };
    }
  }
  if (!options.salvage) {
    return { data: undefined, rootType: undefined, keyLines, errors, salvagedKeys: [] };
  }
  return { ...salvage(yaml, yamlLine), errors };
}

const TOP_KEY = /^([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*:(?:[ \t]+|$)(.*)$/;

function salvage(yaml: string, yamlLine: number) {
  const lines = yaml.split("\n");
  const blocks: Array<{ key: string; start: number; lines: string[] }> = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const match = TOP_KEY.exec(line);
    if (match && !/^\s/.test(line)) {
      blocks.push({ key: match[1] ?? "", start: i, lines: [line] });
    } else if (blocks.length > 0) {
      blocks[blocks.length - 1]?.lines.push(line);
    }
  }
  // A Map, not an object: a key named __proto__ or toString is data, never a prototype.
  const values = new Map<string, unknown>();
  const keyLines = new Map<string, number>();
  const salvagedKeys: string[] = [];
  for (const block of blocks) {
    if (values.has(block.key)) continue; // first occurrence wins, as most YAML readers do
    keyLines.set(block.key, block.start + yamlLine);
    const blockText = block.lines.join("\n");
    if (jsonNestingDepth(blockText) > MAX_JSON_DEPTH) {
      salvagedKeys.push(block.key);
      values.set(block.key, literalValue(block.lines));
      continue;
    }
    const doc = parseDocument(blockText, {
      prettyErrors: false,
      logLevel: "error",
      schema: "failsafe",
    });
    if (doc.errors.length === 0 && isMap(doc.contents)) {
      try {
        const parsed = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as Record<string, unknown>;
        values.set(block.key, Object.hasOwn(parsed, block.key) ? parsed[block.key] : null);
        continue;
      } catch {
        // fall through to the literal value
      }
    }
    salvagedKeys.push(block.key);
    values.set(block.key, literalValue(block.lines));
  }
  return { data: Object.fromEntries(values), rootType: undefined, keyLines, salvagedKeys };
}

function literalValue(blockLines: string[]): string {
  const head = TOP_KEY.exec(blockLines[0] ?? "")?.[2] ?? "";
  const rest = blockLines.slice(1).map((l) => l.trim());
  const text = [head, ...rest]
    .filter((part) => part !== "")
    .join(" ")
    .trim();
  const quoted = /^(["'])([\s\S]*)\1$/.exec(text);
  return quoted ? (quoted[2] ?? "") : text;
}
