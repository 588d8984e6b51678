import { _, Ajv, type ErrorObject, type KeywordCxt, type Name, str } from "ajv";
import equal from "ajv/dist/runtime/equal.js";
import ucs2length from "ajv/dist/runtime/ucs2length.js";
import uri from "ajv/dist/runtime/uri.js";
import standaloneCode from "ajv/dist/standalone/index.js";
import { RE2JS } from "re2js";
import { ClawHubError } from "../errors/index.ts";
import { jsonNestingDepth, MAX_JSON_DEPTH } from "../schema/index.ts";

/**
 * JSON Schemas from agents and workflows are hostile input, compiled in two halves: a pool worker
 * runs ajv on the schema text and returns the validator as standalone source
 * ({@link compileSchemaSource}, under the job's time and memory budget), and the server turns
 * that source into a function ({@link loadValidator}: a parse, linear in its length). Ajv's code
 * generator escapes everything it takes from a schema (ajv >= 7), so the source is ajv's, not the
 * schema author's.
 */

/** A compiled validator: ajv's calling convention. */
export interface CompiledValidator {
  (value: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/**
 * `pattern`s are matched by RE2JS in linear time: ajv's default engine is the backtracking
 * RegExp (`^(a+)+$` against 30 characters stalls a thread for seconds). A pattern RE2 cannot
 * express (backreferences, lookahead) makes the schema invalid instead of slow.
 */
const linearRegExp = Object.assign(
  (pattern: string) => {
    const re = RE2JS.compile(RE2JS.translateRegExp(pattern));
    return { test: (s: string) => re.test(s) };
  },
  { code: 'require("clawhub:regexp")' },
);

/**
 * The first pair of equal items (`[i, j]`, i < j) or undefined, in time linear in the array's
 * JSON size: each item's canonical JSON (object keys sorted) goes into a map. Ajv's own
 * `uniqueItems` compares every pair of items, so 20,000 objects cost 2e8 deep comparisons (the
 * issue measured 14-25 s). Canonical JSON equality is ajv's (fast-deep-equal's) equality for JSON
 * values: same types, arrays item by item, objects key by key in any order, 0 equal to -0.
 */
export function duplicateItems(items: unknown[]): [number, number] | undefined {
  const seen = new Map<string, number>();
  for (let j = 0; j < items.length; j++) {
    const key = canonical(items[j]);
    const i = seen.get(key);
    if (i !== undefined) return [i, j];
    seen.set(key, j);
  }
  return undefined;
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "undefined";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const record = value as Record<string, unknown>;
  return `{${Object.keys(record)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(record[k])}`)
    .join(",")}}`;
}

/**
 * A default import of ajv's CommonJS helpers is the function or, by Node's interop rules, its
 * `module.exports` (`{ default: fn }`): take the function either way.
 */
const helper = (m: unknown) => ({
  default: typeof m === "function" ? m : (m as { default: unknown }).default,
});

/** What standalone validators may `require`: ajv's runtime helpers and the two above. */
const RUNTIME: Record<string, unknown> = {
  "ajv/dist/runtime/equal": helper(equal),
  "ajv/dist/runtime/ucs2length": helper(ucs2length),
  "ajv/dist/runtime/uri": helper(uri),
  "clawhub:regexp": linearRegExp,
  "clawhub:unique": duplicateItems,
};

/**
 * `allErrors`: a caller sees every problem at once. `addUsedSchema: false`: a schema's `$id` is
 * never registered globally, so one agent cannot claim an `$id` and break another's schemas; a
 * `$ref` resolves only inside its own schema.
 */
function compiler(): Ajv {
  const a = new Ajv({
    allErrors: true,
    strict: false,
    addUsedSchema: false,
    logger: false,
    code: { source: true, regExp: linearRegExp },
  });
  a.removeKeyword("uniqueItems");
  a.addKeyword({
    keyword: "uniqueItems",
    type: "array",
    schemaType: "boolean",
    error: {
      message: ({ params }) =>
        str`must NOT have duplicate items (items ## ${params.j} and ${params.i} are identical)`,
      params: ({ params }) => _`{i: ${params.i}, j: ${params.j}}`,
    },
    code(cxt: KeywordCxt) {
      const { gen, data, schema } = cxt;
      if (!schema) return;
      const find = gen.scopeValue("func", {
        ref: duplicateItems,
        code: _`require("clawhub:unique")`,
      });
      const pair: Name = gen.const("pair", _`${find}(${data})`);
      cxt.setParams({ i: _`${pair}[0]`, j: _`${pair}[1]` });
      cxt.fail(_`${pair} !== undefined`);
    },
  });
  return a;
}

