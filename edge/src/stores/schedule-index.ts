/**
 * The schedule index: one D1 row per job (scheduled or not) with its next cron tick and its parent, so the cron
 * handler's "which jobs are due" and a finished run's "which jobs chain after me" are indexed queries, not KV scans.
 * The jobs store calls `syncScheduleIndex` on every create / replace / delete / enable change.
 */
import type { Job } from "#contract/job";
import type { Env } from "../env";
import { nextTick } from "../sync/cron";

export async function syncScheduleIndex(env: Env, tenant: string, job: Job | { id: string; deleted: true }): Promise<void> {
  if ("deleted" in job) {
    await env.DATA.prepare("DELETE FROM schedule_index WHERE tenant = ? AND job_id = ?").bind(tenant, job.id).run();
    return;
  }
  const now = Date.now();
  let cron: string | null = null;
  let tz: string | null = null;
  let next: number | null = null;
  if (job.schedule) {
    cron = job.schedule.cron;
    tz = job.schedule.timezone;
    try {
      next = nextTick(job.schedule, now);
    } catch {
      next = null; // the jobs route validates schedules; an unreadable one simply never fires
    }
  }
  // Keep the claimed tick when the schedule did not change, so re-saving a job never re-fires or skips a tick.
  await env.DATA.prepare(
    `INSERT INTO schedule_index (tenant, job_id, enabled, cron, timezone, next_due_at, last_tick_at, depends_on, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8)
     ON CONFLICT (tenant, job_id) DO UPDATE SET
       enabled = excluded.enabled,
       next_due_at = CASE WHEN schedule_index.cron IS excluded.cron AND schedule_index.timezone IS excluded.timezone
                           AND schedule_index.next_due_at IS NOT NULL AND schedule_index.enabled = 1 AND excluded.enabled = 1
                          THEN schedule_index.next_due_at ELSE excluded.next_due_at END,
       cron = excluded.cron, timezone = excluded.timezone,
       depends_on = excluded.depends_on, updated_at = excluded.updated_at`,
  )
    .bind(tenant, job.id, job.enabled ? 1 : 0, cron, tz, next, job.dependsOn ?? null, new Date(now).toISOString())
    .run();
}

interface DueEntry {
  tenant: string;
  jobId: string;
  cron: string;
  timezone: string;
  nextDueAt: number;
}

export async function listDue(env: Env, now: number, limit = 200): Promise<DueEntry[]> {
  const { results } = await env.DATA.prepare(
    "SELECT tenant, job_id, cron, timezone, next_due_at FROM schedule_index WHERE enabled = 1 AND next_due_at IS NOT NULL AND next_due_at <= ? ORDER BY next_due_at LIMIT ?",
  )
    .bind(now, limit)
    .all<{ tenant: string; job_id: string; cron: string; timezone: string; next_due_at: number }>();
  return results.map((r) => ({ tenant: r.tenant, jobId: r.job_id, cron: r.cron, timezone: r.timezone, nextDueAt: r.next_due_at }));
}

/** Compare-and-set: only one cron invocation can claim a tick (two overlapping invocations never both run the job). */
export async function claimTick(env: Env, e: DueEntry, nextDueAt: number | null): Promise<boolean> {
  const r = await env.DATA.prepare(
    "UPDATE schedule_index SET next_due_at = ?, last_tick_at = ? WHERE tenant = ? AND job_id = ? AND next_due_at = ?",
  )
    .bind(nextDueAt, e.nextDueAt, e.tenant, e.jobId, e.nextDueAt)
    .run();
  return (r.meta.changes ?? 0) === 1;
}

export async function listChildren(env: Env, tenant: string, parentJobId: string): Promise<string[]> {
  const { results } = await env.DATA.prepare("SELECT job_id FROM schedule_index WHERE tenant = ? AND depends_on = ? AND enabled = 1 ORDER BY job_id")
    .bind(tenant, parentJobId)
    .all<{ job_id: string }>();
  return results.map((r) => r.job_id);
}
