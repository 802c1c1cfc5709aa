/**
 * A partitioned first load's slice (plan from sync/partitions.ts): up to the org's stream permits of streams, each
 * taking the next unfinished partition and reading it page by page — its own keyset position, page guard and
 * checkpoint (stores/run-partitions.ts), committed with the page's records and the run's summed counts in ONE batch —
 * until the partition ends, then the next. A crash or a new slice resumes every partition where its last page left
 * it. When every partition is done, the job's sync state becomes the keyset position planned at init (the changes
 * since the load began) and the run moves to `done`.
 *
 * Each stream fetches its partition's next page while it writes this one (fetch-ahead.ts, a slot per stream), as a
 * single-stream run does: at most two page requests per permit in flight. Partition pages are the page size divided by
 * the streams (PartitionPlan.pageSize), so the load holds no more rows in memory than one stream does. Not within
 * AHEAD_MARGIN_MS of the slice's end, so a slice rarely leaves requests behind that nobody reads.
 */
import { PAGE_PREFER } from "../dataverse/client";
import { fetchAttributes } from "../metadata/fetch";
import { orgKey } from "../stores/object-tables";
import { errorsWithinCap } from "../stores/run-errors";
import {
  addToRunStatement,
  listPartitions,
  partitionCheckpointStatement,
  partitionGuardPage,
  partitionsDoneStatement,
  type PartitionRow,
} from "../stores/run-partitions";
import type { RunRow } from "../stores/runs";
import { saveLookupWatermarksStatements, saveSyncStateStatement } from "../stores/sync-state";
import { fetchAhead, fetchPage, type AheadSlot } from "./fetch-ahead";
import { maxStreams } from "./org-permits";
import { cursorAfter, cursorOf, partitionPath, type ReadPlan } from "./query";
import { isTransient, LEASE_MS, RunFailure, withToken, type RunContext } from "./run-context";
import { reportSignals, takePermit, type OrgPermitsStub } from "./stream-permits";
import { attachViaFields } from "./via-fields";
import { commitGuarded, preparePage } from "./writer";

/** How often an extra stream renews its permit: often enough to stop within seconds when the limit shrinks. */
const RENEW_EVERY_MS = 5_000;
/** No page is fetched ahead this close to the slice's deadline (it would likely be dropped with the slice). */
const AHEAD_MARGIN_MS = 5_000;
/** Error rows of one partition page get seq guard page × this + i: unique across concurrent partitions. */
const ERROR_SEQ_PER_PAGE = 100_000;

export interface PartitionedSliceLimits {
  deadline: number;
  maxPages: number;
  permits: OrgPermitsStub;
  /** The permit the slice holds already (the run's own); the first stream reads under it. */
  holder: string;
}

/** Reads partitions until the deadline, the page limit, the run's end or the load's end. Returns the pages committed. */
export async function partitionedSlice(ctx: RunContext, run: RunRow, plan: ReadPlan, limits: PartitionedSliceLimits): Promise<number> {
  const queue = (await listPartitions(ctx.db, run.id)).filter((p) => !p.done);
  if (!queue.length) {
    await finishLoad(ctx, run, plan);
    return 0;
  }
  if (!ctx.attributes.length) ctx.attributes = await withToken(ctx, (t) => fetchAttributes(ctx.conn.orgUrl, t, ctx.job.source.entity, ctx.observe));
  const holders = [limits.holder];
  for (let s = 1; s < Math.min(queue.length, maxStreams(ctx.env)); s++) {
    const holder = `${run.id}#${s}`;
    const grant = await takePermit(limits.permits, holder);
    if (!grant.granted) break;
    if (s >= grant.limit) {
      await limits.permits.release(holder).catch(() => {}); // granted beyond the limit it reports (out of reach): not used
      break;
    }
    holders.push(holder);
  }
  const state = { started: 0, committed: 0, errorRows: run.error_rows, stopped: false, errors: [] as unknown[] };
  try {
    await Promise.all(
      holders.map((holder, stream) => readPartitions(ctx, run, plan, limits, { holder, stream, queue, state, slot: { ahead: null }, renewedAt: Date.now() })),
    );
  } finally {
    await Promise.all(holders.slice(1).map((h) => limits.permits.release(h).catch(() => {})));
  }
  const fatal = state.errors.find((e) => !isTransient(e));
  if (fatal !== undefined) throw fatal;
  if (state.errors.length && state.committed === 0) throw state.errors[0]; // no stream got anywhere: the engine backs off
  if (!state.stopped && !queue.length && (await listPartitions(ctx.db, run.id)).every((p) => p.done)) await finishLoad(ctx, run, plan);
  return state.committed;
}

interface Stream {
  holder: string;
  /** When this stream last renewed its permit (and so learnt the current limit). */
  renewedAt: number;
  /** This stream's page fetched ahead. */
  slot: AheadSlot;
  stream: number;
  queue: PartitionRow[];
  state: { started: number; committed: number; errorRows: number; stopped: boolean; errors: unknown[] };
}

