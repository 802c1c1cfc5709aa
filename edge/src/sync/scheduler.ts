/**
 * The cron trigger (every minute). It only decides and claims, then enqueues: due scheduled jobs go to the run queue
 * (queues/run-starts.ts starts them), due notifications to the notification queue (queues/notifications.ts delivers
 * them). It also starts the daily reconciliations (sync/reconcile.ts), re-kicks runs whose runner went quiet, and sweeps.
 * Due-ness is a D1 query on the schedule index that takes every tenant's due work round by round (stores/schedule-index.ts
 * listDue), so a tenant with thousands of due jobs can't delay another's; each tick is claimed with a compare-and-set
 * before it is enqueued, so overlapping invocations never double-run a job, and missed ticks (the Worker was down for an
 * hour) coalesce into one run. docs/decisions/0010-scheduling-on-queues.md.
 */
import type { Env } from "../env";
import { enqueueRunStarts } from "../queues/run-starts";
import { handOffNotifications } from "../queues/notifications";
import { sweepIdempotencyKeys } from "../stores/idempotency-keys";
import { staleRuns } from "../stores/runs";
import { claimTicks, listDue, releaseTicks, type DueSelection, type TickClaim } from "../stores/schedule-index";
import { decideDue } from "./cron";
import { startDueReconciliations } from "./reconcile";
import { kickRunner } from "./runner-api";
import { sweepRetention } from "./retention";

/**
 * What one tick takes (docs/scaling.md "Scheduling at scale"): up to 20,000 due jobs — a top-of-the-hour burst of
 * 10,000 tenants' hourly jobs fits in one tick — and at most 1,000 of them from one tenant, so a flooding tenant gets
 * its share without starving anyone. The claim is 40 D1 statements in one batch and the sends 200 sendBatch calls, far
 * inside a cron invocation's 10,000 subrequests; the run queue takes 5,000 messages a second.
 */
export const TICK_SELECTION: DueSelection = { limit: 20_000, perTenant: 1_000 };

interface TickReport {
  /** Jobs whose run start this tick enqueued. */
  enqueued: string[];
  skipped: Array<{ jobId: string; reason: string }>;
  rekicked: string[];
  /** Jobs whose automatic reconciliation this tick started. */
  reconciling: string[];
  /** Notifications handed to the notification queue. */
  notifications: number;
}

export async function runSchedulerTick(env: Env, now: number, selection: DueSelection = TICK_SELECTION): Promise<TickReport> {
  const report: TickReport = { enqueued: [], skipped: [], rekicked: [], reconciling: [], notifications: 0 };
  const claims: TickClaim[] = [];
  const unreadable = new Set<TickClaim>();
  for (const entry of await listDue(env, now, selection)) {
    try {
      const decision = decideDue(entry, entry.nextDueAt, now);
      if (decision.due) claims.push({ entry, nextDueAt: decision.nextDueAt });
    } catch (e) {
      const stop = { entry, nextDueAt: null }; // unreadable schedule: stop firing (the jobs API validates on save)
      claims.push(stop);
      unreadable.add(stop);
      report.skipped.push({ jobId: entry.jobId, reason: e instanceof Error ? e.message : "invalid schedule" });
    }
  }
  const won = await claimTicks(env, claims); // another invocation may have claimed some: theirs to enqueue
  const starts = won.filter((c) => !unreadable.has(c));
  try {
    await enqueueRunStarts(env, starts);
  } catch (e) {
    await releaseTicks(env, starts); // not enqueued: the next tick takes them again
    throw e;
  }
  report.enqueued = starts.map((c) => c.entry.jobId);
  report.reconciling = await startDueReconciliations(env, now);
  for (const r of await staleRuns(env, now)) {
    await kickRunner(env, { tenant: r.tenant, jobId: r.job_id, runId: r.id });
    report.rekicked.push(r.id);
  }
  report.notifications = await handOffNotifications(env, {}, now);
  await sweepIdempotencyKeys(env, now);
  await sweepRetention(env, now);
  return report;
}

export async function scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  // scheduledTime is the minute boundary the trigger stands for, even when the invocation runs a little late.
  ctx.waitUntil(
    runSchedulerTick(env, controller.scheduledTime).then(
      (r) => {
        if (r.enqueued.length || r.rekicked.length || r.skipped.length || r.reconciling.length)
          console.log(JSON.stringify({ level: "info", msg: "scheduler tick", ...r, enqueued: r.enqueued.length }));
      },
      (e) => console.error(JSON.stringify({ level: "error", msg: "scheduler tick failed", error: e instanceof Error ? e.message : String(e) })),
    ),
  );
}
