/**
 * Run history in D1 (table `runs`, see migrations/0002_sync.sql): create atomically, read, list, move through the
 * run's life (init → pages → end), and the checkpoint a page commits. The row is the run's only state: the engine
 * keeps nothing else between steps. Statements a page batch needs are builders; everything else runs here.
 */
import type { LastSync } from "#contract/connection";
import type { RunErrorCode } from "#contract/errors";
import type { Run, RunCounts, RunHeadroom, RunStatus, RunSummary, RunTrigger } from "#contract/run";
import type { Env } from "../env";
import { forgetPartitionsStatement } from "./run-partitions";
import { allShardDbs, dbFor } from "./shards";

export interface RunRow {
  id: string;
  tenant: string;
  job_id: string;
  trigger: RunTrigger;
  status: RunStatus;
  strategy: "full" | "delta" | "keyset" | null;
  /** 'reconcile': reads primary ids only and sweeps at the end (migration 0008, sync/reconcile.ts); 'sync' otherwise. */
  kind: RunKind;
  /** A reconciliation's own delete threshold (% of the known records) when its request set one; else the deployment's. */
  max_delete_percent: number | null;
  parent_run_id: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  read_count: number;
  inserted_count: number;
  updated_count: number;
  deleted_count: number;
  skipped_count: number;
  failed_count: number;
  error_rows: number;
  pages: number;
  total_estimate: number | null;
  notes: string;
  error_code: RunErrorCode | null;
  error_message: string | null;
  phase: "init" | "pages" | "done";
  plan: string | null;
  next_link: string | null;
  keyset_modifiedon: string | null;
  keyset_version: number | null;
  pending_delta_link: string | null;
  lease_until: number | null;
  attempts: number;
  /** Lowest service-protection figures seen during the run (migration 0003); null when none was reported. */
  headroom_requests: number | null;
  headroom_time_ms: number | null;
}

export type RunKind = "sync" | "reconcile";

/** A keyset read's position: the (modifiedon, versionnumber) of the last row written. */
interface KeysetPosition {
  modifiedon: string;
  version: number;
}

/** Only a run in these states may change; every write below that must not touch an ended run says so. */
const ACTIVE = "status IN ('queued','running')";

export class RunInProgressError extends Error {
  constructor(readonly activeRunId: string | null) {
    super("A run of this job is already queued or running");
  }
}

// ---- the wire shape ------------------------------------------------------------------------------------------------

function countsOf(r: Pick<RunRow, "read_count" | "inserted_count" | "updated_count" | "deleted_count" | "skipped_count" | "failed_count">): RunCounts {
  return {
    read: r.read_count,
    inserted: r.inserted_count,
    updated: r.updated_count,
    deleted: r.deleted_count,
    skipped: r.skipped_count,
    failed: r.failed_count,
  };
}

export function toRun(r: RunRow): Run {
  const notes = safeJson<string[]>(r.notes, []);
  return {
    id: r.id,
    jobId: r.job_id,
    trigger: r.trigger,
    status: r.status,
    ...(r.kind === "reconcile" ? { strategy: "reconcile" as const } : r.strategy ? { strategy: r.strategy } : {}),
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    counts: countsOf(r),
    ...(r.status === "running" || r.status === "queued" || r.pages > 0
      ? { progress: { pages: r.pages, rowsSeen: r.read_count, ...(r.total_estimate !== null ? { totalEstimate: r.total_estimate } : {}) } }
      : {}),
    ...(notes.length ? { notes } : {}),
    error: r.error_code ? { code: r.error_code, message: r.error_message ?? "" } : null,
    ...(r.headroom_requests !== null && r.headroom_requests !== undefined ? { headroom: headroomOf(r) } : {}),
  };
}

function headroomOf(r: Pick<RunRow, "headroom_requests" | "headroom_time_ms">): RunHeadroom {
  return {
    requestsRemaining: r.headroom_requests!,
    ...(r.headroom_time_ms !== null && r.headroom_time_ms !== undefined ? { timeRemainingMs: r.headroom_time_ms } : {}),
  };
}

function safeJson<T>(s: string | null, fallback: T): T {
  if (!s) return fallback;
  try {
    return JSON.parse(s) as T;
  } catch {
    return fallback;
  }
}

// ---- create and read -----------------------------------------------------------------------------------------------

