-- Reconciliation (docs/sync.md "Reconciliation"): a run of kind 'reconcile' reads only the primary ids of the job's
-- table and applies the job's delete policy to the records whose ids were not among them. `kind` is fixed when the run
-- is created (POST /jobs/:id/runs { "reconcile": true }, or the daily one the cron tick starts); `strategy` stays what
-- the read plan says. `max_delete_percent` is the run's own threshold when the request set one (else the deployment's).
ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'sync' CHECK (kind IN ('sync', 'reconcile'));
ALTER TABLE runs ADD COLUMN max_delete_percent INTEGER;
-- When each job was last reconciled (the cron tick's "at most once a day"): one index probe per job.
CREATE INDEX IF NOT EXISTS runs_reconcile_by_job ON runs (tenant, job_id, created_at DESC) WHERE kind = 'reconcile';

-- The marks of a reconciliation: every primary id a page read, committed in that page's batch (lower-case GUID text).
-- The sweep runs once, in the batch of the last page, over the records whose id is not marked; a reconciliation that
-- did not read every page never sweeps. Rows are removed when the run ends.
CREATE TABLE IF NOT EXISTS reconcile_marks (
  run_id TEXT NOT NULL,
  source_id TEXT NOT NULL,
  PRIMARY KEY (run_id, source_id)
) WITHOUT ROWID;

-- E-mail notifications carry an HTML part next to the plain text in `body` (docs/sync.md "Notifications").
ALTER TABLE notifications_outbox ADD COLUMN html TEXT;
