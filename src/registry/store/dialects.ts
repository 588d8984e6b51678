import { DatabaseSync } from "node:sqlite";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import pg from "pg";
import type { Database } from "./schema.ts";

/** Which engine a Kysely instance talks to: the few SQL differences branch on it. */
export type Engine = "sqlite" | "postgres";

/**
 * Opens a SQLite database through Node's built-in `node:sqlite` (no native addon). WAL mode so
 * readers never block the writer, and a busy timeout so concurrent processes wait instead of
 * failing; `synchronous=NORMAL` under WAL is still crash-safe (a kill -9 loses no committed
 * transaction, only possibly the last one under power loss).
 */
export function openSqlite(path: string): Kysely<Database> {
  const db = new DatabaseSync(path);
  db.exec(
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
  );
  // Prepared statements by SQL text: Kysely asks for one per query, and compiling the same SQL
  // on every request was a tenth of a busy registry's CPU. node:sqlite runs each statement to
  // completion synchronously, so one compiled statement serves every caller; iterate() (a
  // cursor that stays open) always gets its own.
  // Whether it returns rows is kept beside it: columns() crosses into SQLite on every call.
  const statements = new Map<
    string,
    { stmt: ReturnType<DatabaseSync["prepare"]>; reader: boolean }
  >();
  const compiled = (query: string) => {
    let entry = statements.get(query);
    if (!entry) {
      const stmt = db.prepare(query);
      stmt.setReadBigInts(false);
      entry = { stmt, reader: stmt.columns().length > 0 };
      statements.set(query, entry);
      if (statements.size > 1000) statements.delete(statements.keys().next().value as string);
    }
    return entry;
  };
  // Kysely's SqliteDialect expects better-sqlite3's shape; node:sqlite differs only in naming.
  const adapter = {
    close() {
      statements.clear();
      db.close();
    },
    prepare(query: string) {
      const { stmt, reader } = compiled(query);
      return {
        reader,
        all: (params: ReadonlyArray<unknown>) => stmt.all(...(params as never[])),
        run: (params: ReadonlyArray<unknown>) => {
          const r = stmt.run(...(params as never[]));
          return { changes: Number(r.changes), lastInsertRowid: r.lastInsertRowid };
        },
        iterate: (params: ReadonlyArray<unknown>) => {
          const own = db.prepare(query);
          own.setReadBigInts(false);
          return own.iterate(...(params as never[]));
        },
      };
    },
  };
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: adapter as never }) });
}

/** Opens a PostgreSQL database (a pool of `max` connections). BIGINT columns read as numbers. */
export function openPostgres(url: string, options: { max?: number } = {}): Kysely<Database> {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

// Epoch milliseconds and counters fit in a double; pg returns BIGINT (oid 20) as strings otherwise.
pg.types.setTypeParser(20, (value: string) => Number(value));
