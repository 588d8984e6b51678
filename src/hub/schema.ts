import { ClawHubError, toClawHubError } from "../errors/index.ts";
import {
  type CompiledValidator,
  formatProblems,
  loadValidator,
  type SchemaProblem,
  type WorkPool,
} from "../sandbox/index.ts";

export type { SchemaProblem };

/**
 * Checks a value; returns the problems (none: valid). `source` is the validator's standalone
 * source, so a pool worker can check a large input with it off the event loop.
 */
export type Validator = ((value: unknown) => SchemaProblem[]) & { readonly source?: string };

/** A compiled schema held by one user (a capability of one agent); release it when done. */
export interface SchemaRef {
  validate: Validator;
  release(): void;
}

/** The hub's compiled schemas, shared by identical schema texts and freed when unused. */
export interface SchemaCache {
  /** Compiles off the event loop (or shares a compiled twin); INVALID_ARGUMENT or LIMIT_EXCEEDED. */
  compile(schemaText: string, what: string): Promise<SchemaRef>;
  /**
   * Parses a JSON document and checks it against each validator on a pool worker, under a time
   * and memory budget: for inputs large enough that the parse and check would hold the event
   * loop. The problems per validator, in order; LIMIT_EXCEEDED when over the budget.
   */
  checkOnPool(validators: Validator[], json: Uint8Array): Promise<SchemaProblem[][]>;
  /** Distinct schemas compiled (or compiling) and in use now. */
  readonly size: number;
  /** Bytes of validator source held now (what the cache bound counts). */
  readonly bytes: number;
}

/** Options of {@link createSchemaCache}. */
export interface SchemaCacheOptions {
  /** Where schemas are compiled: a stranger's schema costs a worker's budget, not the loop. */
  pool: WorkPool;
  /** Validator source held in all before new schemas are refused (default 64 MiB). */
  maxBytes?: number;
}

/** Largest schema text accepted (bytes of JSON). */
export const MAX_SCHEMA_BYTES = 256 * 1024;
/**
 * Largest validator accepted (bytes of the source ajv generates). Loading a validator is a parse
 * on the event loop, and its first call compiles it: about 15 + 30 ms per 512 KiB measured, so
 * this bound keeps either step under 100 ms. Real capability schemas compile to a few KiB; 300
 * nested properties to 550 KiB.
 */
export const MAX_VALIDATOR_BYTES = 1024 * 1024;
/** Time a schema may take to compile on its worker. */
const COMPILE_BUDGET = { timeMs: 5_000, memoryMb: 256 };
/**
 * Time and heap a large input's check may take on its worker. A parsed JSON document takes up to
 * ~10x its bytes of heap, so this admits inputs of some tens of MiB (the wire allows 64 MiB).
 */
const CHECK_BUDGET = { timeMs: 10_000, memoryMb: 768 };

const accept: SchemaRef = { validate: () => [], release() {} };

interface Entry {
  ready: Promise<Validator>;
  users: number;
  bytes: number;
}

/**
 * Compiles capability and workflow schemas once per distinct schema text (agents of one
 * capability usually share it), on a pool worker under a time and memory budget, and counts
 * their users so a schema nobody uses is dropped (a loaded validator is only a function: nothing
 * else keeps it). The validator source held in all is bounded by `maxBytes`.
 */
export function createSchemaCache(options: SchemaCacheOptions): SchemaCache {
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  const cache = new Map<string, Entry>();
  let bytes = 0;

  function drop(schemaText: string, entry: Entry) {
    if (cache.get(schemaText) !== entry) return;
    cache.delete(schemaText);
    bytes -= entry.bytes;
    entry.bytes = 0;
  }

  async function build(schemaText: string, what: string, entry: Entry): Promise<Validator> {
    let source: string;
    try {
      ({ source } = await options.pool.run("compileSchema", { schemaText }, COMPILE_BUDGET));
    } catch (error) {
      const e = toClawHubError(error);
      throw new ClawHubError(e.code, `${what}: ${e.message}`, { cause: error });
    }
    if (source.length > MAX_VALIDATOR_BYTES)
      throw new ClawHubError(
        "LIMIT_EXCEEDED",
        `${what}: the schema compiles to a validator of ${Math.ceil(source.length / 1024)} KiB (limit ${MAX_VALIDATOR_BYTES / 1024} KiB)`,
        { hint: "Describe repeated structures once with $defs and $ref." },
      );
    if (bytes + source.length > maxBytes)
      throw new ClawHubError(
        "LIMIT_EXCEEDED",
        `${what}: the hub holds ${Math.round(bytes / 1024)} KiB of compiled schemas (limit ${Math.round(maxBytes / 1024)} KiB)`,
        { hint: "Agents of one capability should share one schema text." },
      );
    if (cache.get(schemaText) === entry) {
      entry.bytes = source.length;
      bytes += source.length;
    }
    let fn: CompiledValidator;
    try {
      fn = loadValidator(source);
    } catch (error) {
      throw new ClawHubError("INTERNAL", `${what}: ${(error as Error).message}`, { cause: error });
    }
    return Object.assign((value: unknown) => (fn(value) ? [] : formatProblems(fn.errors)), {
      source,
    });
  }

  return {
    async checkOnPool(validators, json) {
      const sources = validators.map((v) => {
        if (v.source === undefined)
          throw new ClawHubError("INTERNAL", "a validator without source cannot run on the pool");
        return v.source;
      });
      try {
        const { problems } = await options.pool.run(
          "validateJson",
          { sources, json },
          CHECK_BUDGET,
        );
        return problems;
      } catch (error) {
        const e = toClawHubError(error);
        throw new ClawHubError(e.code, `checking the input against its schema: ${e.message}`, {
          cause: error,
          ...(e.code === "LIMIT_EXCEEDED" ? { hint: "Send a smaller input." } : {}),
        });
      }
    },
    get size() {
      return cache.size;
    },
    get bytes() {
      return bytes;
    },
    async compile(schemaText, what) {
      if (schemaText.trim() === "") return accept;
      if (Buffer.byteLength(schemaText) > MAX_SCHEMA_BYTES)
        throw new ClawHubError(
          "LIMIT_EXCEEDED",
          `${what}: the schema is larger than ${MAX_SCHEMA_BYTES / 1024} KiB`,
          { hint: "Keep JSON Schemas small; describe large structures with $defs and $ref." },
        );
      let entry = cache.get(schemaText);
      if (!entry) {
        const fresh: Entry = { ready: Promise.resolve(() => []), users: 0, bytes: 0 };
        fresh.ready = build(schemaText, what, fresh);
        // Failures are not cached: the next registration tries again.
        fresh.ready.catch(() => drop(schemaText, fresh));
        cache.set(schemaText, fresh);
        entry = fresh;
      }
      const held = entry;
      held.users++;
      let validate: Validator;
      try {
        validate = await held.ready;
      } catch (error) {
        held.users--;
        throw error;
      }
      let released = false;
      return {
        validate,
        release() {
          if (released) return;
          released = true;
          if (--held.users <= 0) drop(schemaText, held);
        },
      };
    },
  };
}

/** Problems as one line each: `/text: must be string`. */
export function describeProblems(problems: SchemaProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join("; ");
}
