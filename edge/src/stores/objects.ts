/**
 * Target objects (table `objects`: the tenant's standard and custom objects with their fields) and the DDL of their
 * per-tenant tables (docs/decisions/0002). Records in those tables: records.ts (API reads), record-writes.ts (sync).
 */
import { type FieldType, type ObjectField, type TargetObject } from "#contract/object";
import type { Env } from "../env";
import { dbFor } from "./shards";
import { ApiError, validationFailed } from "../http/errors";
import { fieldColumn, objectTable, objectTableName, SYSTEM_COLUMNS, tenantKey } from "./object-tables";
import { STANDARD_OBJECTS } from "./standard-objects";

/** SQLite column type per target field type (lists are JSON text; booleans 0/1). */
const COLUMN_TYPE: Record<FieldType, "TEXT" | "INTEGER" | "REAL"> = {
  string: "TEXT",
  text: "TEXT",
  integer: "INTEGER",
  number: "REAL",
  currency: "REAL",
  boolean: "INTEGER",
  date: "TEXT",
  datetime: "TEXT",
  email: "TEXT",
  url: "TEXT",
  phone: "TEXT",
  id: "TEXT",
  reference: "TEXT",
  string_list: "TEXT",
};

interface ObjectRow {
  name: string;
  label: string;
  standard: number;
  fields: string;
  created_at: string;
}
const fromRow = (r: ObjectRow): TargetObject => ({
  name: r.name,
  label: r.label,
  standard: r.standard === 1,
  fields: JSON.parse(r.fields) as ObjectField[],
  createdAt: r.created_at,
});

/** Creates the standard objects (tables first, then definitions) the first time a tenant touches objects. Idempotent. */
async function ensureStandardObjects(env: Env, tenant: string): Promise<void> {
  const db = await dbFor(env, tenant);
  const have = await db.prepare("SELECT COUNT(*) AS n FROM objects WHERE tenant = ? AND standard = 1").bind(tenant).first<{ n: number }>();
  if ((have?.n ?? 0) >= STANDARD_OBJECTS.length) return;
  for (const o of STANDARD_OBJECTS) await ensureObjectTable(env, tenant, o);
  const now = new Date().toISOString();
  await db.batch(
    STANDARD_OBJECTS.map((o) =>
      db
        .prepare("INSERT OR IGNORE INTO objects (tenant, name_key, name, label, standard, fields, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?)")
        .bind(tenant, o.name.toLowerCase(), o.name, o.label, JSON.stringify(o.fields), now, now),
    ),
  );
}

export async function listObjects(env: Env, tenant: string): Promise<TargetObject[]> {
  const db = await dbFor(env, tenant);
  await ensureStandardObjects(env, tenant);
  const { results } = await db
    .prepare("SELECT name, label, standard, fields, created_at FROM objects WHERE tenant = ? ORDER BY standard DESC, name_key")
    .bind(tenant)
    .all<ObjectRow>();
  return results.map(fromRow);
}

/** Case-insensitive; the standard objects are created (with their tables) on a tenant's first use. */
export async function getObject(env: Env, tenant: string, name: string): Promise<TargetObject | null> {
  if (!/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(name)) return null;
  const db = await dbFor(env, tenant);
  await ensureStandardObjects(env, tenant);
  const row = await db
    .prepare("SELECT name, label, standard, fields, created_at FROM objects WHERE tenant = ? AND name_key = ?")
    .bind(tenant, name.toLowerCase())
    .first<ObjectRow>();
  return row ? fromRow(row) : null;
}

/**
 * The UNIQUE index of `field` on an object's table: `ux_<tenantKey>_<object>$<field>` (lower-case; quote it). Object
 * and field names are letters, digits and `_` (contract/object.ts), so `$` appears in neither and marks where the object
 * ends: object `a_b` field `c` → `ux_…_a_b$c`, object `a` field `b_c` → `ux_…_a$b_c`. The form used before,
 * `ux_<tenantKey>_<object>_<field>`, named both `ux_…_a_b_c`: the second CREATE UNIQUE INDEX IF NOT EXISTS did nothing
 * and every upsert into `a` failed ("ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE constraint").
 * Index names are per database, so they carry the tenant key as table names do. The `$org` suffix names the
 * (`_org`, field) form: unique within a Dynamics organization (the field-only `…$<field>` indexes before it are renamed).
 */
