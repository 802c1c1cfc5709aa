/**
 * The phases that plan one page's writes (sync/writer.ts runs them in order; the lookups phase is page-lookups.ts):
 * map the rows, ask what the page needs to know (which records exist, each lookup's matches, which deleted ids have a
 * record — all in ONE round trip, stores/record-ids.ts `PageReads`), identify existing records, plan the record writes,
 * plan the deletes. Every write becomes a statement for the page's single batch.
 */
import { v7 as timeOrderedId } from "uuid";
import type { AttributeInfo } from "#contract/metadata";
import type { Job } from "#contract/job";
import type { TargetObject } from "#contract/object";
import type { RunCounts, RunRecordError } from "#contract/run";
import { JSON_CHUNK_CHARS, jsonChunks } from "../stores/json-chunks";
import { fieldColumn } from "../stores/object-tables";
import type { Answer, FoundRecord, PageReads } from "../stores/record-ids";
import { deleteRecordsStatements, insertRecordsStatements, recordStatements, updateRecordsStatements, type ConflictRule } from "../stores/record-writes";
import { compileMapping } from "./mapper";

export interface PageInput {
  tenant: string;
  /** The Dynamics organization the rows come from (object-tables.ts `orgKey`): records and lookups are scoped to it. */
  org: string;
  job: Job;
  object: TargetObject;
  /** Objects referenced by the job's lookups, by lower-case name. */
  lookupObjects: Map<string, TargetObject>;
  attributes: AttributeInfo[];
  rows: Array<Record<string, unknown>>;
  /** Source primary ids removed in Dataverse ($deletedEntity). */
  deletedIds: string[];
}

/** What planning found out about the page: counts, per-record errors, notes for the run. Each phase adds to it. */
export interface PageOutcome {
  counts: RunCounts;
  errors: RunRecordError[];
  notes: string[];
}

/** A source row that mapped cleanly, on its way to a target record. */
export interface PageRecord {
  sourceId: string;
  row: Record<string, unknown>;
  fields: Record<string, unknown>;
  /** The target record's `_id`: the existing one, or a new one. */
  id: string;
  exists: boolean;
  /** The existing record is a legacy row (written before records were scoped to their organization): this write adopts it. */
  legacy: boolean;
}

/** The job's match key: its first identifier's target field and column, or null (no identifier). */
function identifier(job: Job): { field: string; column: string } | null {
  const field = job.identifiers[0]?.target;
  return field ? { field, column: fieldColumn(field) } : null;
}

/** 1. Map every row; a row that fails to convert becomes per-record errors (counted failed). */
export function mapRows(input: PageInput, outcome: PageOutcome): PageRecord[] {
  const { job, object } = input;
  const records: PageRecord[] = [];
  const map = compileMapping(job, input.attributes, object);
  for (const row of input.rows) {
    const r = map(row);
    if (r.errors.length) {
      outcome.errors.push(...r.errors);
      outcome.counts.failed++;
      continue;
    }
    records.push({ sourceId: r.sourceId, row, fields: r.fields, id: "", exists: false, legacy: false });
  }
  return records;
}

/** 2a. The existence read: the page's identifier values, within the page's organization (legacy rows included). */
export function readExisting(reads: PageReads, table: string, job: Job, records: PageRecord[]): Answer<Map<string, FoundRecord>> | null {
  const ident = identifier(job);
  if (!ident) return null;
  return reads.byColumn(
    table,
    ident.column,
    records.map((p) => p.fields[ident.field]),
  );
}

/**
 * 2b. Which records exist, from the existence read (a legacy row with the identifier counts too, and is adopted by the
 * write). The answer stays true inside this page's batch: a duplicate or concurrent step of the same run rolls its
 * whole batch back on the page guard. A record repeated within the page is, from its second occurrence on, the row its
 * first occurrence inserts (same _id; counted as an update).
 */
export function identifyExisting(job: Job, records: PageRecord[], existing: Map<string, FoundRecord>): void {
  const ident = identifier(job);
  const insertedHere = new Map<string, string>();
  const newId = timeOrderedIds();
  for (const p of records) {
    const key = ident ? String(p.fields[ident.field]) : null;
    const found = key === null ? undefined : existing.get(key);
    const hit = found?.id ?? (key === null ? undefined : insertedHere.get(key));
    p.exists = hit !== undefined;
    p.legacy = found?.legacy ?? false;
    p.id = hit ?? newId();
    if (key !== null && !p.exists && job.mode !== "update") insertedHere.set(key, p.id);
  }
}

/** Random bytes per refill of a page's id source: 4,096 ids (getRandomValues gives at most 65,536 bytes a call). */
const ID_POOL_BYTES = 65_536;

/**
 * The page's source of new record `_id`s, time-ordered (UUIDv7) so the primary key's B-tree grows at its end instead
 * of at random places: one timestamp for the page and a counter from a random start (RFC 9562's monotonic counter,
 * as `uuid` keeps per process), with random bytes drawn 4,096 ids at a time. `uuid`'s own draw per id took 30 ms of a
 * 5,000-row page in Node; this takes 5.
 */
function timeOrderedIds(): () => string {
  const msecs = Date.now();
  const pool = new Uint8Array(ID_POOL_BYTES);
  let used = ID_POOL_BYTES;
  let seq = -1;
  return () => {
    if (used === ID_POOL_BYTES) {
      crypto.getRandomValues(pool);
      used = 0;
      if (seq < 0) seq = ((pool[0]! & 0x7f) << 24) | (pool[1]! << 16) | (pool[2]! << 8) | pool[3]!; // 31 bits: room to count up
    }
    const random = pool.subarray(used, used + 16);
    used += 16;
    return timeOrderedId({ msecs, seq: seq++, random });
  };
}

