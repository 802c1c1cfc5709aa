/**
 * Turns one fetched page into ONE D1 batch (= one transaction): the page-log guard, the record writes, the run's
 * per-record errors, the run checkpoint (cursor + counts) and, on the last page, the job's sync state.
 * The guard row (run_id, page) goes first: if this page was already committed (a retried or duplicated step), its
 * primary key fails, the whole batch rolls back and `commitPage` reports `duplicate` — nothing is written twice.
 * The same row refuses a page of a run that is no longer active (`stopped`), so a cancel takes effect atomically.
 */
import type { AttributeInfo } from "#contract/metadata";
import type { Job, Lookup } from "#contract/job";
import type { TargetObject } from "#contract/object";
import type { RunCounts, RunHeadroom, RunRecordError } from "#contract/run";
import type { Env } from "../env";
import { fieldColumn, objectTable, SYSTEM_COLUMNS } from "../stores/object-tables";
import { printable } from "./convert";
import { mapRecord, rowKey, sourceIdOf } from "./mapper";
import { lowerHeadroomStatement } from "./runs-store";

export const MAX_ERROR_ROWS_PER_RUN = 5_000;
/**
 * Set-based writes (docs/decisions/0004-set-based-page-writes.md): a page's records travel as ONE bound JSON parameter
 * per statement, unpacked in SQL by json_each / json_extract — no 100-bound-parameter limit, a handful of statements
 * per page instead of one per record. A chunk stays below D1's 2 MB per value: at most this many UTF-16 code units
 * (≤ 3 UTF-8 bytes each).
 */
const JSON_CHUNK_CHARS = 600_000;
/** Per-record fallback (a single record whose JSON alone exceeds a chunk): D1 allows 100 bound parameters. */
const MAX_COLS_PER_STATEMENT = 80;

export interface PageInput {
  tenant: string;
  job: Job;
  object: TargetObject;
  /** Objects referenced by the job's lookups, by lower-case name. */
  lookupObjects: Map<string, TargetObject>;
  attributes: AttributeInfo[];
  rows: Array<Record<string, unknown>>;
  /** Source primary ids removed in Dataverse ($deletedEntity). */
  deletedIds: string[];
}

export interface PreparedPage {
  statements: D1PreparedStatement[];
  counts: RunCounts;
  errors: RunRecordError[];
  notes: string[];
}

interface Pending {
  sourceId: string;
  row: Record<string, unknown>;
  fields: Record<string, unknown>;
  id: string;
  exists: boolean;
}

const isGuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
/** GUIDs compare lower-case (Dataverse returns them lower-case; ids typed by hand may not be). */
const normalizeGuid = (v: unknown): unknown => (typeof v === "string" && isGuid(v) ? v.toLowerCase() : v);

/** JSON array texts of the given JSON item texts, each at most JSON_CHUNK_CHARS long (an oversized item alone). */
function jsonChunks(items: string[]): Array<{ json: string; offset: number; count: number }> {
  const out: Array<{ json: string; offset: number; count: number }> = [];
  let start = 0;
  let size = 2;
  for (let i = 0; i < items.length; i++) {
    const len = items[i]!.length + 1;
    if (i > start && size + len > JSON_CHUNK_CHARS) {
      out.push({ json: `[${items.slice(start, i).join(",")}]`, offset: start, count: i - start });
      start = i;
      size = 2;
    }
    size += len;
  }
  if (items.length > start) out.push({ json: `[${items.slice(start).join(",")}]`, offset: start, count: items.length - start });
  return out;
}

