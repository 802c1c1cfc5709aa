/**
 * Reconciliation: finds the records whose source row is gone from Dynamics and applies the job's delete policy to them —
 * for tables without change tracking (keyset jobs, e.g. systemuser), which never send delete signals, and after a
 * resync that could not see deletions. A run of kind `reconcile` (POST /jobs/:id/runs { "reconcile": true }, or the
 * daily one `startDueReconciliations` starts) that reads nothing but primary ids (`$select=<primary id>`, 5,000 a page,
 * Dataverse's paging cookie), and is safe by construction:
 * - mark, then sweep: every page commits its ids as marks with its checkpoint (one batch, page guard as for syncs); the
 *   sweep is one more step, possible only once the last page was committed, and one batch — deletes, counts, done. A
 *   reconciliation that did not read every page (failed, cancelled, still running) has deleted nothing;
 * - a threshold: a sweep that would delete more than `max_delete_percent` (the request's, else
 *   RECONCILE_MAX_DELETE_PERCENT, default 50) of the known records deletes none and fails `reconcile_too_many_deletes`;
 * - its own records only: the job's organization (`_org`), a value in the identifier fed by the primary id, and last
 *   written before the reconciliation started; a job sharing that identifier with a job of another table is refused.
 * docs/sync.md "Reconciliation".
 */
import type { Job } from "#contract/job";
import { dataverseJson, maxPageSize, ODataPage } from "../dataverse/client";
import type { Env } from "../env";
import { fetchEntities } from "../metadata/fetch";
import { getJob, listJobs } from "../stores/jobs";
import { jsonChunks } from "../stores/json-chunks";
import { ensureObjectTable } from "../stores/objects";
import { fieldColumn, objectTable, orgKey } from "../stores/object-tables";
import { dueReconciliations, forgetMarksStatement, markIdsStatements, sweepCandidates } from "../stores/reconcile";
import { deleteRecordsStatements } from "../stores/record-writes";
import { guardRefusal, pageGuardStatement } from "../stores/run-pages";
import { checkpointStatement, lowerHeadroomStatement, RunInProgressError, startReading, sweepDoneStatement, type RunRow } from "../stores/runs";
import { estimateTotal } from "./init";
import { passRunGate } from "./run-gate";
import { LEASE_MS, RunFailure, withToken, type RunContext } from "./run-context";
import { startRun } from "./start";

/** Ids per page: Dataverse's largest page. */
const RECONCILE_PAGE_SIZE = 5000;
/** The sweep's page-guard number: pages are numbered from 1, so 0 is the sweep's alone (and it runs once). */
const SWEEP_GUARD = 0;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What init fixes into the run's plan, so every later step reads and sweeps the same way. */
interface ReconcilePlan {
  entitySet: string;
  primaryId: string;
  /** The target field the primary id feeds (the identifier the sweep compares with). */
  identifierField: string;
  deletes: Job["deletes"];
  maxDeletePercent: number;
  pageSize: number;
}

/** The job's identifier fed by its table's primary id (`accountid` → DynamicsId), or null. */
export function primaryIdentifier(job: Pick<Job, "source" | "identifiers">, primaryId = `${job.source.entity}id`): string | null {
  return job.identifiers.find((i) => i.source === primaryId)?.target ?? null;
}

/** The deployment's delete threshold, in percent of the known records (RECONCILE_MAX_DELETE_PERCENT, default 50). */
export function maxDeletePercent(env: Env): number {
  const n = Number(env.RECONCILE_MAX_DELETE_PERCENT);
  return env.RECONCILE_MAX_DELETE_PERCENT !== "" && Number.isFinite(n) && n >= 0 && n <= 100 ? n : 50;
}

/** Hours between automatic reconciliations (RECONCILE_EVERY_HOURS, default 24; 0 = none). */
export function reconcileEveryHours(env: Env): number {
  const n = Number(env.RECONCILE_EVERY_HOURS);
  return env.RECONCILE_EVERY_HOURS !== "" && Number.isFinite(n) && n >= 0 ? n : 24;
}

/**
 * Why this job can't be reconciled, or null. Its records must be recognisable: an identifier fed by the primary id,
 * and no other job of the tenant writing that identifier of the same object from another table (then a record not
 * seen in this table may be the other table's).
 */
