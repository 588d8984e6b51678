import { ClawHubError } from "../errors/index.ts";

/**
 * Workflow expressions: `${{ ... }}` inside strings of a node's `input` and in `when`.
 * Paths (`inputs.topic`, `nodes.triage.output.topics[0]`, `item`), literals, comparisons
 * (== != < <= > >=), `&&`, `||`, `!`, parentheses, and a few functions: length(x),
 * join(list, sep), pluck(list, "field"), sum(list). Nothing else: no code runs.
 */

export type Expr =
  | { kind: "literal"; value: unknown }
  | { kind: "path"; root: string; steps: Array<string | number> }
  | { kind: "not"; arg: Expr }
  | { kind: "binary"; op: string; left: Expr; right: Expr }
  | { kind: "call"; name: string; args: Expr[] };

const FUNCTIONS: Record<string, (...args: unknown[]) => unknown> = {
  length: (x) =>
    Array.isArray(x) || typeof x === "string"
      ? x.length
      : x && typeof x === "object"
        ? Object.keys(x).length
        : 0,
  join: (list, sep) =>
    Array.isArray(list)
      ? list
          .map((v) => (typeof v === "string" ? v : JSON.stringify(v)))
          .join(typeof sep === "string" ? sep : ",")
      : "",
  pluck: (list, field) =>
    Array.isArray(list)
      ? list.map((v) =>
          v && typeof v === "object" ? (v as Record<string, unknown>)[String(field)] : undefined,
        )
      : [],
  sum: (list) =>
    Array.isArray(list) ? list.reduce((a: number, v) => a + (typeof v === "number" ? v : 0), 0) : 0,
};

/** Longest expression accepted, in characters, and deepest nesting of parentheses and `!`. */
export const MAX_EXPR_LENGTH = 4096;
const MAX_DEPTH = 64;
const NUMBER = /-?\d+(\.\d+)?/y;
const IDENT = /[A-Za-z_][A-Za-z0-9_-]*/y;
const KEY = /[A-Za-z0-9_-]+/y;
const INDEX = /\[(\d+)\]/y;

/** Matches a sticky pattern at `at` (no slicing: each token costs its own length). */
function stick(re: RegExp, source: string, at: number): RegExpExecArray | null {
  re.lastIndex = at;
  return re.exec(source);
}

/**
 * Parses one expression (without the `${{ }}`); throws INVALID_ARGUMENT with the position. Linear
 * in the expression's length, which is capped, as is its nesting.
 */
