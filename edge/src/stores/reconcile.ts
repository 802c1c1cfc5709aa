/**
 * Reconciliation in D1 (docs/sync.md "Reconciliation"): the marks a reconciliation's pages commit (table
 * `reconcile_marks`, migration 0008), the sweep's candidates, and which jobs are due for their automatic one.
 * `table` and `idColumn` are the quoted names from object-tables.ts.
 */
import type { Env } from "../env";
import { allShardDbs } from "./shards";
import { jsonChunks } from "./json-chunks";
import { SYSTEM_COLUMNS } from "./object-tables";

const { id: ID, org: ORG, deleted: DELETED, updatedAt: UPDATED } = SYSTEM_COLUMNS;

/** Marks the primary ids one page read (lower-case): one INSERT per JSON chunk, for the page's batch. */
export function markIdsStatements(db: D1Database, runId: string, sourceIds: string[]): D1PreparedStatement[] {
  return jsonChunks(sourceIds).map((c) =>
    db.prepare("INSERT OR IGNORE INTO reconcile_marks (run_id, source_id) SELECT ?, value FROM json_each(?)").bind(runId, c.json),
  );
}

export function forgetMarksStatement(db: D1Database, runId: string): D1PreparedStatement {
  return db.prepare("DELETE FROM reconcile_marks WHERE run_id = ?").bind(runId);
}

/** What the sweep would do: the job's known records, and the `_id`s of those whose source id was not marked. */
export interface SweepCandidates {
  known: number;
  gone: string[];
}

/**
 * The records a reconciliation answers for — this organization's (`_org`), with a value in the job's primary-id
 * identifier column, not deleted, and last written before the reconciliation started (a record written since, by
 * another job, is never swept on the strength of an older read) — and which of them no page marked.
 */
export async function sweepCandidates(
  db: D1Database,
  q: { table: string; idColumn: string; org: string; runId: string; startedAt: string },
): Promise<SweepCandidates> {
  const scope = `${ORG} = ?1 AND ${q.idColumn} IS NOT NULL AND ${DELETED} = 0 AND ${UPDATED} < ?2`;
  const known = await db.prepare(`SELECT COUNT(*) AS n FROM ${q.table} WHERE ${scope}`).bind(q.org, q.startedAt).first<{ n: number }>();
  const { results } = await db
    .prepare(
      `SELECT ${ID} AS id FROM ${q.table} WHERE ${scope}
       AND NOT EXISTS (SELECT 1 FROM reconcile_marks m WHERE m.run_id = ?3 AND m.source_id = lower(${q.table}.${q.idColumn}))`,
    )
    .bind(q.org, q.startedAt, q.runId)
    .all<{ id: string }>();
  return { known: known?.n ?? 0, gone: results.map((r) => r.id) };
}

/**
 * Jobs due for their automatic reconciliation: enabled, read with the keyset strategy (no change tracking, so no
 * delete signals), and with no reconciliation created since `since` (ISO) — whatever its outcome, so a failing one is
 * tried again a day later, not every tick. Longest-waiting first.
 */
export async function dueReconciliations(env: Env, since: string, limit = 20): Promise<Array<{ tenant: string; jobId: string }>> {
  // sync_state and runs live in each tenant's shard, the enabled flag in the primary's schedule index: each shard names
  // its keyset jobs without a recent reconciliation (a few times `limit`, as some may be disabled), the primary keeps the
  // enabled ones, and the longest-waiting across shards go first.
  const candidates: Array<{ tenant: string; jobId: string; last: string | null }> = [];
  for (const { db } of allShardDbs(env)) {
    const { results } = await db
      .prepare(
        `SELECT st.tenant AS tenant, st.job_id AS jobId,
                (SELECT MAX(r.created_at) FROM runs r WHERE r.tenant = st.tenant AND r.job_id = st.job_id AND r.kind = 'reconcile') AS last
           FROM sync_state st
          WHERE st.strategy = 'keyset'
            AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.tenant = st.tenant AND r.job_id = st.job_id AND r.kind = 'reconcile' AND r.created_at >= ?1)
          ORDER BY last IS NOT NULL, last
          LIMIT ?2`,
      )
      .bind(since, limit * 5)
      .all<{ tenant: string; jobId: string; last: string | null }>();
    candidates.push(...results);
  }
  if (!candidates.length) return [];
  const { results: enabled } = await env.DATA.prepare(
    `SELECT s.tenant AS tenant, s.job_id AS jobId FROM json_each(?1) AS c
       JOIN schedule_index s ON s.tenant = json_extract(c.value, '$.tenant') AND s.job_id = json_extract(c.value, '$.jobId')
      WHERE s.enabled = 1`,
  )
    .bind(JSON.stringify(candidates.map((c) => ({ tenant: c.tenant, jobId: c.jobId }))))
    .all<{ tenant: string; jobId: string }>();
  const on = new Set(enabled.map((e) => `${e.tenant}\u0000${e.jobId}`));
  return candidates
    .filter((c) => on.has(`${c.tenant}\u0000${c.jobId}`))
    .sort((a, b) => (a.last === null ? (b.last === null ? 0 : -1) : b.last === null ? 1 : a.last.localeCompare(b.last)))
    .slice(0, limit)
    .map((c) => ({ tenant: c.tenant, jobId: c.jobId }));
}
