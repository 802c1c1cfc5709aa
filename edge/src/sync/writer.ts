/**
 * Turns one fetched page into ONE D1 batch (= one transaction): the page-log guard, the record writes, the run's
 * per-record errors, the run checkpoint (cursor + counts) and, on the last page, the job's sync state.
 * The guard row (run_id, page) goes first: if this page was already committed (a retried or duplicated step), its
 * primary key fails, the whole batch rolls back and `commitPage` reports `duplicate` — nothing is written twice.
 * The same row refuses a page of a run that is no longer active (`stopped`), so a cancel takes effect atomically.
 */
import type { AttributeInfo } from "../contract/metadata";
import type { Job, Lookup } from "../contract/job";
import type { TargetObject } from "../contract/object";
import type { RunCounts, RunHeadroom, RunRecordError } from "../contract/run";
import type { Env } from "../env";
import { fieldColumn, objectTable, SYSTEM_COLUMNS } from "../stores/object-tables";
import { printable } from "./convert";
import { mapRecord, rowKey, sourceIdOf } from "./mapper";
import { lowerHeadroomStatement } from "./runs-store";

export const MAX_ERROR_ROWS_PER_RUN = 5_000;
const IN_CHUNK = 90; // D1: at most 100 bound parameters per statement
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

/** Existing target rows by one column's values → _id. */
async function existingBy(env: Env, table: string, column: string, values: unknown[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const distinct = [...new Set(values.filter((v) => v !== null && v !== undefined).map((v) => String(v)))];
  for (let i = 0; i < distinct.length; i += IN_CHUNK) {
    const chunk = distinct.slice(i, i + IN_CHUNK);
    const { results } = await env.DATA.prepare(`SELECT ${SYSTEM_COLUMNS.id} AS id, ${column} AS k FROM ${table} WHERE ${column} IN (${chunk.map(() => "?").join(",")})`)
      .bind(...chunk)
      .all<{ id: string; k: unknown }>();
    for (const r of results) out.set(String(r.k), r.id);
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

  // 2. identify existing target rows
  const existing = idField && idCol ? await existingBy(env, table, idCol, mapped.map((p) => p.fields[idField])) : new Map<string, string>();
  for (const p of mapped) {
    const hit = idField ? existing.get(String(p.fields[idField])) : undefined;
    p.exists = hit !== undefined;
    p.id = hit ?? crypto.randomUUID();
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
      const where = lookup.match.map((m) => `${fieldColumn(m.field)} = ?`).join(" AND ");
      const list = [...distinct.values()];
      for (let i = 0; i < list.length; i += 200) {
        const chunk = list.slice(i, i + 200);
        const res = await env.DATA.batch(chunk.map((t) => env.DATA.prepare(`SELECT ${SYSTEM_COLUMNS.id} AS id FROM ${ltable} WHERE ${where} LIMIT 1`).bind(...t.map((v) => v as string))));
        res.forEach((r, j) => {
          const id = (r.results[0] as { id?: string } | undefined)?.id;
          if (id) found.set(keyOf(chunk[j]!), id);
        });
      }
    }
    if (isSelf) {
      for (const p of mapped) {
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

  // 4. record statements
  const statements: D1PreparedStatement[] = [];
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
    const names = Object.keys(p.fields);
    const first = names.slice(0, MAX_COLS_PER_STATEMENT);
    const rest = names.slice(MAX_COLS_PER_STATEMENT);
    if (p.exists || job.mode === "update") {
      for (let i = 0; i < names.length; i += MAX_COLS_PER_STATEMENT) {
        const part = names.slice(i, i + MAX_COLS_PER_STATEMENT);
        statements.push(
          env.DATA.prepare(
            `UPDATE ${table} SET ${part.map((n) => `${fieldColumn(n)} = ?`).join(", ")}, ${SYSTEM_COLUMNS.updatedAt} = ?, ${SYSTEM_COLUMNS.deleted} = 0 WHERE ${SYSTEM_COLUMNS.id} = ?`,
          ).bind(...part.map((n) => p.fields[n] as string), now, p.id),
        );
      }
      counts.updated++;
    } else {
      const cols = [SYSTEM_COLUMNS.id, SYSTEM_COLUMNS.createdAt, SYSTEM_COLUMNS.updatedAt, SYSTEM_COLUMNS.deleted, ...first.map(fieldColumn)];
      const conflict = idCol
        ? job.mode === "insert"
          ? ` ON CONFLICT(${idCol}) DO NOTHING`
          : ` ON CONFLICT(${idCol}) DO UPDATE SET ${[...first.map((n) => `${fieldColumn(n)} = excluded.${fieldColumn(n)}`), `${SYSTEM_COLUMNS.updatedAt} = excluded.${SYSTEM_COLUMNS.updatedAt}`, `${SYSTEM_COLUMNS.deleted} = 0`].join(", ")}`
        : "";
      statements.push(
        env.DATA.prepare(`INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})${conflict}`).bind(
          p.id,
          now,
          now,
          0,
          ...first.map((n) => p.fields[n] as string),
        ),
      );
      for (let i = 0; i < rest.length; i += MAX_COLS_PER_STATEMENT) {
        const part = rest.slice(i, i + MAX_COLS_PER_STATEMENT);
        statements.push(
          env.DATA.prepare(`UPDATE ${table} SET ${part.map((n) => `${fieldColumn(n)} = ?`).join(", ")} WHERE ${SYSTEM_COLUMNS.id} = ?`).bind(
            ...part.map((n) => p.fields[n] as string),
            p.id,
          ),
        );
      }
      counts.inserted++;
    }
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
      for (const id of ids) {
        const rid = present.get(id);
        if (!rid) {
          counts.skipped++;
          continue;
        }
        statements.push(
          job.deletes === "delete"
            ? env.DATA.prepare(`DELETE FROM ${table} WHERE ${SYSTEM_COLUMNS.id} = ?`).bind(rid)
            : env.DATA.prepare(`UPDATE ${table} SET ${SYSTEM_COLUMNS.deleted} = 1, ${SYSTEM_COLUMNS.updatedAt} = ? WHERE ${SYSTEM_COLUMNS.id} = ?`).bind(now, rid),
        );
        counts.deleted++;
      }
    }
  }
  return { statements, counts, errors, notes };
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
    ...errs.map((e, i) =>
      env.DATA.prepare("INSERT INTO run_errors (run_id, seq, tenant, source_id, field, value, reason) VALUES (?, ?, ?, ?, ?, ?, ?)").bind(
        cp.runId,
        cp.errorRowsBefore + i + 1,
        cp.tenant,
        e.sourceId,
        e.field,
        e.value,
        e.reason.slice(0, 1000),
      ),
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
