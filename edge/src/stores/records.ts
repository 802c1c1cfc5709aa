/**
 * Reading an object's records for the API (GET /objects/:name/records): a small filter language and keyset paging.
 * The sync writes them through record-writes.ts.
 */
import type { TargetObject, TargetRecord } from "#contract/object";
import type { Env } from "../env";
import { dbFor } from "./shards";
import { validationFailed } from "../http/errors";
import { fieldColumn, objectTable, SYSTEM_COLUMNS } from "./object-tables";
import { ensureObjectTable } from "./objects";

interface RecordFilter {
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
  const parts = filter
    .split(/\s+and\s+(?=(?:[^']*'[^']*')*[^']*$)/i)
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length > 10) throw validationFailed([{ path: "filter", message: "at most 10 conditions" }]);
  return parts.map((p) => {
    const m = CLAUSE.exec(p);
    if (!m)
      throw validationFailed([{ path: "filter", message: `cannot read "${p.slice(0, 80)}": use <Field> <eq|ne|gt|lt|ge|le|contains|startswith> <value>` }]);
    const field = object.fields.find((f) => f.name.toLowerCase() === m[1]!.toLowerCase());
    if (!field) throw validationFailed([{ path: "filter", message: `${object.name} has no field ${m[1]}` }]);
    const raw = m[3]!;
    const value = raw.startsWith("'")
      ? raw.slice(1, -1).replace(/''/g, "'")
      : raw === "true"
        ? true
        : raw === "false"
          ? false
          : raw === "null"
            ? null
            : Number(raw);
    return { field: field.name, op: m[2]!.toLowerCase() as RecordFilter["op"], value };
  });
}

function encodeCursor(id: string): string {
  return btoa(JSON.stringify({ a: id }))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
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
  const db = await dbFor(env, tenant);
  // No ensureObjectTable up front: an object row is only ever stored after its table (and every added column) exists.
  const table = await objectTable(tenant, object.name);
  const where: string[] = [];
  const args: unknown[] = [];
  if (!opts.includeDeleted) where.push(`${SYSTEM_COLUMNS.deleted} = 0`);
  if (opts.cursor) {
    where.push(`${SYSTEM_COLUMNS.id} > ?`);
    args.push(decodeCursor(opts.cursor));
  }
  for (const f of opts.filters) {
    const col = fieldColumn(f.field);
    if (f.value === null) where.push(f.op === "ne" ? `${col} IS NOT NULL` : `${col} IS NULL`);
    // instr/substr rather than LIKE: D1 caps LIKE patterns at 50 bytes, and these need no escaping.
    else if (f.op === "contains") {
      where.push(`instr(lower(${col}), lower(?)) > 0`);
      args.push(String(f.value));
    } else if (f.op === "startswith") {
      where.push(`substr(lower(${col}), 1, length(?)) = lower(?)`);
      args.push(String(f.value), String(f.value));
    } else {
      where.push(`${col} ${OPS[f.op]} ?`);
      args.push(typeof f.value === "boolean" ? (f.value ? 1 : 0) : f.value);
    }
  }
  const cols = [
    SYSTEM_COLUMNS.id,
    SYSTEM_COLUMNS.createdAt,
    SYSTEM_COLUMNS.updatedAt,
    SYSTEM_COLUMNS.deleted,
    SYSTEM_COLUMNS.org,
    ...object.fields.map((f) => fieldColumn(f.name)),
  ];
  const sql = `SELECT ${cols.join(", ")} FROM ${table}${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY ${SYSTEM_COLUMNS.id} LIMIT ?`;
  const read = () =>
    db
      .prepare(sql)
      .bind(...args, opts.limit + 1)
      .all<Record<string, unknown>>();
  let results: Array<Record<string, unknown>>;
  try {
    ({ results } = await read());
  } catch (e) {
    // A table made before records carried their organization gets `_org` at its next run's init; the first read
    // before that migrates it (ensureObjectTable is idempotent) and asks again.
    if (!String(e).includes(`no such column: ${SYSTEM_COLUMNS.org}`)) throw e;
    await ensureObjectTable(env, tenant, object);
    ({ results } = await read());
  }
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
      organizationId: r[SYSTEM_COLUMNS.org] ? String(r[SYSTEM_COLUMNS.org]) : null,
      createdAt: String(r[SYSTEM_COLUMNS.createdAt]),
      updatedAt: String(r[SYSTEM_COLUMNS.updatedAt]),
    };
  });
  const last = items[items.length - 1];
  return { items, nextCursor: results.length > opts.limit && last ? encodeCursor(last.id) : null };
}