/**
 * 4. Record statements, set-based: records grouped by their field names (in practice one group), each group as
 * `[ _id, field values… ]` arrays in one JSON parameter per chunk. Upsert writes new and existing records through one
 * INSERT … ON CONFLICT(_org, identifier) DO UPDATE (an existing row keeps its _id and _created_at); insert mode skips
 * existing records, update mode skips missing ones and UPDATEs the rows found. A legacy row (no organization) is
 * UPDATEd by its _id and takes the page's organization: ON CONFLICT can't meet it, its `_org` differs.
 */
export function planRecordWrites(
  db: D1Database,
  table: string,
  org: string,
  job: Job,
  records: PageRecord[],
  dropped: Set<PageRecord>,
  now: string,
  outcome: PageOutcome,
): D1PreparedStatement[] {
  const { counts } = outcome;
  const toInsert: PageRecord[] = [];
  const toUpdate: PageRecord[] = [];
  for (const p of records) {
    if (dropped.has(p)) continue;
    if ((job.mode === "insert" && p.exists) || (job.mode === "update" && !p.exists)) {
      counts.skipped++;
      continue;
    }
    if (p.exists) counts.updated++;
    else counts.inserted++;
    (job.mode === "update" || p.legacy ? toUpdate : toInsert).push(p);
  }
  const rule: ConflictRule = { idColumn: identifier(job)?.column ?? null, mode: job.mode, org };
  const statements: D1PreparedStatement[] = [];
  for (const [names, group] of groupByNames(toInsert)) {
    const { chunks, oversized } = recordChunks(group, names, true);
    statements.push(...insertRecordsStatements(db, table, names, rule, now, chunks));
    for (const p of oversized) statements.push(...recordStatements(db, table, rule, p, names, now));
  }
  // Update mode: a record repeated in the page updates its row once, with its last occurrence (as sequential UPDATEs would).
  const lastById = new Map<string, PageRecord>();
  for (const p of toUpdate) {
    lastById.delete(p.id);
    lastById.set(p.id, p);
  }
  for (const [names, group] of groupByNames([...lastById.values()])) {
    const { chunks, oversized } = recordChunks(group, names, false);
    statements.push(...updateRecordsStatements(db, table, names, org, now, chunks));
    for (const p of oversized) statements.push(...recordStatements(db, table, rule, p, names, now));
  }
  return statements;
}

/** The identifier deletes are matched through: the one whose source is the entity's primary id, if any. */
function deleteIdentifier(job: Job): Job["identifiers"][number] | undefined {
  const primary = `${job.source.entity}id`;
  return job.identifiers.find((i) => i.source === primary);
}

/** 5a. The deletes' read: which of the deleted ids have a record (nothing to read when deletes are ignored or can't match). */
export function readDeletes(reads: PageReads, table: string, job: Job, deletedIds: string[]): Answer<Map<string, FoundRecord>> | null {
  const ident = deleteIdentifier(job);
  if (!deletedIds.length || job.deletes === "ignore" || !ident) return null;
  return reads.byColumn(
    table,
    fieldColumn(ident.target),
    deletedIds.map((d) => d.toLowerCase()),
  );
}

/**
 * 5b. Deletes, only from explicit delete signals (change tracking's $deletedEntity), matched through the identifier
 * whose source is the entity's primary id, within the page's organization (`present`: readDeletes' answer); without
 * such an identifier they are counted as skipped and the run carries a note.
 */
export function planDeletes(
  db: D1Database,
  table: string,
  job: Job,
  deletedIds: string[],
  present: Map<string, FoundRecord> | null,
  now: string,
  outcome: PageOutcome,
): D1PreparedStatement[] {
  const { counts } = outcome;
  if (!deletedIds.length) return [];
  if (job.deletes === "ignore") {
    counts.skipped += deletedIds.length;
    return [];
  }
  if (!deleteIdentifier(job) || !present) {
    counts.skipped += deletedIds.length;
    outcome.notes.push(`deletes not applied: the job's identifiers do not include ${job.source.entity}id`);
    return [];
  }
  const rids = new Set<string>();
  for (const id of deletedIds.map((d) => d.toLowerCase())) {
    const rid = present.get(id)?.id;
    if (!rid) {
      counts.skipped++;
      continue;
    }
    rids.add(rid);
    counts.deleted++;
  }
  const chunks = jsonChunks([...rids]).map((c) => c.json);
  return deleteRecordsStatements(db, table, job.deletes !== "delete", now, chunks);
}

/** Records by the list of their field names (every record of a job normally has the same ones). */
function groupByNames(records: PageRecord[]): Map<string[], PageRecord[]> {
  const bySig = new Map<string, { names: string[]; list: PageRecord[] }>();
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
function recordChunks(records: PageRecord[], names: string[], forInsert: boolean): { chunks: string[]; oversized: PageRecord[] } {
  const rows = records.map((p) => {
    // An existing record inserted again gets a throwaway _id: only the identifier's UNIQUE index conflicts (→ DO UPDATE),
    // never the primary key; the row keeps its _id.
    const arr: unknown[] = [forInsert && p.exists ? crypto.randomUUID() : p.id];
    for (const n of names) arr.push(p.fields[n] ?? null);
    return arr;
  });
  const chunks: string[] = [];
  const oversized: PageRecord[] = [];
  for (const c of jsonChunks(rows)) {
    if (c.json.length > JSON_CHUNK_CHARS) oversized.push(records[c.offset]!);
    else chunks.push(c.json);
  }
  return { chunks, oversized };
}