export function uniqueIndexName(tkey: string, object: string, field: string): string {
  return `ux_${tkey}_${object.toLowerCase()}$${field.toLowerCase()}$org`;
}

const quoted = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Tables made before records were scoped to their organization get the column with '' (legacy rows, see page-plan.ts). */
const ORG_COLUMN = `${SYSTEM_COLUMNS.org} TEXT NOT NULL DEFAULT ''`;

/** The DDL for an object's table: system columns, one typed column per field; its unique indexes by name. */
async function objectDdl(tenant: string, object: Pick<TargetObject, "name" | "fields">): Promise<{ create: string; indexes: Map<string, string> }> {
  const table = await objectTable(tenant, object.name);
  const tkey = await tenantKey(tenant);
  const cols = [
    `${SYSTEM_COLUMNS.id} TEXT PRIMARY KEY`,
    `${SYSTEM_COLUMNS.createdAt} TEXT NOT NULL`,
    `${SYSTEM_COLUMNS.updatedAt} TEXT NOT NULL`,
    `${SYSTEM_COLUMNS.deleted} INTEGER NOT NULL DEFAULT 0`,
    ORG_COLUMN,
    ...object.fields.map((f) => `${fieldColumn(f.name)} ${COLUMN_TYPE[f.type]}`),
  ];
  const indexes = new Map<string, string>();
  for (const f of object.fields.filter((x) => x.unique)) {
    const name = uniqueIndexName(tkey, object.name, f.name);
    indexes.set(name, `CREATE UNIQUE INDEX IF NOT EXISTS ${quoted(name)} ON ${table} (${SYSTEM_COLUMNS.org}, ${fieldColumn(f.name)})`);
  }
  return { create: `CREATE TABLE IF NOT EXISTS ${table} (${cols.join(", ")})`, indexes };
}

/**
 * Creates the object's table if missing and adds columns / unique indexes for fields added since. Idempotent; called
 * on object create / update and at every run's init. Unique indexes of the table named otherwise than
 * `uniqueIndexName` says (`ux_<tenantKey>_…`, the older ambiguous form) are dropped and created under the new name in
 * the same batch (one transaction: a table is never without its unique index), and a table without the `_org` column
 * gets it (existing rows: '') in that batch too — target tables are per tenant and made at run time, so this is their
 * migration.
 */
export async function ensureObjectTable(env: Env, tenant: string, object: Pick<TargetObject, "name" | "fields">): Promise<void> {
  const db = await dbFor(env, tenant);
  const table = await objectTable(tenant, object.name);
  const tkey = await tenantKey(tenant);
  const { create, indexes } = await objectDdl(tenant, object);
  await db.prepare(create).run();
  const { results } = await db.prepare(`PRAGMA table_info(${table})`).all<{ name: string }>();
  const have = new Set(results.map((r) => r.name.toLowerCase()));
  const add = object.fields.filter((f) => !have.has(`f_${f.name}`.toLowerCase()));
  const existing = await db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?")
    .bind(await objectTableName(tenant, object.name))
    .all<{ name: string }>();
  const stale = existing.results.map((r) => r.name).filter((n) => n.startsWith(`ux_${tkey}_`) && !indexes.has(n));
  const stmts = [
    ...(have.has(SYSTEM_COLUMNS.org) ? [] : [db.prepare(`ALTER TABLE ${table} ADD COLUMN ${ORG_COLUMN}`)]),
    ...add.map((f) => db.prepare(`ALTER TABLE ${table} ADD COLUMN ${fieldColumn(f.name)} ${COLUMN_TYPE[f.type]}`)),
    ...stale.map((n) => db.prepare(`DROP INDEX IF EXISTS ${quoted(n)}`)),
    ...[...indexes.values()].map((sql) => db.prepare(sql)),
  ];
  if (stmts.length) await db.batch(stmts);
}

