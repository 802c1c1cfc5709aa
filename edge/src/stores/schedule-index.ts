/**
 * The schedule index: one D1 row per job (scheduled or not) with its next cron tick and its parent, so the cron
 * handler's "which jobs are due" and a finished run's "which jobs chain after me" are indexed queries, not KV scans.
 * The jobs store calls `syncScheduleIndex` on every create / replace / delete / enable change; its parent links are
 * also where a dependency loop is refused atomically (the jobs validation's walk over KV is only a friendly first check).
 */
import type { Job } from "#contract/job";
import type { Env } from "../env";
import { nextTick } from "../sync/cron";

/**
 * Writes the job's row. Returns false — and writes nothing — when the job's `dependsOn` would close a loop: the walk up
 * the new parent's chain (a recursive CTE over `depends_on`) and the write are ONE statement, so two concurrent saves
 * (A → B and B → A) can't both pass; D1 runs statements one at a time, and the second one sees the first's edge.
 */
export async function syncScheduleIndex(env: Env, tenant: string, job: Job | { id: string; deleted: true }): Promise<boolean> {
  if ("deleted" in job) {
    await env.DATA.prepare("DELETE FROM schedule_index WHERE tenant = ? AND job_id = ?").bind(tenant, job.id).run();
    return true;
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
  // `up` walks from the new parent (?7) towards the roots; reaching this job (?2) means the edge would close a loop. An
  // unchanged parent is not re-checked (re-saving or disabling a job never fails on a loop stored before this check
  // existed); the hop bound only stops a walk through such a loop.
  const r = await env.DATA.prepare(
    `INSERT INTO schedule_index (tenant, job_id, enabled, cron, timezone, next_due_at, last_tick_at, depends_on, updated_at)
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8
     WHERE ?7 IS NULL
        OR EXISTS (SELECT 1 FROM schedule_index WHERE tenant = ?1 AND job_id = ?2 AND depends_on = ?7)
        OR NOT EXISTS (
       WITH RECURSIVE up(job_id, hops) AS (
         SELECT ?7, 0
         UNION
         SELECT s.depends_on, up.hops + 1 FROM schedule_index s JOIN up ON s.tenant = ?1 AND s.job_id = up.job_id
         WHERE s.depends_on IS NOT NULL AND up.hops < ${MAX_CHAIN_WALK}
       )
       SELECT 1 FROM up WHERE up.job_id = ?2
     )
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
  return (r.meta.changes ?? 0) > 0;
}

/** How far the loop check walks up a chain (far beyond any real chain; runs stop at a much smaller depth). */
const MAX_CHAIN_WALK = 1000;

export interface DueEntry {
  tenant: string;
  jobId: string;
  cron: string;
  timezone: string;
  nextDueAt: number;
}

/** How much due work one cron tick takes: at most `limit` entries, at most `perTenant` of them from any one tenant. */
export interface DueSelection {
  limit: number;
  perTenant: number;
}

/**
 * The due entries one tick takes, in fair order: every tenant with due work gets its oldest entry before any tenant gets
 * its second (ROW_NUMBER per tenant = the entry's turn; turns are taken round by round, the oldest first within a
 * round), so one tenant with thousands of due jobs can't push another tenant's job out of the tick. The window runs over
 * the due rows only (index schedule_due). A tenant an operator is moving between D1 shards (stores/shards.ts) is left
 * out: its schedules pause, and the ticks missed meanwhile coalesce into one run after the move.
 */
export async function listDue(env: Env, now: number, sel: DueSelection): Promise<DueEntry[]> {
  const { results } = await env.DATA.prepare(
    `SELECT tenant, job_id, cron, timezone, next_due_at FROM (
       SELECT tenant, job_id, cron, timezone, next_due_at, ROW_NUMBER() OVER (PARTITION BY tenant ORDER BY next_due_at, job_id) AS turn
         FROM schedule_index WHERE enabled = 1 AND next_due_at IS NOT NULL AND next_due_at <= ?1
          AND tenant NOT IN (SELECT tenant FROM tenant_shards WHERE state = 'moving')
     ) WHERE turn <= ?2 ORDER BY turn, next_due_at, tenant, job_id LIMIT ?3`,
  )
    .bind(now, sel.perTenant, sel.limit)
    .all<{ tenant: string; job_id: string; cron: string; timezone: string; next_due_at: number }>();
  return results.map((r) => ({ tenant: r.tenant, jobId: r.job_id, cron: r.cron, timezone: r.timezone, nextDueAt: r.next_due_at }));
}

/** A tick to claim: the entry as listed, and where its next_due_at goes (null: never again, e.g. an unreadable schedule). */
export interface TickClaim {
  entry: DueEntry;
  nextDueAt: number | null;
}

/** Entries per claim statement: the JSON parameter stays far below D1's 2 MB per value. */
const CLAIM_CHUNK = 500;

/**
 * Compare-and-set, set-based: each entry's tick is claimed only if next_due_at still is the one listed, so of two
 * overlapping cron invocations exactly one wins each tick. One statement per 500 entries (the claims travel as one
 * JSON parameter), all in one batch. Returns the claims this call won.
 */
export async function claimTicks(env: Env, claims: TickClaim[]): Promise<TickClaim[]> {
  if (!claims.length) return [];
  const stmts: D1PreparedStatement[] = [];
  for (let i = 0; i < claims.length; i += CLAIM_CHUNK) {
    const chunk = claims.slice(i, i + CLAIM_CHUNK).map((c) => [c.entry.tenant, c.entry.jobId, c.entry.nextDueAt, c.nextDueAt]);
    stmts.push(
      env.DATA.prepare(
        `UPDATE schedule_index SET next_due_at = json_extract(c.value, '$[3]'), last_tick_at = schedule_index.next_due_at
           FROM json_each(?1) AS c
          WHERE schedule_index.tenant = json_extract(c.value, '$[0]') AND schedule_index.job_id = json_extract(c.value, '$[1]')
            AND schedule_index.next_due_at = json_extract(c.value, '$[2]')
          RETURNING tenant, job_id`,
      ).bind(JSON.stringify(chunk)),
    );
  }
  const won = new Set<string>();
  for (const r of await env.DATA.batch<{ tenant: string; job_id: string }>(stmts)) for (const row of r.results) won.add(`${row.tenant}\u0000${row.job_id}`);
  return claims.filter((c) => won.has(`${c.entry.tenant}\u0000${c.entry.jobId}`));
}

/**
 * Gives claimed ticks back (their messages could not be enqueued): next_due_at returns to the tick, so the next cron
 * tick takes them again — only where nothing moved the entry since (a re-saved schedule keeps its own).
 */
export async function releaseTicks(env: Env, claims: TickClaim[]): Promise<void> {
  if (!claims.length) return;
  const stmts: D1PreparedStatement[] = [];
  for (let i = 0; i < claims.length; i += CLAIM_CHUNK) {
    const chunk = claims.slice(i, i + CLAIM_CHUNK).map((c) => [c.entry.tenant, c.entry.jobId, c.entry.nextDueAt, c.nextDueAt]);
    stmts.push(
      env.DATA.prepare(
        `UPDATE schedule_index SET next_due_at = json_extract(c.value, '$[2]')
           FROM json_each(?1) AS c
          WHERE schedule_index.tenant = json_extract(c.value, '$[0]') AND schedule_index.job_id = json_extract(c.value, '$[1]')
            AND schedule_index.last_tick_at = json_extract(c.value, '$[2]') AND schedule_index.next_due_at IS json_extract(c.value, '$[3]')`,
      ).bind(JSON.stringify(chunk)),
    );
  }
  await env.DATA.batch(stmts);
}

export async function listChildren(env: Env, tenant: string, parentJobId: string): Promise<string[]> {
  const { results } = await env.DATA.prepare("SELECT job_id FROM schedule_index WHERE tenant = ? AND depends_on = ? AND enabled = 1 ORDER BY job_id")
    .bind(tenant, parentJobId)
    .all<{ job_id: string }>();
  return results.map((r) => r.job_id);
}
