import { MAX_OBJECT_FIELDS, type FieldType, type ObjectField, type TargetObject, type TargetRecord } from "#contract/object";
import type { Env } from "../env";
import { ApiError, validationFailed } from "../http/errors";
import { fieldColumn, objectTable, SYSTEM_COLUMNS, tenantKey } from "./object-tables";
import { STANDARD_OBJECTS } from "./standard-objects";

/** SQLite column type per target field type (lists are JSON text; booleans 0/1). */
export const COLUMN_TYPE: Record<FieldType, "TEXT" | "INTEGER" | "REAL"> = {
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
export async function ensureStandardObjects(env: Env, tenant: string): Promise<void> {
  const have = await env.DATA.prepare("SELECT COUNT(*) AS n FROM objects WHERE tenant = ? AND standard = 1").bind(tenant).first<{ n: number }>();
  if ((have?.n ?? 0) >= STANDARD_OBJECTS.length) return;
  for (const o of STANDARD_OBJECTS) await ensureObjectTable(env, tenant, o);
  const now = new Date().toISOString();
  await env.DATA.batch(
    STANDARD_OBJECTS.map((o) =>
      env.DATA.prepare(
        "INSERT OR IGNORE INTO objects (tenant, name_key, name, label, standard, fields, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
      ).bind(tenant, o.name.toLowerCase(), o.name, o.label, JSON.stringify(o.fields), now, now),
    ),
  );
}

export async function listObjects(env: Env, tenant: string): Promise<TargetObject[]> {
  await ensureStandardObjects(env, tenant);
  const { results } = await env.DATA.prepare("SELECT name, label, standard, fields, created_at FROM objects WHERE tenant = ? ORDER BY standard DESC, name_key")
    .bind(tenant)
    .all<ObjectRow>();
  return results.map(fromRow);
}

/** Case-insensitive; the standard objects are created (with their tables) on a tenant's first use. */
export async function getObject(env: Env, tenant: string, name: string): Promise<TargetObject | null> {
  if (!/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(name)) return null;
  await ensureStandardObjects(env, tenant);
  const row = await env.DATA.prepare("SELECT name, label, standard, fields, created_at FROM objects WHERE tenant = ? AND name_key = ?")
    .bind(tenant, name.toLowerCase())
    .first<ObjectRow>();
  return row ? fromRow(row) : null;
}

function indexName(tkey: string, object: string, field: string): string {
  return `"ux_${tkey}_${object.toLowerCase()}_${field.toLowerCase()}"`;
}

/** The DDL for an object's table: system columns, one typed column per field, a UNIQUE index per unique field. */
export async function objectDdl(tenant: string, object: Pick<TargetObject, "name" | "fields">): Promise<string[]> {
  const table = await objectTable(tenant, object.name);
  const tkey = await tenantKey(tenant);
  const cols = [
    `${SYSTEM_COLUMNS.id} TEXT PRIMARY KEY`,
    `${SYSTEM_COLUMNS.createdAt} TEXT NOT NULL`,
    `${SYSTEM_COLUMNS.updatedAt} TEXT NOT NULL`,
    `${SYSTEM_COLUMNS.deleted} INTEGER NOT NULL DEFAULT 0`,
    ...object.fields.map((f) => `${fieldColumn(f.name)} ${COLUMN_TYPE[f.type]}`),
  ];
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (${cols.join(", ")})`,
    ...object.fields.filter((f) => f.unique).map((f) => `CREATE UNIQUE INDEX IF NOT EXISTS ${indexName(tkey, object.name, f.name)} ON ${table} (${fieldColumn(f.name)})`),
  ];
}

/** Creates the object's table if missing and adds columns / unique indexes for fields added since. Idempotent. */
export async function ensureObjectTable(env: Env, tenant: string, object: Pick<TargetObject, "name" | "fields">): Promise<void> {
  const table = await objectTable(tenant, object.name);
  const [create, ...indexes] = await objectDdl(tenant, object);
  await env.DATA.prepare(create!).run();
  const { results } = await env.DATA.prepare(`PRAGMA table_info(${table})`).all<{ name: string }>();
  const have = new Set(results.map((r) => r.name.toLowerCase()));
  const add = object.fields.filter((f) => !have.has(`f_${f.name}`.toLowerCase()));
  const stmts = [
    ...add.map((f) => env.DATA.prepare(`ALTER TABLE ${table} ADD COLUMN ${fieldColumn(f.name)} ${COLUMN_TYPE[f.type]}`)),
    ...indexes.map((sql) => env.DATA.prepare(sql)),
  ];
  if (stmts.length) await env.DATA.batch(stmts);
}

/** Cross-field rules zod can't express: unique names (case-insensitive, the columns are), references to real objects. */
export async function checkFields(env: Env, tenant: string, objectName: string, fields: ObjectField[], existing: ObjectField[] = [], pathPrefix = "fields"): Promise<void> {
  const details: { path: string; message: string }[] = [];
  const seen = new Set(existing.map((f) => f.name.toLowerCase()));
  const known = new Set((await listObjects(env, tenant)).map((o) => o.name.toLowerCase()));
  known.add(objectName.toLowerCase());
  fields.forEach((f, i) => {
    if (seen.has(f.name.toLowerCase())) details.push({ path: `${pathPrefix}.${i}.name`, message: `a field named ${f.name} already exists (names are case-insensitive)` });
    seen.add(f.name.toLowerCase());
    if (f.type === "reference" && !f.references) details.push({ path: `${pathPrefix}.${i}.references`, message: "a reference field must name the object it references" });
    if (f.references && f.type !== "reference") details.push({ path: `${pathPrefix}.${i}.references`, message: "only reference fields may set references" });
    if (f.references && !known.has(f.references.toLowerCase())) details.push({ path: `${pathPrefix}.${i}.references`, message: `object ${f.references} does not exist` });
  });
  if (details.length) throw validationFailed(details);
}

export async function createObject(env: Env, tenant: string, input: { name: string; label: string; fields: ObjectField[] }): Promise<TargetObject> {
  if (await getObject(env, tenant, input.name)) throw new ApiError("conflict", `An object named ${input.name} already exists`, [{ path: "name", message: "already exists" }]);
  await checkFields(env, tenant, input.name, input.fields);
  const now = new Date().toISOString();
  const obj: TargetObject = { name: input.name, label: input.label, standard: false, fields: input.fields, createdAt: now };
  await ensureObjectTable(env, tenant, obj);
  await env.DATA.prepare("INSERT INTO objects (tenant, name_key, name, label, standard, fields, created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?)")
    .bind(tenant, input.name.toLowerCase(), input.name, input.label, JSON.stringify(input.fields), now, now)
    .run();
  return obj;
}

export async function updateObject(env: Env, tenant: string, current: TargetObject, patch: { label?: string; addFields?: ObjectField[] }): Promise<TargetObject> {
  const added = patch.addFields ?? [];
  if (current.fields.length + added.length > MAX_OBJECT_FIELDS) {
    throw validationFailed([{ path: "addFields", message: `${current.name} has ${current.fields.length} fields; at most ${MAX_OBJECT_FIELDS} fit (adding ${added.length})` }]);
  }
  await checkFields(env, tenant, current.name, added, current.fields, "addFields");
  const next: TargetObject = { ...current, label: patch.label ?? current.label, fields: [...current.fields, ...added] };
  if (added.length) await ensureObjectTable(env, tenant, next);
  await env.DATA.prepare("UPDATE objects SET label = ?, fields = ?, updated_at = ? WHERE tenant = ? AND name_key = ?")
    .bind(next.label, JSON.stringify(next.fields), new Date().toISOString(), tenant, current.name.toLowerCase())
    .run();
  return next;
}

// ---- records -------------------------------------------------------------------------------------------------

export interface RecordFilter {
  field: string;
  op: "eq" | "ne" | "gt" | "lt" | "ge" | "le" | "contains" | "startswith";
  value: string | number | boolean | null;
}

const OPS: Record<RecordFilter["op"], string> = { eq: "=", ne: "<>", gt: ">", lt: "<", ge: ">=", le: "<=", contains: "LIKE", startswith: "LIKE" };
const CLAUSE = /^([A-Za-z][A-Za-z0-9_]{0,62})\s+(eq|ne|gt|lt|ge|le|contains|startswith)\s+('(?:[^']|'')*'|-?\d+(?:\.\d+)?|true|false|null)$/i;

/**
 * `filter` grammar (OData-like, deliberately small): `<Field> <op> <value>` joined by ` and `;
 * ops eq ne gt lt ge le contains startswith; values 'quoted string' ('' escapes), numbers, true, false, null.
 */
export function parseRecordFilter(filter: string, object: TargetObject): RecordFilter[] {
  if (filter.length > 1000) throw validationFailed([{ path: "filter", message: "at most 1000 characters" }]);
  const parts = filter.split(/\s+and\s+(?=(?:[^']*'[^']*')*[^']*$)/i).map((s) => s.trim()).filter(Boolean);
  if (parts.length > 10) throw validationFailed([{ path: "filter", message: "at most 10 conditions" }]);
  return parts.map((p) => {
    const m = CLAUSE.exec(p);
    if (!m) throw validationFailed([{ path: "filter", message: `cannot read "${p.slice(0, 80)}": use <Field> <eq|ne|gt|lt|ge|le|contains|startswith> <value>` }]);
    const field = object.fields.find((f) => f.name.toLowerCase() === m[1]!.toLowerCase());
    if (!field) throw validationFailed([{ path: "filter", message: `${object.name} has no field ${m[1]}` }]);
    const raw = m[3]!;
    const value = raw.startsWith("'") ? raw.slice(1, -1).replace(/''/g, "'") : raw === "true" ? true : raw === "false" ? false : raw === "null" ? null : Number(raw);
    return { field: field.name, op: m[2]!.toLowerCase() as RecordFilter["op"], value };
  });
}

function encodeCursor(id: string): string {
  return btoa(JSON.stringify({ a: id })).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function decodeCursor(cursor: string): string {
  try {
    const v = JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/"))) as { a?: unknown };
    if (typeof v.a === "string" && v.a.length <= 100) return v.a;
  } catch {
    /* fall through */
  }
  throw validationFailed([{ path: "cursor", message: "is not a cursor this API returned" }]);
}

/** Keyset paging on the record id (stable under concurrent writes); the cursor is opaque to callers. */
export async function listRecords(
  env: Env,
  tenant: string,
  object: TargetObject,
  opts: { limit: number; cursor?: string; filters: RecordFilter[]; includeDeleted: boolean },
): Promise<{ items: TargetRecord[]; nextCursor: string | null }> {
  // No ensureObjectTable here: an object row is only ever stored after its table (and every added column) exists.
  const table = await objectTable(tenant, object.name);
  const where: string[] = [];
  const args: unknown[] = [];
  if (!opts.includeDeleted) where.push(`${SYSTEM_COLUMNS.deleted} = 0`);
  if (opts.cursor) (where.push(`${SYSTEM_COLUMNS.id} > ?`), args.push(decodeCursor(opts.cursor)));
  for (const f of opts.filters) {
    const col = fieldColumn(f.field);
    if (f.value === null) where.push(f.op === "ne" ? `${col} IS NOT NULL` : `${col} IS NULL`);
    // instr/substr rather than LIKE: D1 caps LIKE patterns at 50 bytes, and these need no escaping.
    else if (f.op === "contains") (where.push(`instr(lower(${col}), lower(?)) > 0`), args.push(String(f.value)));
    else if (f.op === "startswith") (where.push(`substr(lower(${col}), 1, length(?)) = lower(?)`), args.push(String(f.value), String(f.value))); else {
      where.push(`${col} ${OPS[f.op]} ?`);
      args.push(typeof f.value === "boolean" ? (f.value ? 1 : 0) : f.value);
    }
  }
  const cols = [SYSTEM_COLUMNS.id, SYSTEM_COLUMNS.createdAt, SYSTEM_COLUMNS.updatedAt, SYSTEM_COLUMNS.deleted, ...object.fields.map((f) => fieldColumn(f.name))];
  const sql = `SELECT ${cols.join(", ")} FROM ${table}${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY ${SYSTEM_COLUMNS.id} LIMIT ?`;
  const { results } = await env.DATA.prepare(sql).bind(...args, opts.limit + 1).all<Record<string, unknown>>();
  const items = results.slice(0, opts.limit).map((r): TargetRecord => {
    const fields: Record<string, unknown> = {};
    for (const f of object.fields) {
      let v = r[`f_${f.name}`] ?? null;
      if (v !== null && f.type === "boolean") v = v === 1 || v === true;
      if (v !== null && f.type === "string_list" && typeof v === "string") {
        try {
          v = JSON.parse(v);
        } catch {
          /* keep text */
        }
      }
      fields[f.name] = v;
    }
    return {
      id: String(r[SYSTEM_COLUMNS.id]),
      fields,
      deleted: r[SYSTEM_COLUMNS.deleted] === 1,
      createdAt: String(r[SYSTEM_COLUMNS.createdAt]),
      updatedAt: String(r[SYSTEM_COLUMNS.updatedAt]),
    };
  });
  const last = items[items.length - 1];
  return { items, nextCursor: results.length > opts.limit && last ? encodeCursor(last.id) : null };
}