const isUniqueViolation = (e: unknown) => e instanceof Error && /UNIQUE constraint failed/i.test(e.message);

/** What kind of run to create: a sync (default) or a reconciliation, with its own delete threshold if asked for. */
export interface RunKindOptions {
  kind?: RunKind;
  maxDeletePercent?: number | null;
  /** The run's id when the caller derives it (a scheduled tick's: a repeated queue message hits the primary key). */
  id?: string;
  /**
   * A manual run is not created (ManualRunLimitError) when the tenant already started this many runs by hand in the
   * last hour. Counted inside the INSERT: concurrent starts can't overshoot (D1 runs statements one at a time).
   */
  manualRunsPerHour?: number;
}

/** The tenant started its quota of runs by hand in the last hour (RunKindOptions.manualRunsPerHour). */
export class ManualRunLimitError extends Error {
  constructor(readonly limit: number) {
    super(`At most ${limit} runs started by hand per hour`);
  }
}

/** Inserts a queued run; the partial unique index makes a second active run of the same job fail → RunInProgressError. */
export async function createRun(
  env: Env,
  tenant: string,
  jobId: string,
  trigger: RunTrigger,
  parentRunId: string | null = null,
  opts: RunKindOptions = {},
): Promise<RunRow> {
  const db = await dbFor(env, tenant);
  const id = opts.id ?? crypto.randomUUID();
  const at = Date.now();
  const now = new Date(at).toISOString();
  const limit = trigger === "manual" ? (opts.manualRunsPerHour ?? null) : null;
  let inserted: number;
  try {
    const r = await db
      .prepare(
        `INSERT INTO runs (id, tenant, job_id, trigger, status, parent_run_id, created_at, lease_until, kind, max_delete_percent)
       SELECT ?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7, ?8, ?9
       WHERE ?10 IS NULL OR (SELECT COUNT(*) FROM runs WHERE tenant = ?2 AND trigger = 'manual' AND created_at > ?11) < ?10`,
      )
      .bind(
        id,
        tenant,
        jobId,
        trigger,
        parentRunId,
        now,
        at + 120_000,
        opts.kind ?? "sync",
        opts.maxDeletePercent ?? null,
        limit,
        new Date(at - 3_600_000).toISOString(),
      )
      .run();
    inserted = r.meta.changes ?? 0;
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    const active = await activeRun(env, tenant, jobId);
    throw new RunInProgressError(active?.id ?? null);
  }
  if (inserted === 0 && limit !== null) throw new ManualRunLimitError(limit);
  const row = await getRunRow(env, tenant, id);
  if (!row) throw new Error("invariant: the run just inserted is not readable");
  return row;
}

/**
 * How many chain hops led to this run: 0 for a run started by hand or by a schedule, its parent's depth + 1 for a chained
 * one. One recursive query up `parent_run_id` (primary-key probes); stops counting above `cap`.
 */
export async function chainDepth(env: Env, tenant: string, runId: string, cap: number): Promise<number> {
  const db = await dbFor(env, tenant);
  const row = await db
    .prepare(
      `WITH RECURSIVE up(id, parent, depth) AS (
       SELECT id, parent_run_id, 0 FROM runs WHERE id = ?1 AND tenant = ?2
       UNION ALL
       SELECT r.id, r.parent_run_id, up.depth + 1 FROM runs r JOIN up ON r.id = up.parent AND r.tenant = ?2 WHERE up.depth <= ?3
     )
     SELECT MAX(depth) AS depth FROM up`,
    )
    .bind(runId, tenant, cap)
    .first<{ depth: number | null }>();
  return row?.depth ?? 0;
}

export async function getRunRow(env: Env, tenant: string, runId: string): Promise<RunRow | null> {
  const db = await dbFor(env, tenant);
  return db.prepare("SELECT * FROM runs WHERE id = ? AND tenant = ?").bind(runId, tenant).first<RunRow>();
}

async function activeRun(env: Env, tenant: string, jobId: string): Promise<RunRow | null> {
  const db = await dbFor(env, tenant);
  return db.prepare(`SELECT * FROM runs WHERE tenant = ? AND job_id = ? AND ${ACTIVE}`).bind(tenant, jobId).first<RunRow>();
}

