/**
 * Whether a first (full) read is partitioned, and how: the job's rows split into half-open `createdon` ranges that
 * streams read side by side (sync/partitioned-read.ts), under the organization's stream permits (sync/org-permits.ts).
 * Only a full read of a big table is: incremental runs stay one stream (they are small), and so does any run when a
 * deployment allows one stream per organization — exactly the single-stream read. docs/scaling.md "Parallel partitions".
 */
import { dataverseJson, ODataPage } from "../dataverse/client";
import type { CreatedRange } from "../stores/run-partitions";
import { maxStreams } from "./org-permits";
import { cursorOf, firstRowPath, type PartitionPlan, type ReadPlan } from "./query";
import { withToken, type RunContext } from "./run-context";

/** Below this many rows one stream is fine (ten 5,000-row pages). */
export const PARTITION_MIN_ROWS = 50_000;
/** About a million rows a partition for huge tables; never fewer than two per stream, so streams even out skew. */
const ROWS_PER_PARTITION = 1_000_000;
const MAX_PARTITIONS = 64;
/** Later runs start this far before the newest change seen at the load's start (clock differences between servers). */
const SINCE_MARGIN_MS = 5 * 60_000;

export function partitionCount(estimate: number, streams: number): number {
  return Math.min(MAX_PARTITIONS, Math.max(2 * streams, Math.ceil(estimate / ROWS_PER_PARTITION)));
}

const isoSeconds = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");

/**
 * `k` ranges of equal time between the oldest and the newest createdon, cut on whole seconds: `[null, c1)`, `[c1, c2)`,
 * …, `[c_last, null)`. The outer ranges are open, so rows created during the load (and rows without a createdon) have
 * a partition. Fewer ranges when the span has fewer seconds; none (one stream) when all rows share one second.
 */
export function splitCreated(oldest: string, newest: string, k: number): CreatedRange[] {
  const a = Date.parse(oldest);
  const b = Date.parse(newest);
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new Error(`invariant: createdon bounds are not instants: ${oldest}, ${newest}`);
  const cuts: string[] = [];
  for (let i = 1; i < k; i++) {
    const t = isoSeconds(a + ((b - a) * i) / k);
    if (Date.parse(t) > a && t !== cuts[cuts.length - 1]) cuts.push(t);
  }
  if (!cuts.length) return [];
  return [null, ...cuts].map((from, i) => ({ from, to: cuts[i] ?? null }));
}

/**
 * The partitions of a full read with `estimate` rows, or null for one stream. Three `$top=1` reads: the oldest and the
 * newest createdon (the bounds), and the newest change — later runs continue from just before it, so a row changed
 * after its partition was read is not lost.
 */
export async function planPartitions(ctx: RunContext, plan: ReadPlan, estimate: number | null, minRows: number): Promise<PartitionPlan | null> {
  const streams = maxStreams(ctx.env);
  if (streams < 2 || estimate === null || estimate < minRows) return null;
  const first = (path: string) =>
    withToken(ctx, (token) => dataverseJson(ctx.conn.orgUrl, path, { token, ...ctx.observe }, ODataPage)).then((p) => p.value[0] ?? null);
  const [oldest, newest, latest] = await Promise.all([
    first(firstRowPath(plan, "createdon", "asc")),
    first(firstRowPath(plan, "createdon", "desc")),
    first(firstRowPath(plan, "modifiedon", "desc")),
  ]);
  const since = latest && cursorOf(latest);
  if (typeof oldest?.createdon !== "string" || typeof newest?.createdon !== "string" || !since) return null;
  const ranges = splitCreated(oldest.createdon, newest.createdon, partitionCount(estimate, streams));
  if (ranges.length < 2) return null;
  return {
    ranges,
    pageSize: Math.max(1, Math.floor(plan.pageSize / streams)),
    since: { modifiedon: isoSeconds(Date.parse(since.modifiedon) - SINCE_MARGIN_MS), version: 0 },
  };
}
