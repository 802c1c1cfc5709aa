/**
 * The statements a sync page writes target records with (docs/decisions/0004-set-based-page-writes.md). Set-based:
 * records travel as JSON arrays `[ _id, value of each field… ]` (field order fixed per statement), a chunk of them as
 * ONE bound parameter, so the SQL text does not grow with the row count and wide objects need no splitting. A record
 * whose JSON alone exceeds a chunk is written with bound values instead (`recordStatements`).
 * `table` is the quoted name from object-tables.ts; field names are the target object's (validated identifiers).
 */
import type { Job } from "#contract/job";
import { fieldColumn, SYSTEM_COLUMNS } from "./object-tables";

/** How the INSERTs meet an existing record: through the job's identifier column (its UNIQUE index) and mode. */
export interface ConflictRule {
  /** Column of the job's first identifier, or null (no identifier: every record is new). */
  idColumn: string | null;
  mode: Job["mode"];
  /** The Dynamics organization the records come from (`_org`): written into every record, part of the conflict key. */
  org: string;
}

/** D1 allows 100 bound parameters per statement; the per-record form binds at most this many field values at once. */
const MAX_COLS_PER_STATEMENT = 80;

const { id: ID, createdAt: CREATED, updatedAt: UPDATED, deleted: DELETED, org: ORG } = SYSTEM_COLUMNS;

/**
 * `ON CONFLICT(_org, identifier) …`: insert mode keeps the existing record; upsert updates `columns` of it and revives
 * it (it keeps its _id and _created_at). Nothing without an identifier.
 */
function onConflict(rule: ConflictRule, columns: string[]): string {
  if (!rule.idColumn) return "";
  if (rule.mode === "insert") return ` ON CONFLICT(${ORG}, ${rule.idColumn}) DO NOTHING`;
  return ` ON CONFLICT(${ORG}, ${rule.idColumn}) DO UPDATE SET ${[...columns.map((c) => `${c} = excluded.${c}`), `${UPDATED} = excluded.${UPDATED}`, `${DELETED} = 0`].join(", ")}`;
}

/** Inserts (or, through the conflict rule, upserts) the records of each chunk: one statement per chunk. */
export function insertRecordsStatements(
  db: D1Database,
  table: string,
  fields: string[],
  rule: ConflictRule,
  now: string,
  chunks: string[],
): D1PreparedStatement[] {
  const cols = fields.map(fieldColumn);
  const sql =
    `INSERT INTO ${table} (${[ID, CREATED, UPDATED, DELETED, ORG, ...cols].join(", ")}) ` +
    `SELECT json_extract(value, '$[0]'), ?1, ?1, 0, ?3, ${cols.map((_, i) => `json_extract(value, '$[${i + 1}]')`).join(", ")} FROM json_each(?2) WHERE true${onConflict(rule, cols)}`;
  return chunks.map((c) => db.prepare(sql).bind(now, c, rule.org));
}

/** Updates the records of each chunk by `_id` (and revives them; a legacy record takes `org`): one statement per chunk. */
export function updateRecordsStatements(db: D1Database, table: string, fields: string[], org: string, now: string, chunks: string[]): D1PreparedStatement[] {
  const sets = fields.map((n, i) => `${fieldColumn(n)} = json_extract(j.value, '$[${i + 1}]')`);
  const sql = `UPDATE ${table} SET ${[...sets, `${UPDATED} = ?1`, `${DELETED} = 0`, `${ORG} = ?3`].join(", ")} FROM json_each(?2) AS j WHERE ${table}.${ID} = json_extract(j.value, '$[0]')`;
  return chunks.map((c) => db.prepare(sql).bind(now, c, org));
}

/**
 * One record with bound values (≤ 80 columns per statement), for a record whose JSON exceeds a chunk: an existing
 * record (or any in update mode) is UPDATEd in parts; a new one is INSERTed with its first columns, the rest UPDATEd.
 */
export function recordStatements(
  db: D1Database,
  table: string,
  rule: ConflictRule,
  record: { id: string; exists: boolean; fields: Record<string, unknown> },
  fields: string[],
  now: string,
): D1PreparedStatement[] {
  const out: D1PreparedStatement[] = [];
  const val = (n: string) => (record.fields[n] ?? null) as string;
  const set = (part: string[]) => part.map((n) => `${fieldColumn(n)} = ?`).join(", ");
  if (record.exists || rule.mode === "update") {
    for (let i = 0; i < fields.length; i += MAX_COLS_PER_STATEMENT) {
      const part = fields.slice(i, i + MAX_COLS_PER_STATEMENT);
      out.push(
        db
          .prepare(`UPDATE ${table} SET ${set(part)}, ${UPDATED} = ?, ${DELETED} = 0, ${ORG} = ? WHERE ${ID} = ?`)
          .bind(...part.map(val), now, rule.org, record.id),
      );
    }
    return out;
  }
  const first = fields.slice(0, MAX_COLS_PER_STATEMENT);
  const rest = fields.slice(MAX_COLS_PER_STATEMENT);
  const cols = [ID, CREATED, UPDATED, DELETED, ORG, ...first.map(fieldColumn)];
  out.push(
    db
      .prepare(`INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})${onConflict(rule, first.map(fieldColumn))}`)
      .bind(record.id, now, now, 0, rule.org, ...first.map(val)),
  );
  for (let i = 0; i < rest.length; i += MAX_COLS_PER_STATEMENT) {
    const part = rest.slice(i, i + MAX_COLS_PER_STATEMENT);
    out.push(db.prepare(`UPDATE ${table} SET ${set(part)} WHERE ${ID} = ?`).bind(...part.map(val), record.id));
  }
  return out;
}

/** Deletes (`soft`: marks `_deleted = 1`) the records whose `_id`s each chunk lists: one statement per chunk. */
export function deleteRecordsStatements(db: D1Database, table: string, soft: boolean, now: string, idChunks: string[]): D1PreparedStatement[] {
  return idChunks.map((c) =>
    soft
      ? db.prepare(`UPDATE ${table} SET ${DELETED} = 1, ${UPDATED} = ? WHERE ${ID} IN (SELECT value FROM json_each(?))`).bind(now, c)
      : db.prepare(`DELETE FROM ${table} WHERE ${ID} IN (SELECT value FROM json_each(?))`).bind(c),
  );
}
