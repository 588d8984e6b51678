/**
 * The work pool and the JSON Schema jobs it runs: budgets end a job without harming the next,
 * and the validators it compiles keep ajv's meaning with linear-time `uniqueItems`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { rejection } from "../../test/helpers/hub.ts";
import {
  compileSchemaSource,
  createWorkPool,
  duplicateItems,
  loadValidator,
  type WorkPool,
} from "./index.ts";

let pool: WorkPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

/** A schema ajv takes about half a second to compile (300 nested properties). */
function slowSchema(): string {
  const properties: Record<string, unknown> = {};
  for (let i = 0; i < 300; i++)
    properties[`p${i}`] = {
      type: "object",
      properties: { a: { type: "string", maxLength: 10 }, b: { type: "array", items: {} } },
    };
  return JSON.stringify({ type: "object", properties });
}

const compile = (schema: unknown) => loadValidator(compileSchemaSource(JSON.stringify(schema)));

describe("uniqueItems", () => {
  it("finds equal items as ajv defines them: any key order, nested, 0 and -0", () => {
    expect(
      duplicateItems([
        { a: 1, b: [1, { c: 2 }] },
        { b: [1, { c: 2 }], a: 1 },
      ]),
    ).toEqual([0, 1]);
    expect(duplicateItems([0, 1, -0])).toEqual([0, 2]);
    expect(duplicateItems([1, "1", [1], { 1: 1 }, null, true, "true"])).toBeUndefined();
    expect(duplicateItems([{ a: [1, 2] }, { a: [2, 1] }])).toBeUndefined();
  });

  it("rejects duplicates among 20,000 objects with the pair named, and accepts them unique", () => {
    const validate = compile({ type: "array", uniqueItems: true });
    const items = Array.from({ length: 20_000 }, (_, i) => ({ id: i, tags: ["x", i % 7] }));
    expect(validate(items)).toBe(true);
    items.push({ tags: ["x", 5], id: 12 });
    expect(validate(items)).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({
      keyword: "uniqueItems",
      params: { i: 12, j: 20_000 },
      message: "must NOT have duplicate items (items ## 20000 and 12 are identical)",
    });
    expect(compile({ type: "array", uniqueItems: false })([1, 1])).toBe(true);
  });
});

describe("compiled validators", () => {
  it("keep ajv's meaning: patterns in linear time, refs inside the schema, every error", () => {
    const validate = compile({
      $defs: { name: { type: "string", pattern: "^[a-z]+$" } },
      type: "object",
      properties: { name: { $ref: "#/$defs/name" }, n: { type: "integer", maximum: 3 } },
      required: ["name"],
      additionalProperties: false,
    });
    expect(validate({ name: "abc", n: 2 })).toBe(true);
    expect(validate({ name: "ABC", n: 9, extra: 1 })).toBe(false);
    expect(validate.errors?.map((e) => e.keyword).sort()).toEqual([
      "additionalProperties",
      "maximum",
      "pattern",
    ]);
  });

  it("refuses what cannot be checked safely, naming why", () => {
    const invalid = (schema: string) => {
      try {
        compileSchemaSource(schema);
        return "compiled";
      } catch (error) {
        return `${(error as { code: string }).code}: ${(error as Error).message}`;
      }
    };
    expect(invalid('{"type":"string","pattern":"^(a)\\\\1$"}')).toMatch(
      /^INVALID_ARGUMENT: invalid JSON Schema/,
    );
    expect(invalid(`${"[".repeat(100)}${"]".repeat(100)}`)).toContain("deeper than 64 levels");
    expect(invalid('{"$async":true,"type":"string"}')).toContain("$async");
    expect(invalid("{not json")).toContain("invalid JSON Schema");
    expect(invalid('"a string"')).toContain("an object or a boolean");
  });
});

describe("work pool", () => {
  it("compiles on a worker and passes a job's error code through", async () => {
    pool = createWorkPool({ size: 1 });
    const { source } = await pool.run("compileSchema", { schemaText: '{"type":"string"}' });
    expect(loadValidator(source)("ok")).toBe(true);
    const error = await rejection(pool.run("compileSchema", { schemaText: "{" }));
    expect(error.code).toBe("INVALID_ARGUMENT");
  });

  it("ends a job over its time budget with LIMIT_EXCEEDED, and the next job still runs", async () => {
    pool = createWorkPool({ size: 1 });
    const slow = pool.run("compileSchema", { schemaText: slowSchema() }, { timeMs: 20 });
    const next = pool.run("compileSchema", { schemaText: '{"type":"number"}' });
    const error = await rejection(slow);
    expect(error.code).toBe("LIMIT_EXCEEDED");
    expect(error.message).toContain("took longer than 20 ms");
    expect(loadValidator((await next).source)(1)).toBe(true);
  });

  it("ends a job over its memory budget with LIMIT_EXCEEDED", async () => {
    pool = createWorkPool({ size: 1 });
    const error = await rejection(
      pool.run("compileSchema", { schemaText: slowSchema() }, { memoryMb: 4, timeMs: 30_000 }),
    );
    expect(error.code).toBe("LIMIT_EXCEEDED");
    expect(error.message).toContain("more than 4 MiB");
    const { source } = await pool.run("compileSchema", { schemaText: "true" });
    expect(loadValidator(source)(null)).toBe(true);
  });

  it("refuses jobs beyond its queue, and fails what waits when it closes", async () => {
    const p = createWorkPool({ size: 1, maxQueued: 2 });
    const jobs = [1, 2, 3].map(() =>
      p.run("compileSchema", { schemaText: slowSchema() }, { timeMs: 30_000 }),
    );
    const ends = jobs.map((job) => rejection(job));
    const over = await rejection(p.run("compileSchema", { schemaText: "{}" }));
    expect(over.code).toBe("RESOURCE_EXHAUSTED");
    expect(p.pending).toBe(3);
    await p.close();
    for (const end of ends) expect((await end).code).toBe("UNAVAILABLE");
  });

  it("ends a worker that stays idle, and starts a fresh one for the next job", async () => {
    pool = createWorkPool({ size: 1, idleMs: 50 });
    await pool.run("compileSchema", { schemaText: "{}" });
    expect(pool.workers).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(pool.workers).toBe(0);
    const { source } = await pool.run("compileSchema", { schemaText: '{"type":"null"}' });
    expect(loadValidator(source)(null)).toBe(true);
  });
});
