-- Service-protection headroom seen during a run (docs/sync.md "Service-protection headroom"): the minimum of Dataverse's
-- x-ms-ratelimit-burst-remaining-xrm-requests (requests left in the 5-minute window) and
-- x-ms-ratelimit-time-remaining-xrm-requests (execution time left, in ms) over every response the run received.
-- NULL when the run saw no such header (failed before reaching Dataverse, or an org that does not send them).
ALTER TABLE runs ADD COLUMN headroom_requests INTEGER;
ALTER TABLE runs ADD COLUMN headroom_time_ms INTEGER;

-- Latest finished run per job, for GET /connections (lastSync, readiness headroom): one indexed query per tenant.
CREATE INDEX IF NOT EXISTS runs_finished_by_job ON runs (tenant, job_id, finished_at DESC) WHERE finished_at IS NOT NULL;