/** Existing target rows by one column's values → _id: one `IN (SELECT value FROM json_each(?))` per chunk. */
async function existingBy(env: Env, table: string, column: string, values: unknown[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const distinct = [...new Set(values.filter((v) => v !== null && v !== undefined).map((v) => String(v)))];
  for (const chunk of jsonChunks(distinct.map((v) => JSON.stringify(v)))) {
    const { results } = await env.DATA.prepare(`SELECT ${SYSTEM_COLUMNS.id} AS id, ${column} AS k FROM ${table} WHERE ${column} IN (SELECT value FROM json_each(?))`)
      .bind(chunk.json)
      .all<{ id: string; k: unknown }>();
    for (const r of results) out.set(String(r.k), r.id);
  }
  return out;
}

/** Multi-field lookup: the first target row matching each tuple (all fields equal) → _id, by tuple index. */
async function existingByTuples(env: Env, table: string, columns: string[], tuples: unknown[][]): Promise<Map<number, string>> {
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

/** Match values of a lookup for a row (raw `_x_value` keys or logical names), or null when any part is empty. */
function matchTuple(lookup: Lookup, byAttr: Map<string, AttributeInfo>, row: Record<string, unknown>): unknown[] | null {
  const vals = lookup.match.map((m) => {
    const key = m.source.startsWith("_") && m.source.endsWith("_value") ? m.source : rowKey(byAttr.get(m.source), m.source);
    return normalizeGuid(row[key]);
  });
  return vals.some((v) => v === null || v === undefined || v === "") ? null : vals;
}

export async function preparePage(env: Env, input: PageInput): Promise<PreparedPage> {
  const { job, object, tenant } = input;
  const counts: RunCounts = { read: input.rows.length + input.deletedIds.length, inserted: 0, updated: 0, deleted: 0, skipped: 0, failed: 0 };
  const errors: RunRecordError[] = [];
  const notes: string[] = [];
  const table = await objectTable(tenant, object.name);
  const now = new Date().toISOString();
  const idField = job.identifiers[0]?.target ?? null;
  const idCol = idField ? fieldColumn(idField) : null;
  const byAttr = new Map(input.attributes.map((a) => [a.logicalName, a]));

  // 1. map
  const mapped: Pending[] = [];
  for (const row of input.rows) {
    const r = mapRecord(job, input.attributes, row, object);
    if (r.errors.length) {
      errors.push(...r.errors);
      counts.failed++;
      continue;
    }
    mapped.push({ sourceId: sourceIdOf(job.source.entity, row), row, fields: r.fields, id: "", exists: false });
  }

  // 2. identify existing target rows: one SELECT per page. The answer stays true inside this page's batch: a duplicate
  // or concurrent step of the same run rolls its whole batch back on the page guard. A record repeated within the page
  // is, from its second occurrence on, the row its first occurrence inserts (same _id; counted as an update).
  const existing = idField && idCol ? await existingBy(env, table, idCol, mapped.map((p) => p.fields[idField])) : new Map<string, string>();
  const insertedHere = new Map<string, string>();
  for (const p of mapped) {
    const key = idField ? String(p.fields[idField]) : null;
    const hit = key === null ? undefined : (existing.get(key) ?? insertedHere.get(key));
    p.exists = hit !== undefined;
    p.id = hit ?? crypto.randomUUID();
    if (key !== null && !p.exists && job.mode !== "update") insertedHere.set(key, p.id);
  }

  // 3. resolve lookups (self lookups also see this page's records, which are written in the same batch)
  const dropped = new Set<Pending>();
  for (const lookup of job.lookups) {
    const lobj = input.lookupObjects.get(lookup.object.toLowerCase());
    if (!lobj) throw new Error(`invariant: lookup object ${lookup.object} was not loaded`);
    const ltable = await objectTable(tenant, lobj.name);
    const isSelf = lobj.name.toLowerCase() === object.name.toLowerCase();
    const tuples = mapped.map((p) => matchTuple(lookup, byAttr, p.row));
    const found = new Map<string, string>();
    const keyOf = (t: unknown[]) => JSON.stringify(t.map((v) => String(v)));
    if (lookup.match.length === 1) {
      const col = fieldColumn(lookup.match[0]!.field);
      const m = await existingBy(env, ltable, col, tuples.filter((t): t is unknown[] => t !== null).map((t) => t[0]));
      for (const [k, v] of m) found.set(JSON.stringify([k]), v);
    } else {
      const distinct = new Map<string, unknown[]>();
      for (const t of tuples) if (t) distinct.set(keyOf(t), t);
      const list = [...distinct.values()];
      const m = await existingByTuples(env, ltable, lookup.match.map((x) => fieldColumn(x.field)), list);
      for (const [i, id] of m) found.set(keyOf(list[i]!), id);
    }
    if (isSelf) {
      for (const p of mapped) {
        // Only records that exist after this batch (an update-mode record without a target row is not written).
        if (!p.exists && job.mode === "update") continue;
        const t = lookup.match.map((m) => normalizeGuid(p.fields[m.field]));
        if (t.every((v) => v !== null && v !== undefined)) found.set(keyOf(t), p.id);
      }
    }
    mapped.forEach((p, i) => {
      if (dropped.has(p)) return;
      const t = tuples[i];
      if (!t) {
        p.fields[lookup.target] = null;
        return;
      }
      const id = found.get(keyOf(t));
      if (id) {
        p.fields[lookup.target] = id;
        return;
      }
      if (lookup.onMissing === "null") p.fields[lookup.target] = null;
      else if (lookup.onMissing === "skip") {
        dropped.add(p);
        counts.skipped++;
      } else {
        dropped.add(p);
        counts.failed++;
        errors.push({
          sourceId: p.sourceId,
          field: lookup.target,
          value: printable(t.length === 1 ? t[0] : t),
          reason: `lookup: no ${lobj.name} record with ${lookup.match.map((m) => m.field).join(" + ")} = ${t.map(String).join(" + ")}`,
        });
      }
    });
  }

  // 4. record statements, set-based: records grouped by their field names (in practice one group), each group as
  // [ _id, field values… ] arrays in one JSON parameter per chunk.
  const toInsert: Pending[] = [];
  const toUpdate: Pending[] = [];
  for (const p of mapped) {
    if (dropped.has(p)) continue;
    if (job.mode === "insert" && p.exists) {
      counts.skipped++;
      continue;
    }
    if (job.mode === "update" && !p.exists) {
      counts.skipped++;
      continue;
    }
    if (p.exists) counts.updated++;
    else counts.inserted++;
    // upsert writes new and existing records through one INSERT … ON CONFLICT(identifier) DO UPDATE (an existing row
    // keeps its _id and _created_at); update mode UPDATEs the rows found.
    (job.mode === "update" ? toUpdate : toInsert).push(p);
  }
  const statements: D1PreparedStatement[] = [];
  for (const [names, group] of groupByNames(toInsert)) {
    const cols = names.map(fieldColumn);
    const conflict = idCol
      ? job.mode === "insert"
        ? ` ON CONFLICT(${idCol}) DO NOTHING`
        : ` ON CONFLICT(${idCol}) DO UPDATE SET ${[...cols.map((c) => `${c} = excluded.${c}`), `${SYSTEM_COLUMNS.updatedAt} = excluded.${SYSTEM_COLUMNS.updatedAt}`, `${SYSTEM_COLUMNS.deleted} = 0`].join(", ")}`
      : "";
    const sql =
      `INSERT INTO ${table} (${[SYSTEM_COLUMNS.id, SYSTEM_COLUMNS.createdAt, SYSTEM_COLUMNS.updatedAt, SYSTEM_COLUMNS.deleted, ...cols].join(", ")}) ` +
      `SELECT json_extract(value, '$[0]'), ?1, ?1, 0, ${cols.map((_, i) => `json_extract(value, '$[${i + 1}]')`).join(", ")} FROM json_each(?2) WHERE true${conflict}`;
    const { chunks, oversized } = recordChunks(group, names, true);
    for (const c of chunks) statements.push(env.DATA.prepare(sql).bind(now, c));
    for (const p of oversized) statements.push(...perRecordStatements(env, table, job, idCol, p, names, now));
  }
  // Update mode: a record repeated in the page updates its row once, with its last occurrence (as sequential UPDATEs would).
  const lastById = new Map<string, Pending>();
  for (const p of toUpdate) {
    lastById.delete(p.id);
    lastById.set(p.id, p);
  }
  for (const [names, group] of groupByNames([...lastById.values()])) {
    const sets = names.map((n, i) => `${fieldColumn(n)} = json_extract(j.value, '$[${i + 1}]')`);
    const sql = `UPDATE ${table} SET ${[...sets, `${SYSTEM_COLUMNS.updatedAt} = ?1`, `${SYSTEM_COLUMNS.deleted} = 0`].join(", ")} FROM json_each(?2) AS j WHERE ${table}.${SYSTEM_COLUMNS.id} = json_extract(j.value, '$[0]')`;
    const { chunks, oversized } = recordChunks(group, names, false);
    for (const c of chunks) statements.push(env.DATA.prepare(sql).bind(now, c));
    for (const p of oversized) statements.push(...perRecordStatements(env, table, job, idCol, p, names, now));
  }

  // 5. deletes (only from explicit delete signals: change tracking's $deletedEntity)
  if (input.deletedIds.length) {
    const primary = `${job.source.entity}id`;
    const ident = job.identifiers.find((i) => i.source === primary);
    if (job.deletes === "ignore") counts.skipped += input.deletedIds.length;
    else if (!ident) {
      counts.skipped += input.deletedIds.length;
      notes.push(`deletes not applied: the job's identifiers do not include ${primary}`);
    } else {
      const col = fieldColumn(ident.target);
      const ids = input.deletedIds.map((d) => d.toLowerCase());
      const present = await existingBy(env, table, col, ids);
      const rids = new Set<string>();
      for (const id of ids) {
        const rid = present.get(id);
        if (!rid) {
          counts.skipped++;
          continue;
        }
        rids.add(rid);
        counts.deleted++;
      }
      for (const c of jsonChunks([...rids].map((r) => JSON.stringify(r)))) {
        statements.push(
          job.deletes === "delete"
            ? env.DATA.prepare(`DELETE FROM ${table} WHERE ${SYSTEM_COLUMNS.id} IN (SELECT value FROM json_each(?))`).bind(c.json)
            : env.DATA.prepare(`UPDATE ${table} SET ${SYSTEM_COLUMNS.deleted} = 1, ${SYSTEM_COLUMNS.updatedAt} = ? WHERE ${SYSTEM_COLUMNS.id} IN (SELECT value FROM json_each(?))`).bind(now, c.json),
        );
      }
    }
  }
  return { statements, counts, errors, notes };
}

/** Records by the list of their field names (every record of a job normally has the same ones). */
function groupByNames(records: Pending[]): Map<string[], Pending[]> {
  const bySig = new Map<string, { names: string[]; list: Pending[] }>();
  for (const p of records) {
    const names = Object.keys(p.fields);
    const sig = names.join("\u0000");
    let g = bySig.get(sig);
    if (!g) bySig.set(sig, (g = { names, list: [] }));
    g.list.push(p);
  }
  return new Map([...bySig.values()].map((g) => [g.names, g.list]));
}

/** JSON chunks of `[ _id, values… ]` per record; a record too large for a chunk on its own is returned apart. */
function recordChunks(records: Pending[], names: string[], forInsert: boolean): { chunks: string[]; oversized: Pending[] } {
  const items: string[] = [];
  const oversized: Pending[] = [];
  for (const p of records) {
    // An existing record inserted again gets a throwaway _id: only the identifier's UNIQUE index conflicts (→ DO UPDATE),
    // never the primary key; the row keeps its _id.
    const arr: unknown[] = [forInsert && p.exists ? crypto.randomUUID() : p.id];
    for (const n of names) arr.push(p.fields[n] ?? null);
    const json = JSON.stringify(arr);
    if (json.length + 2 > JSON_CHUNK_CHARS) oversized.push(p);
    else items.push(json);
  }
  return { chunks: jsonChunks(items).map((c) => c.json), oversized };
}

/** The per-record form (bound values, ≤ 80 columns per statement) for a record whose JSON exceeds a chunk. */
function perRecordStatements(env: Env, table: string, job: Job, idCol: string | null, p: Pending, names: string[], now: string): D1PreparedStatement[] {
  const out: D1PreparedStatement[] = [];
  const first = names.slice(0, MAX_COLS_PER_STATEMENT);
  const rest = names.slice(MAX_COLS_PER_STATEMENT);
  const val = (n: string) => (p.fields[n] ?? null) as string;
  if (p.exists || job.mode === "update") {
    for (let i = 0; i < names.length; i += MAX_COLS_PER_STATEMENT) {
      const part = names.slice(i, i + MAX_COLS_PER_STATEMENT);
      out.push(
        env.DATA.prepare(
          `UPDATE ${table} SET ${part.map((n) => `${fieldColumn(n)} = ?`).join(", ")}, ${SYSTEM_COLUMNS.updatedAt} = ?, ${SYSTEM_COLUMNS.deleted} = 0 WHERE ${SYSTEM_COLUMNS.id} = ?`,
        ).bind(...part.map(val), now, p.id),
      );
    }
    return out;
  }
  const cols = [SYSTEM_COLUMNS.id, SYSTEM_COLUMNS.createdAt, SYSTEM_COLUMNS.updatedAt, SYSTEM_COLUMNS.deleted, ...first.map(fieldColumn)];
  const conflict = idCol
    ? job.mode === "insert"
      ? ` ON CONFLICT(${idCol}) DO NOTHING`
      : ` ON CONFLICT(${idCol}) DO UPDATE SET ${[...first.map((n) => `${fieldColumn(n)} = excluded.${fieldColumn(n)}`), `${SYSTEM_COLUMNS.updatedAt} = excluded.${SYSTEM_COLUMNS.updatedAt}`, `${SYSTEM_COLUMNS.deleted} = 0`].join(", ")}`
    : "";
  out.push(env.DATA.prepare(`INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})${conflict}`).bind(p.id, now, now, 0, ...first.map(val)));
  for (let i = 0; i < rest.length; i += MAX_COLS_PER_STATEMENT) {
    const part = rest.slice(i, i + MAX_COLS_PER_STATEMENT);
    out.push(env.DATA.prepare(`UPDATE ${table} SET ${part.map((n) => `${fieldColumn(n)} = ?`).join(", ")} WHERE ${SYSTEM_COLUMNS.id} = ?`).bind(...part.map(val), p.id));
  }
  return out;
}

export interface Checkpoint {
  runId: string;
  tenant: string;
  /** 1-based number of the page being committed (= runs.pages + 1 when read). */
  page: number;
  /** runs.error_rows when read: errors get seq error_rows + i. */
  errorRowsBefore: number;
  phase: "pages" | "done";
  nextLink: string | null;
  keyset: { modifiedon: string; version: number } | null;
  pendingDeltaLink: string | null;
  leaseUntil: number;
  /** Sync state to persist with this page (keyset cursor every page; delta link on the last page). */
  syncState?: { jobId: string; configHash: string; strategy: "delta" | "keyset"; deltaLink: string | null; keyset: { modifiedon: string; version: number } | null };
  /** Service-protection headroom seen since the last write; lowers the run's figures in the same batch. */
  headroom?: RunHeadroom | null;
}

/** `duplicate`: this page was committed already; `stopped`: the run ended (cancelled) — nothing was written. */
export type CommitResult = "committed" | "duplicate" | "stopped";

export async function commitPage(env: Env, prepared: PreparedPage, cp: Checkpoint): Promise<CommitResult> {
  const now = new Date().toISOString();
  const errRoom = Math.max(0, MAX_ERROR_ROWS_PER_RUN - cp.errorRowsBefore);
  const errs = prepared.errors.slice(0, errRoom);
  const c = prepared.counts;
  const stmts: D1PreparedStatement[] = [
    // The guard row. committed_at is NULL — a NOT NULL violation that rolls the whole batch back — when the run is no
    // longer active (cancelled while this page was being fetched): nothing of the page, its checkpoint or its sync
    // state lands after the run ended.
    env.DATA.prepare(
      "INSERT INTO run_pages (run_id, page, committed_at) SELECT ?, ?, CASE WHEN status IN ('queued','running') THEN ? END FROM runs WHERE id = ?",
    ).bind(cp.runId, cp.page, now, cp.runId),
    ...prepared.statements,
    // Per-record errors: one statement per JSON chunk of [source_id, field, value, reason] (seq continues the run's).
    ...jsonChunks(errs.map((e) => JSON.stringify([e.sourceId, e.field, e.value, e.reason.slice(0, 1000)]))).map((c) =>
      env.DATA.prepare(
        `INSERT INTO run_errors (run_id, seq, tenant, source_id, field, value, reason)
         SELECT ?1, ?2 + key + 1, ?3, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each(?4)`,
      ).bind(cp.runId, cp.errorRowsBefore + c.offset, cp.tenant, c.json),
    ),
    env.DATA.prepare(
      `UPDATE runs SET pages = ?, read_count = read_count + ?, inserted_count = inserted_count + ?, updated_count = updated_count + ?,
        deleted_count = deleted_count + ?, skipped_count = skipped_count + ?, failed_count = failed_count + ?, error_rows = error_rows + ?,
        phase = ?, next_link = ?, keyset_modifiedon = ?, keyset_version = ?, pending_delta_link = ?, lease_until = ?, attempts = 0
       WHERE id = ? AND pages = ?`,
    ).bind(
      cp.page,
      c.read,
      c.inserted,
      c.updated,
      c.deleted,
      c.skipped,
      c.failed,
      errs.length,
      cp.phase,
      cp.nextLink,
      cp.keyset?.modifiedon ?? null,
      cp.keyset?.version ?? null,
      cp.pendingDeltaLink,
      cp.leaseUntil,
      cp.runId,
      cp.page - 1,
    ),
    ...prepared.notes.map((n) =>
      env.DATA.prepare("UPDATE runs SET notes = json_insert(notes, '$[#]', ?) WHERE id = ? AND NOT EXISTS (SELECT 1 FROM json_each(runs.notes) WHERE value = ?)").bind(n, cp.runId, n),
    ),
  ];
  if (cp.headroom) stmts.push(lowerHeadroomStatement(env, cp.runId, cp.headroom));
  if (cp.syncState) {
    const s = cp.syncState;
    stmts.push(
      env.DATA.prepare(
        `INSERT INTO sync_state (tenant, job_id, config_hash, strategy, delta_link, keyset_modifiedon, keyset_version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant, job_id) DO UPDATE SET config_hash = excluded.config_hash, strategy = excluded.strategy, delta_link = excluded.delta_link,
           keyset_modifiedon = excluded.keyset_modifiedon, keyset_version = excluded.keyset_version, updated_at = excluded.updated_at`,
      ).bind(cp.tenant, s.jobId, s.configHash, s.strategy, s.deltaLink, s.keyset?.modifiedon ?? null, s.keyset?.version ?? null, now),
    );
  }
  try {
    await env.DATA.batch(stmts);
    return "committed";
  } catch (e) {
    if (e instanceof Error && /UNIQUE constraint failed: run_pages/i.test(e.message)) return "duplicate";
    if (e instanceof Error && /NOT NULL constraint failed: run_pages\.committed_at/i.test(e.message)) return "stopped";
    throw e;
  }
}