/**
 * Compiles JSON Schema text to the CommonJS source of its validator. Throws INVALID_ARGUMENT
 * naming what is wrong. Runs on a pool worker: ajv's compilation is superlinear in the schema
 * and a stranger chooses the schema.
 */
export function compileSchemaSource(schemaText: string): string {
  const invalid = (message: string, cause?: unknown) =>
    new ClawHubError("INVALID_ARGUMENT", `invalid JSON Schema: ${message}`, { cause });
  if (jsonNestingDepth(schemaText) > MAX_JSON_DEPTH)
    throw invalid(`it nests deeper than ${MAX_JSON_DEPTH} levels`);
  let schema: unknown;
  try {
    schema = JSON.parse(schemaText);
  } catch (error) {
    throw invalid((error as Error).message, error);
  }
  if (typeof schema !== "boolean" && (schema === null || typeof schema !== "object"))
    throw invalid("a schema is an object or a boolean");
  // A fresh compiler per schema: one kept across jobs grew by ~380 KiB per distinct schema
  // despite removeSchema (700 agents with distinct schemas exhausted a worker's 256 MiB).
  // Building one costs about a millisecond.
  const a = compiler();
  try {
    const validate = a.compile(schema as object);
    if ((validate as { $async?: boolean }).$async)
      throw invalid("$async schemas are not supported");
    // The CommonJS module is the function and also has it as `default`: that works either way.
    return standaloneCode.default(a, validate);
  } catch (error) {
    if (error instanceof ClawHubError) throw error;
    throw invalid((error as Error).message, error);
  }
}

/** One schema problem, as callers see it. */
export interface SchemaProblem {
  path: string;
  message: string;
}

/** Ajv's errors as callers see them: at most 100, each a path and a sentence. */
export function formatProblems(errors: ErrorObject[] | null | undefined): SchemaProblem[] {
  return (errors ?? []).slice(0, 100).map((e) => ({
    path: e.instancePath || "/",
    message:
      e.keyword === "additionalProperties"
        ? `unknown property "${String((e.params as { additionalProperty?: string }).additionalProperty)}"`
        : (e.message ?? "is invalid"),
  }));
}

/** Loaded validators a worker keeps, by source: a capability called again reuses its own. */
const loaded = new Map<string, CompiledValidator>();
const LOADED_MAX = 16;

/**
 * Parses a JSON document and checks it against each validator source: the problems per source,
 * in order. Runs on a pool worker for large inputs, whose parse and check would hold the event
 * loop (20,000 objects against `uniqueItems`: ~100 ms).
 */
export function validateJson(sources: string[], json: Uint8Array): SchemaProblem[][] {
  let value: unknown = null;
  if (json.byteLength > 0) {
    try {
      value = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString());
    } catch (error) {
      throw new ClawHubError(
        "INVALID_ARGUMENT",
        `the input is not JSON: ${(error as Error).message}`,
      );
    }
  }
  return sources.map((source) => {
    let validate = loaded.get(source);
    if (validate) loaded.delete(source);
    else validate = loadValidator(source);
    loaded.set(source, validate);
    if (loaded.size > LOADED_MAX) loaded.delete(loaded.keys().next().value as string);
    return validate(value) ? [] : formatProblems(validate.errors);
  });
}

/** Turns {@link compileSchemaSource}'s output into the validator it describes. */
export function loadValidator(source: string): CompiledValidator {
  const module: { exports: { default?: CompiledValidator } } = { exports: {} };
  const require = (id: string) => {
    if (!Object.hasOwn(RUNTIME, id))
      throw new ClawHubError("INTERNAL", `a compiled schema asked for an unknown module ${id}`);
    return RUNTIME[id];
  };
  new Function("require", "module", "exports", source)(require, module, module.exports);
  const validate = module.exports.default;
  if (typeof validate !== "function")
    throw new ClawHubError("INTERNAL", "a compiled schema did not define its validator");
  return validate;
}
