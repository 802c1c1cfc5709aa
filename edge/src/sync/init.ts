/**
 * A run's init step (writes no records): metadata, the drift check and a new drift baseline, the target tables, the
 * read plan and where the read starts — the job's stored delta link or keyset cursor when it still fits the plan, else
 * a full read — with a row-count estimate for full reads. All of it is fixed into the run row (stores/runs.ts).
 */
import type { EntityInfo } from "#contract/metadata";
import { retrieveTotalRecordCount } from "../dataverse/client";
import type { Env } from "../env";
import { fetchAttributes, fetchEntities } from "../metadata/fetch";
import { saveSchemaBaseline } from "../stores/job-schema";
import { ensureObjectTable } from "../stores/objects";
import { insertPartitionsStatements } from "../stores/run-partitions";
import { appendNoteStatement, startReadingStatement, type RunRow } from "../stores/runs";
import { getSyncState, type SyncState } from "../stores/sync-state";
import { checkDrift } from "./drift";
import { planFreshness } from "./freshness";
import { maxStreams } from "./org-permits";
import { PARTITION_MIN_ROWS, planPartitions } from "./partitions";
import { passRunGate } from "./run-gate";
import { deltaInitialPath, planRead, type KeysetCursor, type ReadPlan } from "./query";
import { LEASE_MS, RunFailure, withToken, type RunContext } from "./run-context";

/** Dataverse's largest page; SYNC_PAGE_SIZE (optional var) lowers it. */
export function pageSizeFor(env: Env): number {
  const n = Number(env.SYNC_PAGE_SIZE);
  return Number.isFinite(n) && n > 0 ? Math.min(5000, Math.floor(n)) : 5000;
}

export async function initRun(ctx: RunContext, run: RunRow, pageSize: number, partitionMinRows = PARTITION_MIN_ROWS): Promise<void> {
  const { env, job, ref } = ctx;
  if ((job.mode === "update" || job.mode === "upsert") && job.identifiers.length === 0) {
    throw new RunFailure("invalid_job", `Mode ${job.mode} needs an identifier`);
  }
  await passRunGate(ctx);
  const entities: EntityInfo[] = await withToken(ctx, (t) => fetchEntities(ctx.conn.orgUrl, t, ctx.observe));
  const entity = entities.find((e) => e.logicalName === job.source.entity);
  if (!entity) throw new RunFailure("schema_drift", `Schema drift: entity ${job.source.entity} no longer exists in Dataverse`);
  ctx.attributes = await withToken(ctx, (t) => fetchAttributes(ctx.conn.orgUrl, t, job.source.entity, ctx.observe));
  const types = await checkDrift(ctx, ctx.attributes);
  await saveSchemaBaseline(env, ref.tenant, ref.jobId, { jobUpdatedAt: job.updatedAt, types });
  await ensureObjectTable(env, ref.tenant, ctx.object);
  for (const o of ctx.lookupObjects.values()) await ensureObjectTable(env, ref.tenant, o);

  const plan = planRead(job, entity, ctx.attributes, pageSize, entities);
  const state = await getSyncState(env, ref.tenant, ref.jobId);
  const usable = state && state.configHash === plan.configHash && state.strategy === plan.strategy ? state : null;
  let start = startingPoint(plan, usable);
  if (plan.via.length) Object.assign(plan, await planFreshness(ctx, plan, start.strategy === "full"));
  // A partitioned first load leaves a keyset position; a table with change tracking gets its delta link from one
  // full read with change tracking, the run after it (never partitioned itself).
  const afterPartitionedLoad = !!state && !usable && state.strategy === "keyset" && plan.strategy === "delta" && state.configHash === plan.configHash;
  if (state && !usable) {
    const note = afterPartitionedLoad
      ? "change tracking after the partitioned first load: one full read with change tracking, then changes only"
      : "the job's source changed since the last run: full resync";
    await appendNoteStatement(ctx.db, run.id, note).run();
  }
  // The table's size: progress for an unfiltered read, an upper bound of a filtered one's (enough to decide partitions).
  const tableRows = start.strategy === "full" ? await estimateTotal(ctx) : null;
  const totalEstimate = job.source.filter ? null : tableRows;
  const partitions = start.strategy === "full" && !afterPartitionedLoad ? await planPartitions(ctx, plan, tableRows, partitionMinRows) : null;
  if (partitions) {
    plan.partitions = partitions;
    start = { strategy: "full", nextLink: null, keyset: null };
  }
  const reading = startReadingStatement(ctx.db, run.id, { ...start, plan: JSON.stringify(plan), totalEstimate, leaseUntil: Date.now() + LEASE_MS });
  if (!partitions) return void (await reading.run());
  await ctx.db.batch([
    ...insertPartitionsStatements(ctx.db, run.id, partitions.ranges),
    appendNoteStatement(
      ctx.db,
      run.id,
      `partitioned first load: ${partitions.ranges.length} createdon ranges read side by side (up to ${maxStreams(ctx.env)} streams, ${partitions.pageSize.toLocaleString("en-US")}-row pages)`,
    ),
    reading,
  ]);
}

/** Where the read starts: the stored delta link or keyset cursor when the job's state fits the plan, else a full read. */
function startingPoint(
  plan: ReadPlan,
  usable: SyncState | null,
): { strategy: "full" | "delta" | "keyset"; nextLink: string | null; keyset: KeysetCursor | null } {
  if (plan.strategy === "delta") {
    return usable?.deltaLink
      ? { strategy: "delta", nextLink: usable.deltaLink, keyset: null }
      : { strategy: "full", nextLink: deltaInitialPath(plan), keyset: null };
  }
  return usable?.keyset ? { strategy: "keyset", nextLink: null, keyset: usable.keyset } : { strategy: "full", nextLink: null, keyset: null };
}

/**
 * How many rows the job's table has: Dataverse's RetrieveTotalRecordCount (a snapshot up to 24 h old, the whole
 * table). Asked for full reads only (a delta's size is unknown): the progress of an unfiltered read, and whether to
 * partition it. Best effort: any failure means "no estimate" (and one stream), never a failed run.
 */
export async function estimateTotal(ctx: RunContext): Promise<number | null> {
  try {
    return await withToken(ctx, (t) => retrieveTotalRecordCount(ctx.conn.orgUrl, t, ctx.job.source.entity, ctx.observe));
  } catch (e) {
    console.warn(
      JSON.stringify({
        level: "warn",
        msg: "row count estimate unavailable",
        runId: ctx.ref.runId,
        error: e instanceof Error ? e.message.slice(0, 200) : String(e),
      }),
    );
    return null;
  }
}
