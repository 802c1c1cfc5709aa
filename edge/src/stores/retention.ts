/**
 * Retention deletes (docs/operations.md "Retention"): each statement removes at most `limit` rows of one table that are
 * older than a cutoff (ISO timestamp), oldest first through an index (migration 0009), so a sweep's cost is bounded.
 *
 * A run is history only once it is over: runs still queued or running have no finished_at and are never touched, nor
 * their pages or errors. Each job keeps its latest run — by creation and by finish — with its pages and errors: a run
 * goes only when a later run of its job both started and finished after it. A run row goes after its pages and errors
 * (never leaving them behind), so a run with more than one batch of them leaves over several sweeps.
 */
import type { Env } from "../env";

/** `r` (a run) is over, finished before ?1, and its job has a run created and finished after it. */
const EXPIRED_RUN = `r.finished_at IS NOT NULL AND r.finished_at < ?1 AND r.status NOT IN ('queued', 'running')
  AND EXISTS (SELECT 1 FROM runs n WHERE n.tenant = r.tenant AND n.job_id = r.job_id AND n.created_at > r.created_at
              AND n.finished_at IS NOT NULL AND n.finished_at > r.finished_at)`;

const changes = (r: D1Result): number => r.meta.changes ?? 0;

/** Per-record errors of runs that finished before `cutoff`. */
export async function deleteExpiredRunErrors(db: D1Database, cutoff: string, limit: number): Promise<number> {
  const r = await db
    .prepare(
      `DELETE FROM run_errors WHERE (run_id, seq) IN (
       SELECT e.run_id, e.seq FROM runs r JOIN run_errors e ON e.run_id = r.id WHERE ${EXPIRED_RUN} ORDER BY r.finished_at LIMIT ?2)`,
    )
    .bind(cutoff, limit)
    .run();
  return changes(r);
}

/** The page log of runs that finished before `cutoff`. */
export async function deleteExpiredRunPages(db: D1Database, cutoff: string, limit: number): Promise<number> {
  const r = await db
    .prepare(
      `DELETE FROM run_pages WHERE (run_id, page) IN (
       SELECT p.run_id, p.page FROM runs r JOIN run_pages p ON p.run_id = r.id WHERE ${EXPIRED_RUN} ORDER BY r.finished_at LIMIT ?2)`,
    )
    .bind(cutoff, limit)
    .run();
  return changes(r);
}

/** Runs that finished before `cutoff` and have no pages or errors left. */
export async function deleteExpiredRuns(db: D1Database, cutoff: string, limit: number): Promise<number> {
  const r = await db
    .prepare(
      `DELETE FROM runs WHERE id IN (
       SELECT r.id FROM runs r WHERE ${EXPIRED_RUN}
         AND NOT EXISTS (SELECT 1 FROM run_pages p WHERE p.run_id = r.id)
         AND NOT EXISTS (SELECT 1 FROM run_errors e WHERE e.run_id = r.id)
       ORDER BY r.finished_at LIMIT ?2)`,
    )
    .bind(cutoff, limit)
    .run();
  return changes(r);
}

/** Audit entries recorded before `cutoff`. */
export async function deleteExpiredAuditEntries(db: D1Database, cutoff: string, limit: number): Promise<number> {
  const r = await db.prepare("DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ?1 ORDER BY at LIMIT ?2)").bind(cutoff, limit).run();
  return changes(r);
}

/** Notifications created before `cutoff` that are over: sent, or given up (failed). Pending ones always stay. */
export async function deleteExpiredNotifications(env: Env, cutoff: string, limit: number): Promise<number> {
  const r = await env.DATA.prepare(
    "DELETE FROM notifications_outbox WHERE id IN (SELECT id FROM notifications_outbox WHERE status IN ('sent', 'failed') AND created_at < ?1 ORDER BY created_at LIMIT ?2)",
  )
    .bind(cutoff, limit)
    .run();
  return changes(r);
}
