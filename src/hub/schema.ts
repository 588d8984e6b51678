import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { RE2JS } from "re2js";
import { ClawHubError } from "../errors/index.ts";

/** One schema problem, as callers see it. */
export interface SchemaProblem {
  path: string;
  message: string;
}

/** Checks a value; returns the problems (none: valid). */
export type Validator = (value: unknown) => SchemaProblem[];

/** A compiled schema held by one user (a capability of one agent); release it when done. */
export interface SchemaRef {
  validate: Validator;
  release(): void;
}

/** The hub's compiled schemas, shared by identical schema texts and freed when unused. */
export interface SchemaCache {
  compile(schemaText: string, what: string): SchemaRef;
  /** Distinct schemas compiled and in use now. */
  readonly size: number;
}

/** Largest schema text accepted (bytes of JSON). */
export const MAX_SCHEMA_BYTES = 256 * 1024;

const accept: SchemaRef = { validate: () => [], release() {} };

/**
 * `pattern`s in agents' and workflows' schemas are hostile input: ajv's default engine is the
 * backtracking RegExp (`^(a+)+$` against 30 characters stalls the process for seconds). RE2JS
 * matches in linear time; a pattern RE2 cannot express (backreferences, lookahead) makes the
 * schema invalid instead of slow.
 */
const linearRegExp = Object.assign(
  (pattern: string) => {
    const re = RE2JS.compile(RE2JS.translateRegExp(pattern));
    return { test: (s: string) => re.test(s) };
  },
  { code: "re2js" },
);

/**
 * Compiles capability and workflow schemas with ajv, once per distinct schema text (agents of
 * one capability usually share it), counted by their users so a schema nobody uses is removed
 * from ajv (which otherwise keeps every one). `allErrors`: a caller sees every problem at once.
 * `addUsedSchema: false`: a schema's `$id` is never registered globally, so one agent cannot
 * claim an `$id` and break another's schemas; a `$ref` resolves only inside its own schema.
 */
export function createSchemaCache(): SchemaCache {
  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    addUsedSchema: false,
    logger: false,
    code: { regExp: linearRegExp },
  });
  const cache = new Map<string, { schema: object; validate: Validator; users: number }>();
  const format = (errors: ErrorObject[] | null | undefined): SchemaProblem[] =>
    (errors ?? []).slice(0, 100).map((e) => ({
      path: e.instancePath || "/",
      message:
        e.keyword === "additionalProperties"
          ? `unknown property "${String((e.params as { additionalProperty?: string }).additionalProperty)}"`
          : (e.message ?? "is invalid"),
    }));
  return {
    get size() {
      return cache.size;
    },
    compile(schemaText, what) {
      if (schemaText.trim() === "") return accept;
      if (Buffer.byteLength(schemaText) > MAX_SCHEMA_BYTES)
        throw new ClawHubError(
          "LIMIT_EXCEEDED",
          `${what}: the schema is larger than ${MAX_SCHEMA_BYTES / 1024} KiB`,
          { hint: "Keep JSON Schemas small; describe large structures with $defs and $ref." },
        );
      let entry = cache.get(schemaText);
      if (!entry) {
        let schema: object;
        let fn: ValidateFunction;
        try {
          schema = JSON.parse(schemaText) as object;
          fn = ajv.compile(schema);
        } catch (error) {
          throw new ClawHubError(
            "INVALID_ARGUMENT",
            `${what}: invalid JSON Schema: ${(error as Error).message}`,
            { cause: error },
          );
        }
        entry = { schema, validate: (value) => (fn(value) ? [] : format(fn.errors)), users: 0 };
        cache.set(schemaText, entry);
      }
      const held = entry;
      held.users++;
      let released = false;
      return {
        validate: held.validate,
        release() {
          if (released) return;
          released = true;
          if (--held.users > 0) return;
          cache.delete(schemaText);
          ajv.removeSchema(held.schema);
        },
      };
    },
  };
}

/** Problems as one line each: `/text: must be string`. */
export function describeProblems(problems: SchemaProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join("; ");
}
