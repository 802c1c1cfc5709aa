/**
 * The cron trigger (every minute): start due scheduled jobs and the daily reconciliations (sync/reconcile.ts), re-kick
 * runs whose runner went quiet, retry webhooks and e-mails.
 * Due-ness is a D1 query on the schedule index; each tick is claimed with a compare-and-set so overlapping
 * invocations never double-run a job, and missed ticks (the Worker was down for an hour) coalesce into one run.
 */
import type { Env } from "../env";
import { deliverEmails } from "../mail/sender";
import { sweepIdempotencyKeys } from "../stores/idempotency-keys";
import { RunInProgressError, staleRuns } from "../stores/runs";
import { claimTick, listDue } from "../stores/schedule-index";
import { decideDue } from "./cron";
import { deliverWebhooks } from "./notify";
import { startDueReconciliations } from "./reconcile";
import { kickRunner } from "./runner-api";
import { sweepRetention } from "./retention";
import { startRun } from "./start";

interface TickReport {
  started: string[];
  skipped: Array<{ jobId: string; reason: string }>;
  rekicked: string[];
  /** Jobs whose automatic reconciliation this tick started. */
  reconciling: string[];
  webhooks: number;
  emails: number;
}

export async function runSchedulerTick(env: Env, now: number): Promise<TickReport> {
  const report: TickReport = { started: [], skipped: [], rekicked: [], reconciling: [], webhooks: 0, emails: 0 };
  for (const entry of await listDue(env, now)) {
    let decision;
    try {
      decision = decideDue(entry, entry.nextDueAt, now);
    } catch (e) {
      await claimTick(env, entry, null); // unreadable schedule: stop firing (the jobs API validates on save)
      report.skipped.push({ jobId: entry.jobId, reason: e instanceof Error ? e.message : "invalid schedule" });
      continue;
    }
    if (!decision.due) continue;
    if (!(await claimTick(env, entry, decision.nextDueAt))) continue; // another invocation claimed it
    try {
      await startRun(env, entry.tenant, entry.jobId, "schedule");
      report.started.push(entry.jobId);
    } catch (e) {
      report.skipped.push({ jobId: entry.jobId, reason: e instanceof RunInProgressError ? "run in progress" : e instanceof Error ? e.message : String(e) });
    }
  }
  report.reconciling = await startDueReconciliations(env, now);
  for (const r of await staleRuns(env, now)) {
    await kickRunner(env, { tenant: r.tenant, jobId: r.job_id, runId: r.id });
    report.rekicked.push(r.id);
  }
  report.webhooks = await deliverWebhooks(env);
  report.emails = await deliverEmails(env);
  await sweepIdempotencyKeys(env, now);
  await sweepRetention(env, now);
  return report;
}

export async function scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  // scheduledTime is the minute boundary the trigger stands for, even when the invocation runs a little late.
  ctx.waitUntil(
    runSchedulerTick(env, controller.scheduledTime).then(
      (r) => {
        if (r.started.length || r.rekicked.length || r.skipped.length || r.reconciling.length)
          console.log(JSON.stringify({ level: "info", msg: "scheduler tick", ...r }));
      },
      (e) => console.error(JSON.stringify({ level: "error", msg: "scheduler tick failed", error: e instanceof Error ? e.message : String(e) })),
    ),
  );
}
