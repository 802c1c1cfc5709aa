-- Sync engine: runs, per-record errors, page log (idempotency), sync state (delta links / keyset cursors),
-- schedule index (cron due-ness as a query) and the notifications outbox. See docs/sync.md.

-- One row per run. The run's cursor (next_link / keyset_*) and counts are its checkpoint: they change only in the same
-- D1 batch (= one transaction) that writes the page's records.
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  job_id TEXT NOT NULL,
  trigger TEXT NOT NULL CHECK (trigger IN ('manual', 'schedule', 'chain')),
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'partial', 'failed')),
  strategy TEXT CHECK (strategy IN ('full', 'delta', 'keyset')),
  parent_run_id TEXT,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  read_count INTEGER NOT NULL DEFAULT 0,
  inserted_count INTEGER NOT NULL DEFAULT 0,
  updated_count INTEGER NOT NULL DEFAULT 0,
  deleted_count INTEGER NOT NULL DEFAULT 0,
  skipped_count INTEGER NOT NULL DEFAULT 0,
  failed_count INTEGER NOT NULL DEFAULT 0,
  error_rows INTEGER NOT NULL DEFAULT 0,
  pages INTEGER NOT NULL DEFAULT 0,
  total_estimate INTEGER,
  notes TEXT NOT NULL DEFAULT '[]',
  error_code TEXT,
  error_message TEXT,
  -- cursor: 'init' (nothing fetched), 'pages' (next_link or keyset cursor is where to continue), 'done' (all pages written)
  phase TEXT NOT NULL DEFAULT 'init' CHECK (phase IN ('init', 'pages', 'done')),
  plan TEXT, -- JSON: entity set, select, expand, keyset flag, page size … fixed at init so a resumed run reads the same way
  next_link TEXT,
  keyset_modifiedon TEXT,
  keyset_version INTEGER,
  pending_delta_link TEXT,
  -- the runner's lease: a run whose lease is older than a few minutes is re-kicked by the cron handler
  lease_until INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0
);
-- Exactly one active run per job, atomically: a second INSERT fails with a UNIQUE constraint error → 409 run_in_progress.
CREATE UNIQUE INDEX IF NOT EXISTS runs_one_active ON runs (tenant, job_id) WHERE status IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS runs_by_job ON runs (tenant, job_id, created_at DESC);
CREATE INDEX IF NOT EXISTS runs_active_lease ON runs (status, lease_until) WHERE status IN ('queued', 'running');

-- Page log: (run, page number) is inserted FIRST in every page batch; a retried or duplicated page step hits the primary
-- key, the whole batch rolls back, and nothing is written twice.
CREATE TABLE IF NOT EXISTS run_pages (
  run_id TEXT NOT NULL,
  page INTEGER NOT NULL,
  committed_at TEXT NOT NULL,
  PRIMARY KEY (run_id, page)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS run_errors (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  tenant TEXT NOT NULL,
  source_id TEXT NOT NULL,
  field TEXT,
  value TEXT,
  reason TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

-- Per job: where the next run starts. Delta links (change tracking) and keyset cursors (modifiedon + versionnumber).
-- config_hash: the source part of the job (entity, filter, select, expand) the state belongs to; a changed job starts over.
CREATE TABLE IF NOT EXISTS sync_state (
  tenant TEXT NOT NULL,
  job_id TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  strategy TEXT NOT NULL CHECK (strategy IN ('delta', 'keyset')),
  delta_link TEXT,
  keyset_modifiedon TEXT,
  keyset_version INTEGER,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (tenant, job_id)
) WITHOUT ROWID;

-- Every job (scheduled or not) so cron due-ness and chain children are queries, not KV scans.
CREATE TABLE IF NOT EXISTS schedule_index (
  tenant TEXT NOT NULL,
  job_id TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  cron TEXT,
  timezone TEXT,
  next_due_at INTEGER, -- epoch ms of the next tick; NULL when not scheduled
  last_tick_at INTEGER, -- the tick last claimed (missed ticks are coalesced into one run)
  depends_on TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (tenant, job_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS schedule_due ON schedule_index (next_due_at) WHERE enabled = 1 AND next_due_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS schedule_children ON schedule_index (tenant, depends_on) WHERE depends_on IS NOT NULL;

-- Run-end notifications: one row per email recipient and one per webhook delivery. The webhook is delivered by the
-- edge (signed, retried); emails wait here for a sender (see docs/sync.md "Notifications").
CREATE TABLE IF NOT EXISTS notifications_outbox (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  run_id TEXT NOT NULL,
  job_id TEXT NOT NULL,
  channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
  recipient TEXT NOT NULL,
  subject TEXT,
  body TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  created_at TEXT NOT NULL,
  sent_at TEXT,
  UNIQUE (run_id, channel, recipient)
);
CREATE INDEX IF NOT EXISTS outbox_pending ON notifications_outbox (channel, status, next_attempt_at);

-- Attribute types of the mapped source attributes as last seen by a successful run (schema drift baseline).
-- Re-baselined when the job is saved again (job_updated_at differs), so an admin fixes drift by editing the job.
CREATE TABLE IF NOT EXISTS job_schema (
  tenant TEXT NOT NULL,
  job_id TEXT NOT NULL,
  job_updated_at TEXT NOT NULL,
  attributes TEXT NOT NULL, -- JSON { logicalName: type }
  updated_at TEXT NOT NULL,
  PRIMARY KEY (tenant, job_id)
) WITHOUT ROWID;