export function reconcileProblem(job: Job, others: Job[]): string | null {
  const field = primaryIdentifier(job);
  if (!field) return `the job's identifiers must include ${job.source.entity}id (the record's Dynamics id) to recognise deleted records`;
  const object = job.target.object.toLowerCase();
  const clash = others.find(
    (o) =>
      o.id !== job.id &&
      o.target.object.toLowerCase() === object &&
      o.source.entity !== job.source.entity &&
      o.identifiers.some((i) => i.target.toLowerCase() === field.toLowerCase()),
  );
  return clash
    ? `job ${clash.id} (${clash.name}) also writes ${job.target.object}.${field}, from ${clash.source.entity}: a record missing from ${job.source.entity} may be one of its records`
    : null;
}

/** Init of a reconciliation: the run gate, the table's entity set and primary id, the refusals above, the plan. */
export async function initReconcile(ctx: RunContext, run: RunRow, pageSize = RECONCILE_PAGE_SIZE): Promise<void> {
  const { env, job, ref } = ctx;
  await passRunGate(ctx);
  const entity = (await withToken(ctx, (t) => fetchEntities(ctx.conn.orgUrl, t, ctx.observe))).find((e) => e.logicalName === job.source.entity);
  if (!entity) throw new RunFailure("schema_drift", `Schema drift: entity ${job.source.entity} no longer exists in Dataverse`);
  const identifierField = primaryIdentifier(job, entity.primaryIdAttribute);
  const problem = reconcileProblem(job, await listJobs(env, ref.tenant));
  if (problem || !identifierField) throw new RunFailure("invalid_job", `Reconciliation refused: ${problem}`);
  await ensureObjectTable(env, ref.tenant, ctx.object);
  const plan: ReconcilePlan = {
    entitySet: entity.entitySetName,
    primaryId: entity.primaryIdAttribute,
    identifierField,
    deletes: job.deletes,
    maxDeletePercent: run.max_delete_percent ?? maxDeletePercent(env),
    pageSize: Math.max(1, Math.min(RECONCILE_PAGE_SIZE, pageSize)),
  };
  await startReading(ctx.db, run.id, {
    strategy: null,
    plan: JSON.stringify(plan),
    nextLink: `${entity.entitySetName}?$select=${entity.primaryIdAttribute}`,
    keyset: null,
    totalEstimate: await estimateTotal(ctx), // the whole table: ids are read without the job's filter
    leaseUntil: Date.now() + LEASE_MS,
  });
}

/** One step of a reconciliation: the next page of ids (marked), or — once all were read — the sweep. */
export async function reconcileStep(ctx: RunContext, run: RunRow): Promise<void> {
  if (!run.plan) throw new Error(`invariant: reconciliation ${run.id} is in phase pages without a plan`);
  const plan = JSON.parse(run.plan) as ReconcilePlan;
  if (run.next_link === null) return sweep(ctx, run, plan);
  const page = await withToken(ctx, (token) =>
    dataverseJson(ctx.conn.orgUrl, run.next_link!, { token, prefer: [maxPageSize(plan.pageSize)], ...ctx.observe }, ODataPage),
  );
  const ids: string[] = [];
  for (const row of page.value) {
    const id = String(row[plan.primaryId] ?? "").toLowerCase();
    if (!GUID.test(id)) throw new RunFailure("dynamics_error", `Dataverse returned a ${plan.primaryId} that is not a GUID; nothing was deleted`);
    ids.push(id);
  }
  const nextLink = page["@odata.nextLink"] ?? null;
  await commit(ctx, [
    pageGuardStatement(ctx.db, run.id, run.pages + 1, new Date().toISOString()),
    ...markIdsStatements(ctx.db, run.id, ids),
    checkpointStatement(ctx.db, run.id, {
      page: run.pages + 1,
      counts: { read: ids.length, inserted: 0, updated: 0, deleted: 0, skipped: 0, failed: 0 },
      errorRows: 0,
      phase: "pages",
      nextLink, // null after the last page: the next step sweeps
      keyset: null,
      pendingDeltaLink: null,
      leaseUntil: Date.now() + LEASE_MS,
    }),
  ]);
}