/** One stream: partition after partition. A transient failure ends the stream (its partition resumes next slice). */
async function readPartitions(ctx: RunContext, run: RunRow, plan: ReadPlan, limits: PartitionedSliceLimits, s: Stream): Promise<void> {
  let first = true;
  for (let part = s.queue.shift(); part; part = s.queue.shift()) {
    while (!part.done) {
      // Every stream reads at least one page per slice, so a slice always gets somewhere.
      if (s.state.stopped || s.state.started >= limits.maxPages || (!first && Date.now() >= limits.deadline)) {
        s.queue.unshift(part);
        return;
      }
      first = false;
      s.state.started++;
      try {
        if (s.stream > 0 && Date.now() - s.renewedAt >= RENEW_EVERY_MS) {
          // Renewing tells this stream the current limit: streams above it (AIMD shrank it) stop, the first never.
          const grant = await takePermit(limits.permits, s.holder);
          s.renewedAt = Date.now();
          if (!grant.granted || s.stream >= Math.floor(grant.limit)) {
            s.queue.unshift(part);
            return;
          }
        }
        const result = await partitionPage(ctx, run, plan, part, s.state.errorRows, s.slot, limits.deadline);
        await reportSignals(ctx, limits.permits);
        if (result.kind === "stopped") {
          s.state.stopped = true; // cancelled: the page was rolled back; the engine sees the run ended
          return;
        }
        if (result.kind === "duplicate") {
          // Another slice committed this page: continue from the partition's stored checkpoint.
          const stored = (await listPartitions(ctx.db, run.id)).find((p) => p.partition === part!.partition);
          if (stored) Object.assign(part, stored);
          continue;
        }
        s.state.errorRows += result.errorRows;
        s.state.committed++;
      } catch (e) {
        await reportSignals(ctx, limits.permits).catch(() => {});
        s.state.errors.push(e);
        if (!isTransient(e)) s.state.stopped = true;
        s.queue.unshift(part);
        return;
      }
    }
  }
}

type PageResult = { kind: "committed"; errorRows: number } | { kind: "duplicate" } | { kind: "stopped" };

/** One page of a partition: fetch → looked-up fields → map and plan → ONE batch with both checkpoints. */
async function partitionPage(
  ctx: RunContext,
  run: RunRow,
  plan: ReadPlan,
  part: PartitionRow,
  errorRowsBefore: number,
  slot: AheadSlot,
  deadline: number,
): Promise<PageResult> {
  const page = await fetchPage(ctx, partitionPath(plan, part.range, part.keyset), PAGE_PREFER, slot);
  const rows = page.value;
  const last = rows[rows.length - 1];
  const keyset = last ? cursorOf(last) : part.keyset;
  if (last && !keyset) throw new Error("invariant: a partition page row lacks modifiedon / versionnumber");
  const done = rows.length < (plan.partitions?.pageSize ?? plan.pageSize);
  if (!done && part.keyset && keyset && !cursorAfter(keyset, part.keyset)) {
    throw new RunFailure(
      "invalid_job",
      `Partition ${part.partition} did not advance past modifiedon ${part.keyset.modifiedon} / versionnumber ${part.keyset.version}; check the job's filter (source.filter)`,
    );
  }
  if (!ctx.conn.organizationId) throw new Error("invariant: a run's connection has an organization (run-gate.ts checks it)");
  if (!done && Date.now() + AHEAD_MARGIN_MS < deadline) await fetchAhead(ctx, partitionPath(plan, part.range, keyset), PAGE_PREFER, slot);
  if (plan.via.length) await attachViaFields(ctx, plan.via, rows);
  const prepared = await preparePage(ctx.env, {
    tenant: ctx.ref.tenant,
    org: orgKey(ctx.conn.organizationId),
    job: ctx.job,
    object: ctx.object,
    lookupObjects: ctx.lookupObjects,
    attributes: ctx.attributes,
    rows,
    deletedIds: [],
  });
  const errors = errorsWithinCap(prepared.errors, errorRowsBefore);
  const pageNo = part.pages + 1;
  const guardPage = partitionGuardPage(part.partition, pageNo);
  const headroom = ctx.headroom;
  const result = await commitGuarded(
    ctx.db,
    prepared,
    { runId: run.id, tenant: ctx.ref.tenant, guardPage, errorSeqBase: guardPage * ERROR_SEQ_PER_PAGE, errors, headroom },
    [
      partitionCheckpointStatement(ctx.db, run.id, { partition: part.partition, page: pageNo, keyset, read: prepared.counts.read, done }),
      addToRunStatement(ctx.db, run.id, prepared.counts, errors.length, Date.now() + LEASE_MS),
    ],
  );
  if (result !== "committed") return { kind: result };
  if (ctx.headroom === headroom) ctx.headroom = null;
  Object.assign(part, { pages: pageNo, keyset, done, read: part.read + prepared.counts.read });
  return { kind: "committed", errorRows: errors.length };
}

/** Every partition is done: the job continues from the planned keyset position, and the run moves to `done`. */
async function finishLoad(ctx: RunContext, run: RunRow, plan: ReadPlan): Promise<void> {
  const since = plan.partitions?.since;
  if (!since) throw new Error(`invariant: run ${run.id} finishes a partitioned load without a plan for it`);
  const { tenant, jobId } = ctx.ref;
  const now = new Date().toISOString();
  await ctx.db.batch([
    partitionsDoneStatement(ctx.db, run.id, Date.now() + LEASE_MS),
    saveSyncStateStatement(ctx.db, tenant, jobId, { configHash: plan.configHash, strategy: "keyset", deltaLink: null, keyset: since }, now),
    ...(plan.watermarks ? saveLookupWatermarksStatements(ctx.db, tenant, jobId, plan.watermarks, now) : []),
  ]);
}
