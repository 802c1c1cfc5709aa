/**
 * Which target records exist, read set-based: the values to look for travel as one JSON parameter per chunk
 * (stores/json-chunks.ts), so a page asks once per lookup, not once per record. `table` and the columns are the
 * quoted names from object-tables.ts.
 */
import type { Env } from "../env";
import { jsonChunks } from "./json-chunks";
import { SYSTEM_COLUMNS } from "./object-tables";

/** Record `_id` by the value of one column (values compared as text): one `IN (SELECT value FROM json_each(?))` per chunk. */
export async function idsByColumn(env: Env, table: string, column: string, values: unknown[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const distinct = [...new Set(values.filter((v) => v !== null && v !== undefined).map((v) => String(v)))];
  for (const chunk of jsonChunks(distinct.map((v) => JSON.stringify(v)))) {
    const { results } = await env.DATA.prepare(
      `SELECT ${SYSTEM_COLUMNS.id} AS id, ${column} AS k FROM ${table} WHERE ${column} IN (SELECT value FROM json_each(?))`,
    )
      .bind(chunk.json)
      .all<{ id: string; k: unknown }>();
    for (const r of results) out.set(String(r.k), r.id);
  }
  return out;
}

/** The first record matching each tuple (every column equal) → its `_id`, by the tuple's index in `tuples`. */
export async function idsByTuple(env: Env, table: string, columns: string[], tuples: unknown[][]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const on = columns.map((c, i) => `t.${c} = json_extract(j.value, '$[${i}]')`).join(" AND ");
  for (const chunk of jsonChunks(tuples.map((t) => JSON.stringify(t)))) {
    const { results } = await env.DATA.prepare(`SELECT j.key AS k, t.${SYSTEM_COLUMNS.id} AS id FROM json_each(?) AS j JOIN ${table} AS t ON ${on}`)
      .bind(chunk.json)
      .all<{ k: number; id: string }>();
    for (const r of results) if (!out.has(chunk.offset + r.k)) out.set(chunk.offset + r.k, r.id);
  }
  return out;
}