/** The sweep: every page was read. Over the threshold → fail, nothing deleted; else ONE batch deletes and ends the read. */
async function sweep(ctx: RunContext, run: RunRow, plan: ReconcilePlan): Promise<void> {
  const { ref } = ctx;
  if (!ctx.conn.organizationId) throw new Error("invariant: a run's connection has an organization (run-gate.ts checks it)");
  if (!run.started_at) throw new Error(`invariant: reconciliation ${run.id} reads without a start time`);
  const table = await objectTable(ref.tenant, ctx.object.name);
  const { known, gone } = await sweepCandidates(ctx.db, {
    table,
    idColumn: fieldColumn(plan.identifierField),
    org: orgKey(ctx.conn.organizationId),
    runId: run.id,
    startedAt: run.started_at,
  });
  if (gone.length > 0 && gone.length > (known * plan.maxDeletePercent) / 100) {
    throw new RunFailure(
      "reconcile_too_many_deletes",
      `Reconciliation stopped: ${gone.length} of ${known} records (${Math.round((gone.length / known) * 100)}%) are no longer in Dynamics, more than the ${plan.maxDeletePercent}% allowed; nothing was deleted. If that is right, run it again with { "reconcile": true, "maxDeletePercent": ${Math.min(100, Math.ceil((gone.length / known) * 100))} }`,
    );
  }
  const apply = plan.deletes !== "ignore";
  const chunks = jsonChunks(gone).map((c) => c.json);
  await commit(ctx, [
    pageGuardStatement(ctx.db, run.id, SWEEP_GUARD, new Date().toISOString()),
    ...(apply ? deleteRecordsStatements(ctx.db, table, plan.deletes === "soft", new Date().toISOString(), chunks) : []),
    sweepDoneStatement(ctx.db, run.id, { deleted: apply ? gone.length : 0, skipped: apply ? 0 : gone.length }, Date.now() + LEASE_MS),
    forgetMarksStatement(ctx.db, run.id),
  ]);
}

/** One batch with the page guard first; a duplicate or a run that ended meanwhile rolls it back (nothing written). */
async function commit(ctx: RunContext, stmts: D1PreparedStatement[]): Promise<void> {
  const headroom = ctx.headroom;
  if (headroom) stmts.push(lowerHeadroomStatement(ctx.db, ctx.ref.runId, headroom));
  try {
    await ctx.db.batch(stmts);
    if (ctx.headroom === headroom) ctx.headroom = null;
  } catch (e) {
    if (!guardRefusal(e)) throw e;
  }
}

/**
 * The cron tick's automatic reconciliations: each enabled keyset job with a delete policy and a primary-id identifier,
 * at most once per RECONCILE_EVERY_HOURS (default 24; 0 = never). Checked at the top of each hour only, so jobs that do
 * not qualify (their policy is in KV) cost a read an hour, not a minute. A job with a run in progress waits an hour.
 */
export async function startDueReconciliations(env: Env, now: number): Promise<string[]> {
  const hours = reconcileEveryHours(env);
  if (hours <= 0 || new Date(now).getUTCMinutes() !== 0) return [];
  const started: string[] = [];
  const others = new Map<string, Job[]>();
  for (const due of await dueReconciliations(env, new Date(now - hours * 3_600_000 + 60_000).toISOString())) {
    const job = await getJob(env, due.tenant, due.jobId);
    if (!job || !job.enabled || job.deletes === "ignore") continue;
    if (!others.has(due.tenant)) others.set(due.tenant, await listJobs(env, due.tenant));
    if (reconcileProblem(job, others.get(due.tenant)!)) continue;
    try {
      await startRun(env, due.tenant, job.id, "schedule", null, { kind: "reconcile" });
      started.push(job.id);
    } catch (e) {
      // A job with a run in progress waits for the next hour; any other failure is this job's alone.
      if (!(e instanceof RunInProgressError))
        console.error(JSON.stringify({ level: "error", msg: "reconciliation not started", jobId: job.id, error: e instanceof Error ? e.message : String(e) }));
    }
  }
  return started;
}
