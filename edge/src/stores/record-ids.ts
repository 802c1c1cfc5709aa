/**
 * Which target records exist, read set-based: the values to look for travel as one JSON parameter per chunk
 * (stores/json-chunks.ts), and every read a page needs (its identifiers, each lookup, its deletes) goes to D1 in ONE
 * round trip (`PageReads.run`: one `db.batch` of SELECTs). `table` and the columns are the quoted names from
 * object-tables.ts.
 *
 * Every read is scoped to one Dynamics organization (`org`, see object-tables.ts `_org`): it sees that organization's
 * records and the legacy ones written before records were scoped (`_org = ''`), its own first.
 */
import { jsonChunks } from "./json-chunks";
import { SYSTEM_COLUMNS } from "./object-tables";

const { id: ID, org: ORG } = SYSTEM_COLUMNS;

/** A record found by its identifier: its `_id`, and whether it is a legacy row (no organization yet). */
export interface FoundRecord {
  id: string;
  legacy: boolean;
}

/** A read's answer, available once `PageReads.run` has returned. */
export type Answer<T> = () => T;

interface ColumnRead {
  table: string;
  column: string;
  values: Set<string>;
  found: Map<string, FoundRecord>;
}

interface TupleRead {
  table: string;
  columns: string[];
  tuples: unknown[][];
  found: Map<number, string>;
}

/**
 * The reads one page needs, run together. Reads of the same column of the same table share their statement (a self
 * lookup by the job's identifier is answered by the identifier's own read): each value's answer does not depend on
 * the other values asked with it.
 */
export class PageReads {
  private readonly _columns = new Map<string, ColumnRead>();
  private readonly _tuples: TupleRead[] = [];
  private _done = false;

  constructor(
    private readonly _db: D1Database,
    private readonly _org: string,
  ) {}

  /** Records by the value of one column (values compared as text); the organization's own row wins over a legacy one. */
  byColumn(table: string, column: string, values: unknown[]): Answer<Map<string, FoundRecord>> {
    const key = `${table}\u0000${column}`;
    let read = this._columns.get(key);
    if (!read) this._columns.set(key, (read = { table, column, values: new Set(), found: new Map() }));
    for (const v of values) if (v !== null && v !== undefined) read.values.add(String(v));
    const r = read;
    return () => this._answer(r.found);
  }

  /** The first record matching each tuple (every column equal; the organization's own first) → its `_id`, by the tuple's index. */
  byTuple(table: string, columns: string[], tuples: unknown[][]): Answer<Map<number, string>> {
    const read: TupleRead = { table, columns, tuples, found: new Map() };
    this._tuples.push(read);
    return () => this._answer(read.found);
  }

  /** Runs every read registered: one `db.batch` (one round trip), nothing when there is nothing to ask. */
  async run(): Promise<void> {
    const statements: D1PreparedStatement[] = [];
    const decoders: Array<(rows: Array<Record<string, unknown>>) => void> = [];
    for (const read of this._columns.values()) {
      const sql = `SELECT ${ID} AS id, ${read.column} AS k, ${ORG} = '' AS legacy FROM ${read.table} WHERE ${ORG} IN (?1, '') AND ${read.column} IN (SELECT value FROM json_each(?2))`;
      for (const chunk of jsonChunks([...read.values])) {
        statements.push(this._db.prepare(sql).bind(this._org, chunk.json));
        decoders.push((rows) => {
          for (const r of rows) {
            const k = String(r.k);
            const prev = read.found.get(k);
            if (!prev || prev.legacy) read.found.set(k, { id: r.id as string, legacy: r.legacy === 1 });
          }
        });
      }
    }
    for (const read of this._tuples) {
      const on = read.columns.map((c, i) => `t.${c} = json_extract(j.value, '$[${i}]')`).join(" AND ");
      const sql = `SELECT j.key AS k, t.${ID} AS id FROM json_each(?2) AS j JOIN ${read.table} AS t ON ${on} WHERE t.${ORG} IN (?1, '') ORDER BY t.${ORG} = ''`;
      for (const chunk of jsonChunks(read.tuples)) {
        statements.push(this._db.prepare(sql).bind(this._org, chunk.json));
        decoders.push((rows) => {
          for (const r of rows) {
            const i = chunk.offset + (r.k as number);
            if (!read.found.has(i)) read.found.set(i, r.id as string);
          }
        });
      }
    }
    if (statements.length) {
      const results = await this._db.batch<Record<string, unknown>>(statements);
      results.forEach((res, i) => decoders[i]!(res.results));
    }
    this._done = true;
  }

  private _answer<T>(found: T): T {
    if (!this._done) throw new Error("invariant: a page read was used before PageReads.run");
    return found;
  }
}
