/**
 * The page guard (table `run_pages`): every page batch starts with the row (run, page). A page committed already (a
 * retried or duplicated step) fails on its primary key; a page of a run that is no longer active (cancelled while the
 * page was fetched) gets a NULL committed_at, a NOT NULL violation. Either way the whole batch rolls back, so nothing
 * of the page — records, error rows, checkpoint, sync state — is written twice or after the run ended.
 */

export function pageGuardStatement(db: D1Database, runId: string, page: number, now: string): D1PreparedStatement {
  return db
    .prepare("INSERT INTO run_pages (run_id, page, committed_at) SELECT ?, ?, CASE WHEN status IN ('queued','running') THEN ? END FROM runs WHERE id = ?")
    .bind(runId, page, now, runId);
}

/** Why the guard rolled a batch back: `duplicate` (committed already), `stopped` (the run ended), or null (another error). */
export function guardRefusal(e: unknown): "duplicate" | "stopped" | null {
  if (e instanceof Error && /UNIQUE constraint failed: run_pages/i.test(e.message)) return "duplicate";
  if (e instanceof Error && /NOT NULL constraint failed: run_pages\.committed_at/i.test(e.message)) return "stopped";
  return null;
}
