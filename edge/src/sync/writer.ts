/**
 * Turns one fetched page into ONE D1 batch (= one transaction): `preparePage` plans it (page-plan.ts, page-lookups.ts),
 * `commitPage` commits the page guard, the record writes, the run's per-record errors, the run checkpoint (cursor +
 * counts), notes, headroom, the job's sync state and (last page) lookup watermarks together. The guard goes first (stores/run-pages.ts): a page
 * committed already rolls the whole batch back (`duplicate`), as does a page of a run that ended meanwhile
 * (`stopped`), so a cancel takes effect atomically and nothing is written twice.
 */
import type { RunHeadroom } from "#contract/run";
import type { Env } from "../env";
import { objectTable } from "../stores/object-tables";
import { dbFor } from "../stores/shards";
import { errorsWithinCap, insertRunErrorsStatements } from "../stores/run-errors";
import { guardRefusal, pageGuardStatement } from "../stores/run-pages";
import { appendNoteStatement, checkpointStatement, lowerHeadroomStatement, type RunCheckpoint } from "../stores/runs";
import { saveLookupWatermarksStatements, saveSyncStateStatement, type SyncState } from "../stores/sync-state";
import { PageReads } from "../stores/record-ids";
import { readLookups, resolveLookups } from "./page-lookups";
import { identifyExisting, mapRows, planDeletes, planRecordWrites, readDeletes, readExisting, type PageInput, type PageOutcome } from "./page-plan";

export interface PreparedPage extends PageOutcome {
  statements: D1PreparedStatement[];
}

/**
 * Plans a page: map, ONE round trip for everything the page must know (existing records, lookup matches, deleted ids
 * with a record), identify existing records, lookups, record writes, deletes. Writes nothing.
 */
export async function preparePage(env: Env, input: PageInput): Promise<PreparedPage> {
  const { job, object, tenant } = input;
  const outcome: PageOutcome = {
    counts: { read: input.rows.length + input.deletedIds.length, inserted: 0, updated: 0, deleted: 0, skipped: 0, failed: 0 },
    errors: [],
    notes: [],
  };
  const table = await objectTable(tenant, object.name);
  const now = new Date().toISOString();
  const records = mapRows(input, outcome);
  const db = await dbFor(env, tenant);
  const reads = new PageReads(db, input.org);
  const existing = readExisting(reads, table, job, records);
  const lookups = await readLookups(input, records, reads);
  const present = readDeletes(reads, table, job, input.deletedIds);
  await reads.run();
  identifyExisting(job, records, existing?.() ?? new Map());
  const dropped = resolveLookups(input, records, lookups, outcome);
  const statements = [
    ...planRecordWrites(db, table, input.org, job, records, dropped, now, outcome),
    ...planDeletes(db, table, job, input.deletedIds, present?.() ?? null, now, outcome),
  ];
  return { statements, ...outcome };
}

interface Checkpoint extends Omit<RunCheckpoint, "counts" | "errorRows"> {
  runId: string;
  tenant: string;
  /** runs.error_rows when read: errors get seq error_rows + i. */
  errorRowsBefore: number;
  /** Sync state to persist with this page (keyset cursor every page; delta link on the last page). */
  syncState?: SyncState & { jobId: string };
  /** Service-protection headroom seen since the last write; lowers the run's figures in the same batch. */
  headroom?: RunHeadroom | null;
  /** The run's last page: the looked-up tables' watermarks for the next run's refresh (sync-state.ts). */
  watermarks?: { jobId: string; values: Record<string, number> };
}

/** `duplicate`: this page was committed already; `stopped`: the run ended (cancelled) — nothing was written. */
export type CommitResult = "committed" | "duplicate" | "stopped";

export async function commitPage(env: Env, prepared: PreparedPage, cp: Checkpoint): Promise<CommitResult> {
  const now = new Date().toISOString();
  const errs = errorsWithinCap(prepared.errors, cp.errorRowsBefore);
  const db = await dbFor(env, cp.tenant); // the page's record statements were prepared on this shard too
  const position: D1PreparedStatement[] = [checkpointStatement(db, cp.runId, { ...cp, counts: prepared.counts, errorRows: errs.length })];
  if (cp.syncState) position.push(saveSyncStateStatement(db, cp.tenant, cp.syncState.jobId, cp.syncState, now));
  if (cp.watermarks) position.push(...saveLookupWatermarksStatements(db, cp.tenant, cp.watermarks.jobId, cp.watermarks.values, now));
  return commitGuarded(db, prepared, { ...cp, guardPage: cp.page, errorSeqBase: cp.errorRowsBefore, errors: errs }, position);
}

/** What a page's batch needs besides its records and its position: the guard, the error rows to keep, headroom. */
export interface GuardedPage {
  runId: string;
  tenant: string;
  /** The page guard's number (stores/run-pages.ts): the page's own, or a partition's (stores/run-partitions.ts). */
  guardPage: number;
  /** Error rows get seq errorSeqBase + 1, + 2, … */
  errorSeqBase: number;
  errors: PreparedPage["errors"];
  headroom?: RunHeadroom | null;
}

/** ONE batch: the guard first, the records, error rows, the position statements (checkpoints, sync state), notes, headroom. */
export async function commitGuarded(db: D1Database, prepared: PreparedPage, g: GuardedPage, position: D1PreparedStatement[]): Promise<CommitResult> {
  const stmts: D1PreparedStatement[] = [
    pageGuardStatement(db, g.runId, g.guardPage, new Date().toISOString()),
    ...prepared.statements,
    ...insertRunErrorsStatements(db, g.runId, g.tenant, g.errorSeqBase, g.errors),
    ...position,
    ...prepared.notes.map((n) => appendNoteStatement(db, g.runId, n)),
  ];
  if (g.headroom) stmts.push(lowerHeadroomStatement(db, g.runId, g.headroom));
  try {
    await db.batch(stmts);
    return "committed";
  } catch (e) {
    const refused = guardRefusal(e);
    if (refused) return refused;
    throw e;
  }
}