/** Cross-field rules zod can't express: unique names (case-insensitive, the columns are), references to real objects. */
async function checkFields(
  env: Env,
  tenant: string,
  objectName: string,
  fields: ObjectField[],
  existing: ObjectField[] = [],
  pathPrefix = "fields",
): Promise<void> {
  const details: { path: string; message: string }[] = [];
  const seen = new Set(existing.map((f) => f.name.toLowerCase()));
  const known = new Set((await listObjects(env, tenant)).map((o) => o.name.toLowerCase()));
  known.add(objectName.toLowerCase());
  fields.forEach((f, i) => {
    if (seen.has(f.name.toLowerCase()))
      details.push({ path: `${pathPrefix}.${i}.name`, message: `a field named ${f.name} already exists (names are case-insensitive)` });
    seen.add(f.name.toLowerCase());
    if (f.type === "reference" && !f.references)
      details.push({ path: `${pathPrefix}.${i}.references`, message: "a reference field must name the object it references" });
    if (f.references && f.type !== "reference") details.push({ path: `${pathPrefix}.${i}.references`, message: "only reference fields may set references" });
    if (f.references && !known.has(f.references.toLowerCase()))
      details.push({ path: `${pathPrefix}.${i}.references`, message: `object ${f.references} does not exist` });
  });
  if (details.length) throw validationFailed(details);
}

/** The tenant already has `limit` objects: the definition was not stored (its empty table may stay, harmless). */
export class ObjectLimitError extends Error {
  constructor(readonly limit: number) {
    super(`At most ${limit} objects per tenant`);
  }
}

/**
 * Creates a custom object, unless the tenant already has `maxObjects` objects (ObjectLimitError; null = no limit): the
 * count is part of the INSERT, so concurrent creates can't overshoot (D1 runs statements one at a time).
 */
export async function createObject(
  env: Env,
  tenant: string,
  input: { name: string; label: string; fields: ObjectField[] },
  maxObjects: number | null = null,
): Promise<TargetObject> {
  const db = await dbFor(env, tenant);
  if (await getObject(env, tenant, input.name))
    throw new ApiError("conflict", `An object named ${input.name} already exists`, [{ path: "name", message: "already exists" }]);
  await checkFields(env, tenant, input.name, input.fields);
  const now = new Date().toISOString();
  const obj: TargetObject = { name: input.name, label: input.label, standard: false, fields: input.fields, createdAt: now };
  await ensureObjectTable(env, tenant, obj);
  const r = await db
    .prepare(
      `INSERT INTO objects (tenant, name_key, name, label, standard, fields, created_at, updated_at)
     SELECT ?1, ?2, ?3, ?4, 0, ?5, ?6, ?6 WHERE ?7 IS NULL OR (SELECT COUNT(*) FROM objects WHERE tenant = ?1) < ?7`,
    )
    .bind(tenant, input.name.toLowerCase(), input.name, input.label, JSON.stringify(input.fields), now, maxObjects)
    .run();
  if (!r.meta.changes && maxObjects !== null) throw new ObjectLimitError(maxObjects);
  return obj;
}

export async function updateObject(
  env: Env,
  tenant: string,
  current: TargetObject,
  patch: { label?: string; addFields?: ObjectField[] },
): Promise<TargetObject> {
  const db = await dbFor(env, tenant);
  const added = patch.addFields ?? [];
  await checkFields(env, tenant, current.name, added, current.fields, "addFields");
  const next: TargetObject = { ...current, label: patch.label ?? current.label, fields: [...current.fields, ...added] };
  if (added.length) await ensureObjectTable(env, tenant, next);
  await db
    .prepare("UPDATE objects SET label = ?, fields = ?, updated_at = ? WHERE tenant = ? AND name_key = ?")
    .bind(next.label, JSON.stringify(next.fields), new Date().toISOString(), tenant, current.name.toLowerCase())
    .run();
  return next;
}