export async function listRuns(env: Env, tenant: string, jobId: string, limit = 50, before?: string): Promise<RunRow[]> {
  const db = await dbFor(env, tenant);
  const { results } = before
    ? await db
        .prepare("SELECT * FROM runs WHERE tenant = ? AND job_id = ? AND created_at < ? ORDER BY created_at DESC, id DESC LIMIT ?")
        .bind(tenant, jobId, before, limit)
        .all<RunRow>()
    : await db.prepare("SELECT * FROM runs WHERE tenant = ? AND job_id = ? ORDER BY created_at DESC, id DESC LIMIT ?").bind(tenant, jobId, limit).all<RunRow>();
  return results;
}

/** Active runs whose runner stopped renewing its lease (alarm lost, process restarted), in every shard. */
export async function staleRuns(env: Env, now: number, limit = 100): Promise<Array<Pick<RunRow, "id" | "tenant" | "job_id">>> {
  const shards = allShardDbs(env);
  const perShard = Math.ceil(limit / shards.length); // a shard with many stale runs can't starve another's
  const out: Array<Pick<RunRow, "id" | "tenant" | "job_id">> = [];
  for (const { db } of shards) {
    const { results } = await db
      .prepare(`SELECT id, tenant, job_id FROM runs WHERE ${ACTIVE} AND (lease_until IS NULL OR lease_until < ?) LIMIT ?`)
      .bind(now, perShard)
      .all<Pick<RunRow, "id" | "tenant" | "job_id">>();
    out.push(...results);
  }
  return out;
}

/** What GET /connections needs of a job's latest finished run: its lastSync, and the headroom it saw. */
export interface FinishedRunSummary extends LastSync {
  headroom: RunHeadroom | null;
}

/**
 * The latest finished run of each of `jobIds` (the tenant's jobs, listed from KV), by job id — one query: the ids
 * travel as one JSON parameter and each job's run is found through the index runs_finished_by_job (one index probe per
 * job, however long the history).
 */
export async function latestFinishedRuns(env: Env, tenant: string, jobIds: string[]): Promise<Map<string, FinishedRunSummary>> {
  if (!jobIds.length) return new Map();
  const db = await dbFor(env, tenant);
  const { results } = await db
    .prepare(
      `SELECT r.id, r.job_id, r.status, r.finished_at, r.headroom_requests, r.headroom_time_ms
       FROM json_each(?1) AS j
       JOIN runs AS r ON r.id = (
         SELECT id FROM runs WHERE tenant = ?2 AND job_id = j.value AND finished_at IS NOT NULL ORDER BY finished_at DESC, id DESC LIMIT 1
       )`,
    )
    .bind(JSON.stringify(jobIds), tenant)
    .all<Pick<RunRow, "id" | "job_id" | "finished_at" | "headroom_requests" | "headroom_time_ms"> & { status: FinishedRunSummary["status"] }>();
  return new Map(
    results.map((r) => [
      r.job_id,
      { runId: r.id, jobId: r.job_id, status: r.status, finishedAt: r.finished_at!, headroom: r.headroom_requests !== null ? headroomOf(r) : null },
    ]),
  );
}

/**
 * The latest run (by creation: queued, running or ended) of each of `jobIds`, by job id; a job that never ran is absent.
 * One query for any number of jobs, as latestFinishedRuns: the ids travel as one JSON parameter and each job's run is
 * one probe of the index runs_by_job (tenant, job_id, created_at DESC). Only `tenant`'s runs are read.
 */
export async function latestRuns(env: Env, tenant: string, jobIds: string[]): Promise<Map<string, RunSummary>> {
  if (!jobIds.length) return new Map();
  const db = await dbFor(env, tenant);
  type Row = Pick<
    RunRow,
    | "id"
    | "job_id"
    | "trigger"
    | "status"
    | "created_at"
    | "started_at"
    | "finished_at"
    | "read_count"
    | "inserted_count"
    | "updated_count"
    | "deleted_count"
    | "skipped_count"
    | "failed_count"
    | "error_code"
  >;
  const { results } = await db
    .prepare(
      `SELECT r.id, r.job_id, r.trigger, r.status, r.created_at, r.started_at, r.finished_at, r.read_count, r.inserted_count, r.updated_count,
            r.deleted_count, r.skipped_count, r.failed_count, r.error_code
       FROM json_each(?1) AS j
       JOIN runs AS r ON r.tenant = ?2 AND r.id = (
         SELECT id FROM runs WHERE tenant = ?2 AND job_id = j.value ORDER BY created_at DESC, id DESC LIMIT 1
       )`,
    )
    .bind(JSON.stringify(jobIds), tenant)
    .all<Row>();
  return new Map(
    results.map((r) => [
      r.job_id,
      {
        id: r.id,
        trigger: r.trigger,
        status: r.status,
        createdAt: r.created_at,
        startedAt: r.started_at,
        finishedAt: r.finished_at,
        counts: countsOf(r),
        error: r.error_code ? { code: r.error_code } : null,
      },
    ]),
  );
}

