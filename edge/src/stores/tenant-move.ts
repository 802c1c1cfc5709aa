/**
 * The SQL of moving a tenant between D1 shards (ops/move-tenant.ts drives it; docs/operations.md "Moving a tenant
 * between shards"): which tables hold a tenant's rows, copying them in bounded keyset batches (by primary key, so a
 * batch costs the rows it reads), and deleting them in bounded batches. Object tables move whole, with their indexes.
 */
import { jsonChunks } from "./json-chunks";
import { objectTableName } from "./object-tables";

/** One table's share of a tenant: `where` selects the tenant's rows (?1 = tenant), or the whole table (object tables). */
export interface TenantTable {
  table: string;
  where: string;
  /** An object table: created on the target from the source's DDL (table and indexes), dropped from the source. */
  object: boolean;
}

const byRun = "run_id IN (SELECT id FROM runs WHERE tenant = ?1)";

/**
 * The shared tables with tenant rows, in copy order (deletes go in reverse: pages, marks and errors before their runs,
 * `objects` — which names the object tables — last). Global tables (tenant_shards, org_claims, schedule_index,
 * notifications_outbox, idempotency_keys) stay in the primary and are not moved.
 */
const SHARED: TenantTable[] = [
  { table: "objects", where: "tenant = ?1", object: false },
  { table: "runs", where: "tenant = ?1", object: false },
  { table: "run_pages", where: byRun, object: false },
  { table: "run_partitions", where: byRun, object: false },
  { table: "run_errors", where: "tenant = ?1", object: false },
  { table: "reconcile_marks", where: byRun, object: false },
  { table: "sync_state", where: "tenant = ?1", object: false },
  { table: "lookup_watermarks", where: "tenant = ?1", object: false },
  { table: "job_schema", where: "tenant = ?1", object: false },
  { table: "audit_log", where: "tenant = ?1", object: false },
];

/** Every table holding `tenant`'s rows in `db`: the shared ones, then the tenant's object tables that exist there. */
export async function tenantTables(db: D1Database, tenant: string): Promise<TenantTable[]> {
  const { results } = await db.prepare("SELECT name FROM objects WHERE tenant = ? ORDER BY name_key").bind(tenant).all<{ name: string }>();
  const names = await Promise.all(results.map((r) => objectTableName(tenant, r.name)));
  const existing = names.length
    ? new Set(
        (
          await db
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (SELECT value FROM json_each(?))")
            .bind(JSON.stringify(names))
            .all<{ name: string }>()
        ).results.map((r) => r.name),
      )
    : new Set<string>();
  return [...SHARED, ...names.filter((n) => existing.has(n)).map((n) => ({ table: n, where: "?1 IS NOT NULL", object: true }))];
}

const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

async function columns(db: D1Database, table: string): Promise<{ all: string[]; key: string[] }> {
  const { results } = await db.prepare(`PRAGMA table_info(${q(table)})`).all<{ name: string; pk: number }>();
  const key = results
    .filter((c) => c.pk > 0)
    .sort((a, b) => a.pk - b.pk)
    .map((c) => c.name);
  if (!key.length) throw new Error(`invariant: table ${table} has no primary key`);
  return { all: results.map((c) => c.name), key };
}

/** Creates an object table on `to` as it is on `from` (the CREATE TABLE and every index), replacing any leftover. */
export async function copyObjectTableDdl(from: D1Database, to: D1Database, table: string): Promise<void> {
  const { results } = await from
    .prepare("SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type = 'index'")
    .bind(table)
    .all<{ type: string; sql: string }>();
  await to.batch([to.prepare(`DROP TABLE IF EXISTS ${q(table)}`), ...results.map((r) => to.prepare(r.sql))]);
}

/**
 * Copies up to `limit` of the tenant's rows of `t` after key `after` (null: from the start) from `from` to `to`
 * (INSERT OR REPLACE: a copy interrupted and started again converges). Returns the rows copied and the last key.
 */
export async function copyRows(
  from: D1Database,
  to: D1Database,
  tenant: string,
  t: TenantTable,
  after: unknown[] | null,
  limit: number,
): Promise<{ copied: number; last: unknown[] | null }> {
  const { all, key } = await columns(from, t.table);
  const keyList = key.map(q).join(", ");
  const past = after ? `AND (${keyList}) > (${key.map((_, i) => `?${i + 3}`).join(", ")})` : "";
  const rows = await from
    .prepare(`SELECT ${all.map(q).join(", ")} FROM ${q(t.table)} WHERE (${t.where}) ${past} ORDER BY ${keyList} LIMIT ?2`)
    .bind(tenant, limit, ...(after ?? []))
    .raw<unknown[]>();
  if (!rows.length) return { copied: 0, last: null };
  const insert = `INSERT OR REPLACE INTO ${q(t.table)} (${all.map(q).join(", ")}) SELECT ${all.map((_, i) => `json_extract(value, '$[${i}]')`).join(", ")} FROM json_each(?)`;
  await to.batch(jsonChunks(rows).map((c) => to.prepare(insert).bind(c.json)));
  const lastRow = rows[rows.length - 1]!;
  return { copied: rows.length, last: key.map((k) => lastRow[all.indexOf(k)]) };
}

/** Deletes up to `limit` of the tenant's rows of `t` in `db` (an object table is dropped whole). Returns the rows deleted. */
export async function deleteRows(db: D1Database, tenant: string, t: TenantTable, limit: number): Promise<number> {
  if (t.object) {
    await db.prepare(`DROP TABLE IF EXISTS ${q(t.table)}`).run();
    return 0;
  }
  const { key } = await columns(db, t.table);
  const keyList = key.map(q).join(", ");
  const r = await db
    .prepare(`DELETE FROM ${q(t.table)} WHERE (${keyList}) IN (SELECT ${keyList} FROM ${q(t.table)} WHERE ${t.where} LIMIT ?2)`)
    .bind(tenant, limit)
    .run();
  return r.meta.changes ?? 0;
}

/** The tenant's runs that are queued or running (a move waits for none). */
export async function activeRunCount(db: D1Database, tenant: string): Promise<number> {
  const r = await db.prepare("SELECT COUNT(*) AS n FROM runs WHERE tenant = ? AND status IN ('queued', 'running')").bind(tenant).first<{ n: number }>();
  return r?.n ?? 0;
}

/** Rows of the tenant per table in `db` (the move's report, and the tests' check that nothing is left behind). */
export async function tenantRowCounts(db: D1Database, tenant: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of await tenantTables(db, tenant)) {
    const r = await db
      .prepare(`SELECT COUNT(*) AS n FROM ${q(t.table)} WHERE ${t.where}`)
      .bind(tenant)
      .first<{ n: number }>();
    out[t.table] = r?.n ?? 0;
  }
  return out;
}