export function parseExpr(source: string): Expr {
  let i = 0;
  let depth = 0;
  const shown = source.length > 80 ? `${source.slice(0, 77)}...` : source;
  const fail = (message: string): never => {
    throw new ClawHubError("INVALID_ARGUMENT", `${message} at column ${i + 1} of "${shown}"`);
  };
  if (source.length > MAX_EXPR_LENGTH)
    throw new ClawHubError(
      "INVALID_ARGUMENT",
      `an expression is at most ${MAX_EXPR_LENGTH} characters (this one has ${source.length})`,
    );
  const nest = <T>(fn: () => T): T => {
    if (++depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    try {
      return fn();
    } finally {
      depth--;
    }
  };
  const ws = () => {
    while (i < source.length && /\s/.test(source[i] as string)) i++;
  };
  const peek = (s: string) => {
    ws();
    return source.startsWith(s, i);
  };
  const eat = (s: string) => {
    if (peek(s)) {
      i += s.length;
      return true;
    }
    return false;
  };
  const or = (): Expr => {
    let left = and();
    while (eat("||")) left = { kind: "binary", op: "||", left, right: and() };
    return left;
  };
  const and = (): Expr => {
    let left = cmp();
    while (eat("&&")) left = { kind: "binary", op: "&&", left, right: cmp() };
    return left;
  };
  const cmp = (): Expr => {
    const left = unary();
    for (const op of ["==", "!=", "<=", ">=", "<", ">"]) {
      if (eat(op)) return { kind: "binary", op, left, right: unary() };
    }
    return left;
  };
  const unary = (): Expr => (eat("!") ? nest(() => ({ kind: "not", arg: unary() })) : primary());
  const primary = (): Expr => {
    ws();
    if (eat("(")) {
      const e = nest(or);
      if (!eat(")")) fail("expected )");
      return e;
    }
    const ch = source[i];
    if (ch === "'" || ch === '"') {
      const end = source.indexOf(ch, i + 1);
      if (end < 0) fail("unterminated string");
      const value = source.slice(i + 1, end);
      i = end + 1;
      return { kind: "literal", value };
    }
    const num = stick(NUMBER, source, i);
    if (num) {
      i += num[0].length;
      return { kind: "literal", value: Number(num[0]) };
    }
    const id = stick(IDENT, source, i);
    if (!id) return fail("expected a value");
    i += id[0].length;
    const name = id[0];
    if (name === "true" || name === "false") return { kind: "literal", value: name === "true" };
    if (name === "null") return { kind: "literal", value: null };
    if (peek("(")) {
      eat("(");
      if (!FUNCTIONS[name]) fail(`unknown function ${name}()`);
      const args: Expr[] = [];
      if (!eat(")")) {
        do args.push(nest(or));
        while (eat(","));
        if (!eat(")")) fail("expected )");
      }
      return { kind: "call", name, args };
    }
    const steps: Array<string | number> = [];
    for (;;) {
      if (source[i] === ".") {
        i++;
        const key = stick(KEY, source, i);
        if (!key) fail("expected a name after .");
        i += (key as RegExpExecArray)[0].length;
        steps.push((key as RegExpExecArray)[0]);
      } else if (source[i] === "[") {
        const idx = stick(INDEX, source, i);
        if (!idx) fail("expected [index]");
        i += (idx as RegExpExecArray)[0].length;
        steps.push(Number((idx as RegExpExecArray)[1]));
      } else break;
    }
    return { kind: "path", root: name, steps };
  };
  const expr = or();
  ws();
  if (i < source.length) fail("unexpected text");
  return expr;
}

/** Every path an expression reads. */
export function pathsOf(expr: Expr): Array<{ root: string; steps: Array<string | number> }> {
  switch (expr.kind) {
    case "path":
      return [expr];
    case "not":
      return pathsOf(expr.arg);
    case "binary":
      return [...pathsOf(expr.left), ...pathsOf(expr.right)];
    case "call":
      return expr.args.flatMap(pathsOf);
    default:
      return [];
  }
}

/** Evaluates against a scope (`inputs`, `nodes`, `item`...); missing paths are undefined. */
export function evaluate(expr: Expr, scope: Record<string, unknown>): unknown {
  switch (expr.kind) {
    case "literal":
      return expr.value;
    case "path": {
      let v: unknown = scope[expr.root];
      for (const step of expr.steps) {
        if (v === null || typeof v !== "object") return undefined;
        v = (v as Record<string | number, unknown>)[step];
      }
      return v;
    }
    case "not":
      return !evaluate(expr.arg, scope);
    case "call":
      return (FUNCTIONS[expr.name] as (...a: unknown[]) => unknown)(
        ...expr.args.map((a) => evaluate(a, scope)),
      );
    case "binary": {
      if (expr.op === "&&") return evaluate(expr.left, scope) && evaluate(expr.right, scope);
      if (expr.op === "||") return evaluate(expr.left, scope) || evaluate(expr.right, scope);
      const a = evaluate(expr.left, scope) as number;
      const b = evaluate(expr.right, scope) as number;
      switch (expr.op) {
        case "==":
          return JSON.stringify(a) === JSON.stringify(b);
        case "!=":
          return JSON.stringify(a) !== JSON.stringify(b);
        case "<":
          return a < b;
        case "<=":
          return a <= b;
        case ">":
          return a > b;
        default:
          return a >= b;
      }
    }
  }
}

const OPEN = "${{";
const CLOSE = "}}";

/** A template string cut into literal text and expression sources. */
type Piece = { text: string } | { expr: string };

/**
 * Splits a template in one pass: each `${{` is paired with the next `}}`. An unclosed `${{` is a
 * syntax error found at once (a string of 160,000 of them costs one scan, not one per opening).
 */
export function templatePieces(text: string): Piece[] {
  const pieces: Piece[] = [];
  let at = 0;
  for (;;) {
    const open = text.indexOf(OPEN, at);
    if (open < 0) break;
    const close = text.indexOf(CLOSE, open + OPEN.length);
    if (close < 0)
      throw new ClawHubError(
        "INVALID_ARGUMENT",
        `unclosed \${{ at character ${open + 1} (every \${{ needs a matching }})`,
      );
    if (open > at) pieces.push({ text: text.slice(at, open) });
    pieces.push({ expr: text.slice(open + OPEN.length, close).trim() });
    at = close + CLOSE.length;
  }
  if (at < text.length) pieces.push({ text: text.slice(at) });
  return pieces;
}

/** The expressions inside a template string, parsed. */
export function templateExprs(text: string): Expr[] {
  if (!text.includes(OPEN)) return [];
  const out: Expr[] = [];
  for (const p of templatePieces(text)) if ("expr" in p) out.push(parseExpr(p.expr));
  return out;
}

/**
 * Renders a template value: strings are interpolated (a string that is exactly one `${{ }}`
 * keeps the value's type), arrays and objects recursively.
 */
export function render(value: unknown, scope: Record<string, unknown>): unknown {
  if (typeof value === "string") {
    if (!value.includes(OPEN)) return value;
    const pieces = templatePieces(value.trim());
    const only = pieces.length === 1 ? pieces[0] : undefined;
    if (only && "expr" in only) return evaluate(parseExpr(only.expr), scope);
    let out = "";
    for (const p of templatePieces(value)) {
      if ("text" in p) out += p.text;
      else {
        const v = evaluate(parseExpr(p.expr), scope);
        out += v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v);
      }
    }
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => render(v, scope));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v, scope)]));
  }
  return value;
}

/** Every expression in a template value (strings inside arrays and objects too). */
export function exprsIn(value: unknown): Expr[] {
  if (typeof value === "string") return templateExprs(value);
  if (Array.isArray(value)) return value.flatMap(exprsIn);
  if (value && typeof value === "object") return Object.values(value).flatMap(exprsIn);
  return [];
}