// ---- the run's life ------------------------------------------------------------------------------------------------

/** Where init fixed the read: the run reads pages from here on. */
interface ReadStart {
  /** null for a reconciliation (its kind says how it reads). */
  strategy: "full" | "delta" | "keyset" | null;
  /** The read plan as JSON (runs.plan), so a resumed run reads exactly the same way. */
  plan: string;
  nextLink: string | null;
  keyset: KeysetPosition | null;
  totalEstimate: number | null;
  leaseUntil: number;
}

/** init → pages. Only from init and while active: a run cancelled while it initialised stays cancelled. */
export async function startReading(db: D1Database, runId: string, s: ReadStart): Promise<void> {
  await startReadingStatement(db, runId, s).run();
}

export function startReadingStatement(db: D1Database, runId: string, s: ReadStart): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE runs SET status = 'running', started_at = COALESCE(started_at, ?), strategy = ?, plan = ?, phase = 'pages', next_link = ?, keyset_modifiedon = ?, keyset_version = ?, total_estimate = ?, lease_until = ? WHERE id = ? AND phase = 'init' AND ${ACTIVE}`,
    )
    .bind(
      new Date().toISOString(),
      s.strategy,
      s.plan,
      s.nextLink,
      s.keyset?.modifiedon ?? null,
      s.keyset?.version ?? null,
      s.totalEstimate,
      s.leaseUntil,
      runId,
    );
}

export async function touchLease(db: D1Database, runId: string, untilMs: number): Promise<void> {
  await db.prepare(`UPDATE runs SET lease_until = ? WHERE id = ? AND ${ACTIVE}`).bind(untilMs, runId).run();
}

/** A transient failure of the current step: counted (the run fails after too many) and the lease covers the wait. */
export async function countFailedAttempt(db: D1Database, runId: string, leaseUntil: number): Promise<void> {
  await db.prepare("UPDATE runs SET attempts = attempts + 1, lease_until = ? WHERE id = ?").bind(leaseUntil, runId).run();
}

/**
 * The SET expression that appends a note to `runs.notes` unless the run already carries it: every note is appended
 * this way, so a step that runs again (a retried page, a re-run init) never repeats one. `param` is the note's `?N`.
 */
const appendNote = (param: string) =>
  `notes = CASE WHEN EXISTS (SELECT 1 FROM json_each(runs.notes) WHERE value = ${param}) THEN notes ELSE json_insert(notes, '$[#]', ${param}) END`;

export function appendNoteStatement(db: D1Database, runId: string, note: string): D1PreparedStatement {
  return db.prepare(`UPDATE runs SET ${appendNote("?2")} WHERE id = ?1`).bind(runId, note);
}

/**
 * The stored delta token expired: the run reads everything again with change tracking, from `nextLink`, noting why.
 * Only while the run is active and still at the page it was at when the token was refused (`pagesSeen`).
 */
export function restartAsFullReadStatement(db: D1Database, runId: string, pagesSeen: number, nextLink: string, note: string): D1PreparedStatement {
  return db
    .prepare(`UPDATE runs SET strategy = 'full', next_link = ?2, ${appendNote("?3")} WHERE id = ?1 AND pages = ?4 AND ${ACTIVE}`)
    .bind(runId, nextLink, note, pagesSeen);
}

/** What a committed page adds to the run and where the run continues: the checkpoint, in the page's own batch. */
export interface RunCheckpoint {
  /** 1-based number of the page being committed (= runs.pages + 1 when read). */
  page: number;
  counts: RunCounts;
  /** Error rows this page stores (at most the run's remaining room). */
  errorRows: number;
  phase: "pages" | "done";
  nextLink: string | null;
  keyset: KeysetPosition | null;
  pendingDeltaLink: string | null;
  leaseUntil: number;
}

/** `WHERE pages = page - 1`: a checkpoint only ever follows the one before it. */
export function checkpointStatement(db: D1Database, runId: string, cp: RunCheckpoint): D1PreparedStatement {
  const c = cp.counts;
  return db
    .prepare(
      `UPDATE runs SET pages = ?, read_count = read_count + ?, inserted_count = inserted_count + ?, updated_count = updated_count + ?,
        deleted_count = deleted_count + ?, skipped_count = skipped_count + ?, failed_count = failed_count + ?, error_rows = error_rows + ?,
        phase = ?, next_link = ?, keyset_modifiedon = ?, keyset_version = ?, pending_delta_link = ?, lease_until = ?, attempts = 0
       WHERE id = ? AND pages = ?`,
    )
    .bind(
      cp.page,
      c.read,
      c.inserted,
      c.updated,
      c.deleted,
      c.skipped,
      c.failed,
      cp.errorRows,
      cp.phase,
      cp.nextLink,
      cp.keyset?.modifiedon ?? null,
      cp.keyset?.version ?? null,
      cp.pendingDeltaLink,
      cp.leaseUntil,
      runId,
      cp.page - 1,
    );
}

/**
 * A reconciliation's sweep ends its read: what the sweep deleted (or skipped, policy `ignore`) is counted and the run
 * moves to `done`, in the sweep's own batch. Only once every page was read (`next_link` NULL) and while active.
 */
export function sweepDoneStatement(db: D1Database, runId: string, counts: { deleted: number; skipped: number }, leaseUntil: number): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE runs SET deleted_count = deleted_count + ?, skipped_count = skipped_count + ?, phase = 'done', lease_until = ?, attempts = 0
       WHERE id = ? AND phase = 'pages' AND next_link IS NULL AND ${ACTIVE}`,
    )
    .bind(counts.deleted, counts.skipped, leaseUntil, runId);
}

