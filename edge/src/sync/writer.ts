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
import { resolveLookups } from "./page-lookups";
import { identifyExisting, mapRows, planDeletes, planRecordWrites, type PageInput, type PageOutcome } from "./page-plan";

export interface PreparedPage extends PageOutcome {
  statements: D1PreparedStatement[];
}

/** Plans a page in five phases: map, identify existing records, lookups, record writes, deletes. Writes nothing. */
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
  await identifyExisting(db, table, input.org, job, records);
  const dropped = await resolveLookups(env, input, records, outcome);
  const statements = [
    ...planRecordWrites(db, table, input.org, job, records, dropped, now, outcome),
    ...(await planDeletes(db, table, input.org, job, input.deletedIds, now, outcome)),
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
type CommitResult = "committed" | "duplicate" | "stopped";

export async function commitPage(env: Env, prepared: PreparedPage, cp: Checkpoint): Promise<CommitResult> {
  const now = new Date().toISOString();
  const errs = errorsWithinCap(prepared.errors, cp.errorRowsBefore);
  const db = await dbFor(env, cp.tenant); // the page's record statements were prepared on this shard too
  const stmts: D1PreparedStatement[] = [
    pageGuardStatement(db, cp.runId, cp.page, now),
    ...prepared.statements,
    ...insertRunErrorsStatements(db, cp.runId, cp.tenant, cp.errorRowsBefore, errs),
    checkpointStatement(db, cp.runId, { ...cp, counts: prepared.counts, errorRows: errs.length }),
    ...prepared.notes.map((n) => appendNoteStatement(db, cp.runId, n)),
  ];
  if (cp.headroom) stmts.push(lowerHeadroomStatement(db, cp.runId, cp.headroom));
  if (cp.syncState) stmts.push(saveSyncStateStatement(db, cp.tenant, cp.syncState.jobId, cp.syncState, now));
  if (cp.watermarks) stmts.push(...saveLookupWatermarksStatements(db, cp.tenant, cp.watermarks.jobId, cp.watermarks.values, now));
  try {
    await db.batch(stmts);
    return "committed";
  } catch (e) {
    const refused = guardRefusal(e);
    if (refused) return refused;
    throw e;
  }
}
