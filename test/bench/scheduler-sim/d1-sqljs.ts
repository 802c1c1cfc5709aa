/**
 * The D1 binding's API (prepare / bind / run / all / first / batch) over SQLite compiled to WebAssembly (sql.js), so the
 * edge's stores run their real SQL in the scheduler simulation. D1 is SQLite too; what this does not have is D1's
 * network: every call reports its cost (a round trip plus the statement's own measured execution time) to `onCall`,
 * which the simulation turns into simulated time.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

type SqlValue = number | string | Uint8Array | null;

interface SqlJsStatement {
  bind(values: SqlValue[]): boolean;
  step(): boolean;
  getAsObject(): Record<string, SqlValue>;
  reset(): void;
}

interface SqlJsDatabase {
  exec(sql: string): unknown;
  prepare(sql: string): SqlJsStatement;
  getRowsModified(): number;
}

interface SqlJsStatic {
  Database: new () => SqlJsDatabase;
}

export interface D1Result<T> {
  results: T[];
  success: true;
  meta: { changes: number; duration: number };
}

export class SimD1Statement {
  constructor(
    private readonly _db: SimD1,
    readonly sql: string,
    readonly params: SqlValue[] = [],
  ) {}

  bind(...values: unknown[]): SimD1Statement {
    return new SimD1Statement(
      this._db,
      this.sql,
      values.map((v) => (v === undefined ? null : typeof v === "boolean" ? (v ? 1 : 0) : (v as SqlValue))),
    );
  }

  async all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return this._db.call(() => this._db.execute<T>(this));
  }

  async run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return this.all<T>();
  }

  async first<T = Record<string, unknown>>(column?: string): Promise<T | null> {
    const r = await this.all<Record<string, unknown>>();
    const row = r.results[0];
    if (!row) return null;
    return (column ? row[column] : row) as T;
  }
}

export class SimD1 {
  private readonly _cache = new Map<string, SqlJsStatement>();
  /** Statements executed and round trips made (one per prepare().run/all/first, one per batch). */
  statements = 0;
  roundTrips = 0;

  private constructor(
    private readonly _db: SqlJsDatabase,
    private readonly _onCall: (executionMs: number) => void,
  ) {}

  /** A fresh in-memory database with every migration of `migrationsDir` applied, in name order. */
  static async create(migrationsDir: string, onCall: (executionMs: number) => void): Promise<SimD1> {
    const require = createRequire(import.meta.url);
    const init = require("sql.js") as (opts?: object) => Promise<SqlJsStatic>;
    const SQL = await init();
    const db = new SQL.Database();
    for (const f of readdirSync(migrationsDir)
      .filter((n) => n.endsWith(".sql"))
      .sort())
      db.exec(readFileSync(join(migrationsDir, f), "utf8"));
    return new SimD1(db, onCall);
  }

  prepare(sql: string): SimD1Statement {
    return new SimD1Statement(this, sql);
  }

  async batch<T = Record<string, unknown>>(stmts: SimD1Statement[]): Promise<Array<D1Result<T>>> {
    return this.call(() => {
      this._db.exec("BEGIN");
      try {
        const out = stmts.map((s) => this.execute<T>(s));
        this._db.exec("COMMIT");
        return out;
      } catch (e) {
        this._db.exec("ROLLBACK");
        throw e;
      }
    });
  }

  async exec(sql: string): Promise<void> {
    this._db.exec(sql);
  }

  /** Runs `work` (synchronously, as SQLite does) and reports its measured execution time as one round trip. */
  call<R>(work: () => R): R {
    const t0 = performance.now();
    try {
      return work();
    } finally {
      this.roundTrips++;
      this._onCall(performance.now() - t0);
    }
  }

  /** Execution time per SQL text (ms), for finding what a simulation spends its time on. */
  readonly timeBySql = new Map<string, number>();

  execute<T>(s: SimD1Statement): D1Result<T> {
    const t0 = performance.now();
    try {
      return this._execute<T>(s);
    } finally {
      this.timeBySql.set(s.sql, (this.timeBySql.get(s.sql) ?? 0) + performance.now() - t0);
    }
  }

  private _execute<T>(s: SimD1Statement): D1Result<T> {
    let stmt = this._cache.get(s.sql);
    if (!stmt) {
      stmt = this._db.prepare(s.sql);
      this._cache.set(s.sql, stmt);
    }
    this.statements++;
    try {
      stmt.bind(s.params);
      const results: T[] = [];
      while (stmt.step()) results.push(stmt.getAsObject() as T);
      return { results, success: true, meta: { changes: this._db.getRowsModified(), duration: 0 } };
    } catch (e) {
      // D1 reports constraint failures with SQLite's message ("UNIQUE constraint failed: …"); so does sql.js.
      throw new Error(e instanceof Error ? e.message : String(e), { cause: e });
    } finally {
      stmt.reset();
    }
  }
}