/**
 * Lowers the run's recorded headroom to `h` where `h` is lower (a column with no figure yet takes `h`; a figure `h`
 * lacks is kept). A statement, so the engine can put it in the page's batch instead of making an extra round trip.
 */
export function lowerHeadroomStatement(db: D1Database, runId: string, h: RunHeadroom): D1PreparedStatement {
  const time = h.timeRemainingMs ?? null;
  return db
    .prepare(
      `UPDATE runs SET headroom_requests = COALESCE(MIN(headroom_requests, ?), headroom_requests, ?),
                     headroom_time_ms = COALESCE(MIN(headroom_time_ms, ?), headroom_time_ms, ?) WHERE id = ?`,
    )
    .bind(h.requestsRemaining, h.requestsRemaining, time, time, runId);
}

/** Ends a run (only from an active state, so a late duplicate can't overwrite a result). Returns whether it changed. */
export async function finishRun(
  db: D1Database,
  runId: string,
  status: "succeeded" | "partial" | "failed",
  error?: { code: RunErrorCode; message: string },
): Promise<boolean> {
  const [r] = await db.batch([
    db
      .prepare(
        `UPDATE runs SET status = ?, finished_at = ?, error_code = ?, error_message = ?, lease_until = NULL, started_at = COALESCE(started_at, ?) WHERE id = ? AND ${ACTIVE}`,
      )
      .bind(status, new Date().toISOString(), error?.code ?? null, error?.message.slice(0, 1000) ?? null, new Date().toISOString(), runId),
    forgetPartitionsStatement(db, runId), // a partitioned load's checkpoints are of no use once the run is over
  ]);
  return (r!.meta.changes ?? 0) === 1;
}

/**
 * Cancels an active run: one compare-and-set to `failed` with `{ code: "cancelled", message: "Cancelled by …" }`.
 * False when the run had already ended (or another cancel/finish won the race). The runner notices before its next
 * page, and a page in flight is rolled back by its own batch (the page guard, stores/run-pages.ts), so the checkpoint
 * and the job's sync state stay those of the last committed page.
 */
export async function cancelRun(env: Env, tenant: string, runId: string, by: string): Promise<boolean> {
  return finishRun(await dbFor(env, tenant), runId, "failed", { code: "cancelled", message: `Cancelled by ${by}` });
}
