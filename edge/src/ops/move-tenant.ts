/**
 * Moving a host tenant between D1 shards (docs/operations.md "Moving a tenant between shards"), one bounded step per
 * call: the operator script (scripts/move-tenant.ts) calls POST /ops/v1/tenants/:tenant/move until it answers done.
 *
 * The first call marks the tenant `moving` in the directory — from then on its API requests, run starts and runner
 * slices are refused (503 tenant_moving) and the cron leaves its schedules out — and refuses (409 run_in_progress,
 * the mark undone) while one of its runs is queued or running. Then: leftovers of an abandoned move are deleted from the
 * target, every table's rows are copied in keyset batches (object tables with their DDL and indexes), the directory
 * flips to the target (active again: schedules resume, ticks missed meanwhile coalesce into one run), and the rows are
 * deleted from the old shard. Sync state (delta links, keyset cursors, lookup watermarks) moves with the rows, so the
 * tenant's next runs continue incrementally. The cursor is the caller's: a step repeated after a lost answer converges
 * (copies are INSERT OR REPLACE, deletes delete what is left).
 */
import { ApiError } from "../http/errors";
import type { Env } from "../env";
import { flipPlacement, getPlacement, markActive, markMoving, shardDb, shardNames } from "../stores/shards";
import { activeRunCount, copyObjectTableDdl, copyRows, deleteRows, tenantTables, type TenantTable } from "../stores/tenant-move";

/** Rows one call copies or deletes at most: a few statements, far inside a Worker invocation's limits. */
export const MOVE_BATCH_ROWS = 500;

export interface MoveCursor {
  from: string;
  step: number;
  /** The primary key of the last row copied of the current table; null at a table's start. */
  after: unknown[] | null;
}

export interface MoveProgress {
  tenant: string;
  from: string;
  to: string;
  phase: "copying" | "deleting" | "done";
  /** Pass it back for the next step; null when done. */
  cursor: MoveCursor | null;
  copied: number;
  deleted: number;
}

type Step = { kind: "clear-target" | "copy" | "clear-source"; t: TenantTable } | { kind: "flip" };

function plan(tables: TenantTable[]): Step[] {
  const reverse = [...tables].reverse(); // object tables, then pages and marks before their runs, `objects` last
  return [
    ...reverse.map((t) => ({ kind: "clear-target" as const, t })),
    ...tables.map((t) => ({ kind: "copy" as const, t })),
    { kind: "flip" as const },
    ...reverse.map((t) => ({ kind: "clear-source" as const, t })),
  ];
}

const refuseWhileRunning = (n: number): ApiError =>
  new ApiError("run_in_progress", `The tenant has ${n} run(s) queued or running; the move waits for none — retry once they ended (or cancel them)`);

export async function moveTenantStep(env: Env, tenant: string, to: string, cursor: MoveCursor | null): Promise<MoveProgress> {
  if (!shardNames(env).includes(to)) {
    throw new ApiError("validation_failed", `No D1 shard named ${to}`, [{ path: "to", message: `must be one of ${shardNames(env).join(", ")}` }]);
  }
  const placed = await getPlacement(env, tenant);
  if (!placed) throw new ApiError("not_found", `Tenant ${tenant} has no data on this deployment (not in the tenant directory)`);
  if (!cursor) {
    if (placed.shard === to && placed.state === "active") return { tenant, from: to, to, phase: "done", cursor: null, copied: 0, deleted: 0 };
    if (placed.state === "moving" && placed.shard === to) throw new ApiError("conflict", `Tenant ${tenant} is being moved away from ${to}`);
    if (placed.state === "active" && !(await markMoving(env, tenant, placed.shard)))
      throw new ApiError("conflict", "The tenant directory changed meanwhile; retry");
    const active = await activeRunCount(shardDb(env, placed.shard), tenant);
    if (active > 0) {
      await markActive(env, tenant);
      throw refuseWhileRunning(active);
    }
    cursor = { from: placed.shard, step: 0, after: null };
    placed.state = "moving";
  }
  const from = shardDb(env, cursor.from);
  const target = shardDb(env, to);
  const steps = plan(await tenantTables(from, tenant));
  const flipAt = steps.findIndex((s) => s.kind === "flip");
  const expected = cursor.step <= flipAt ? { shard: cursor.from, state: "moving" } : { shard: to, state: "active" };
  if (placed.shard !== expected.shard || placed.state !== expected.state) {
    throw new ApiError("conflict", `Tenant ${tenant} is ${placed.state} on ${placed.shard}, not where this move's cursor expects it; start the move again`);
  }

  const out: MoveProgress = { tenant, from: cursor.from, to, phase: "copying", cursor, copied: 0, deleted: 0 };
  let { step, after } = cursor;
  while (step < steps.length && out.copied + out.deleted < MOVE_BATCH_ROWS) {
    const s = steps[step]!;
    const budget = MOVE_BATCH_ROWS - out.copied - out.deleted;
    if (s.kind === "flip") {
      const active = await activeRunCount(from, tenant); // a start that slipped in before the mark: give the tenant back
      if (active > 0) {
        await markActive(env, tenant);
        throw refuseWhileRunning(active);
      }
      await flipPlacement(env, tenant, to);
      step++;
      break; // the answer tells the operator the flip happened
    }
    if (s.kind === "copy") {
      if (s.t.object && after === null) await copyObjectTableDdl(from, target, s.t.table);
      const r = await copyRows(from, target, tenant, s.t, after, budget);
      out.copied += r.copied;
      if (r.copied < budget) [step, after] = [step + 1, null];
      else after = r.last;
      continue;
    }
    const n = await deleteRows(s.kind === "clear-target" ? target : from, tenant, s.t, budget);
    out.deleted += n;
    if (n < budget) step++;
  }
  out.cursor = step < steps.length ? { from: cursor.from, step, after } : null;
  out.phase = step >= steps.length ? "done" : step > flipAt ? "deleting" : "copying";
  return out;
}
