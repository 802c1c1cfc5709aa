-- Quotas per tenant and retention (docs/api.md "Quotas", docs/operations.md "Retention"). Indexes only.

-- Runs started by hand in the last hour, per tenant (QUOTA_MANUAL_RUNS_PER_HOUR): one index range per run-now.
CREATE INDEX IF NOT EXISTS runs_manual_by_tenant ON runs (tenant, created_at) WHERE trigger = 'manual';

-- The retention sweep walks finished runs oldest first (RETENTION_DAYS, RETENTION_RECORD_ERRORS_DAYS); active runs
-- have no finished_at and are never in this index.
CREATE INDEX IF NOT EXISTS runs_finished_at ON runs (finished_at) WHERE finished_at IS NOT NULL;

-- Audit entries by age (the sweep deletes those older than RETENTION_DAYS).
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);

-- Notifications that are over (delivered or given up) by age; pending ones are never in this index.
CREATE INDEX IF NOT EXISTS outbox_done_by_age ON notifications_outbox (created_at) WHERE status IN ('sent', 'failed');
