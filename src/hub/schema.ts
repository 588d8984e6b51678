import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { ClawHubError } from "../errors/index.ts";

/** One schema problem, as callers see it. */
export interface SchemaProblem {
  path: string;
  message: string;
}

/** Checks a value; returns the problems (none: valid). */
export type Validator = (value: unknown) => SchemaProblem[];

const accept: Validator = () => [];

/**
 * Compiles capability schemas with ajv, once per distinct schema text (agents of one
 * capability usually share it). `allErrors`: a caller sees every problem at once.
 */
export function createSchemaCache(options: { max?: number } = {}) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const cache = new Map<string, Validator>();
  const max = options.max ?? 1000;
  const format = (errors: ErrorObject[] | null | undefined): SchemaProblem[] =>
    (errors ?? []).map((e) => ({
      path: e.instancePath || "/",
      message:
        e.keyword === "additionalProperties"
          ? `unknown property "${String((e.params as { additionalProperty?: string }).additionalProperty)}"`
          : (e.message ?? "is invalid"),
    }));
  return {
    /** The validator of a schema given as JSON text; empty text accepts anything. */
    compile(schemaText: string, what: string): Validator {
      if (schemaText.trim() === "") return accept;
      const hit = cache.get(schemaText);
      if (hit) return hit;
      let fn: ValidateFunction;
      try {
        fn = ajv.compile(JSON.parse(schemaText) as object);
      } catch (error) {
        throw new ClawHubError(
          "INVALID_ARGUMENT",
          `${what}: invalid JSON Schema: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
      const validator: Validator = (value) => (fn(value) ? [] : format(fn.errors));
      if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      cache.set(schemaText, validator);
      return validator;
    },
  };
}

/** Problems as one line each: `/text: must be string`. */
export function describeProblems(problems: SchemaProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join("; ");
}
