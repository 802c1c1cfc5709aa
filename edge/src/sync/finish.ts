/** What happens once when a run ends: notifications (outbox rows, handed to the notification queue) and chained jobs. */
import type { Env } from "../env";
import { handOffNotifications } from "../queues/notifications";
import { getJob } from "../stores/jobs";
import { enqueueNotifications } from "./notify";
import { forgetMarksStatement } from "../stores/reconcile";
import { getRunRow, RunInProgressError, toRun } from "../stores/runs";
import { listChildren } from "../stores/schedule-index";
import { dbFor } from "../stores/shards";
import { startRun } from "./start";

export async function onRunFinished(env: Env, tenant: string, runId: string): Promise<void> {
  const row = await getRunRow(env, tenant, runId);
  if (!row) return;
  const run = toRun(row);
  // A reconciliation that ended before its sweep (failed, cancelled, over the threshold) leaves marks: they go now.
  if (row.kind === "reconcile") await forgetMarksStatement(await dbFor(env, tenant), runId).run();
  const job = await getJob(env, tenant, row.job_id);
  if (job) {
    try {
      await enqueueNotifications(env, tenant, job, run);
      await handOffNotifications(env, { runId }); // the notification queue delivers them (queues/notifications.ts)
    } catch (e) {
      console.error(JSON.stringify({ level: "error", msg: "run notifications failed", runId, error: e instanceof Error ? e.message : String(e) }));
    }
  }
  // Chains: children run after the parent ends with data (succeeded or partial); a failed parent does not cascade, nor
  // does a reconciliation (it brings no new data).
  if (row.kind === "sync" && (run.status === "succeeded" || run.status === "partial")) {
    for (const child of await listChildren(env, tenant, row.job_id)) {
      try {
        await startRun(env, tenant, child, "chain", runId);
      } catch (e) {
        if (!(e instanceof RunInProgressError))
          console.error(JSON.stringify({ level: "error", msg: "chained run not started", child, error: e instanceof Error ? e.message : String(e) }));
      }
    }
  }
}
