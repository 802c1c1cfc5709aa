/**
 * Which target records exist, read set-based: the values to look for travel as one JSON parameter per chunk
 * (stores/json-chunks.ts), so a page asks once per lookup, not once per record. `table` and the columns are the
 * quoted names from object-tables.ts.
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

/** Record by the value of one column (values compared as text): one `IN (SELECT value FROM json_each(?))` per chunk. */
export async function idsByColumn(db: D1Database, table: string, org: string, column: string, values: unknown[]): Promise<Map<string, FoundRecord>> {
  const out = new Map<string, FoundRecord>();
  const distinct = [...new Set(values.filter((v) => v !== null && v !== undefined).map((v) => String(v)))];
  for (const chunk of jsonChunks(distinct.map((v) => JSON.stringify(v)))) {
    const { results } = await db
      .prepare(
        `SELECT ${ID} AS id, ${column} AS k, ${ORG} = '' AS legacy FROM ${table} WHERE ${ORG} IN (?1, '') AND ${column} IN (SELECT value FROM json_each(?2))`,
      )
      .bind(org, chunk.json)
      .all<{ id: string; k: unknown; legacy: number }>();
    for (const r of results) {
      const k = String(r.k);
      if (!out.has(k) || out.get(k)!.legacy) out.set(k, { id: r.id, legacy: r.legacy === 1 });
    }
  }
  return out;
}

/** The first record matching each tuple (every column equal; the organization's own first) → its `_id`, by the tuple's index. */
export async function idsByTuple(db: D1Database, table: string, org: string, columns: string[], tuples: unknown[][]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const on = columns.map((c, i) => `t.${c} = json_extract(j.value, '$[${i}]')`).join(" AND ");
  for (const chunk of jsonChunks(tuples.map((t) => JSON.stringify(t)))) {
    const { results } = await db
      .prepare(`SELECT j.key AS k, t.${ID} AS id FROM json_each(?2) AS j JOIN ${table} AS t ON ${on} WHERE t.${ORG} IN (?1, '') ORDER BY t.${ORG} = ''`)
      .bind(org, chunk.json)
      .all<{ k: number; id: string }>();
    for (const r of results) if (!out.has(chunk.offset + r.k)) out.set(chunk.offset + r.k, r.id);
  }
  return out;
}
