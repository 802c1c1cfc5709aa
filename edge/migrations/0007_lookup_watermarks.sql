-- Freshness through lookups (docs/sync.md "Fields through lookups stay fresh"): per job and looked-up table, that
-- table's highest versionnumber (Dataverse's row version: it grows with every change of a row) as a run saw it at its
-- start. The job's next run re-reads the rows whose looked-up record changed since (`<nav>/versionnumber gt <version>`).
-- Written in the batch of the run's last page.
-- Records per organization (docs/decisions/0007-identifiers-per-organization.md) need no statement here: the target
-- tables are created per (tenant, object) at run time, and ensureObjectTable adds their `_org` column.
CREATE TABLE IF NOT EXISTS lookup_watermarks (
  tenant TEXT NOT NULL,
  job_id TEXT NOT NULL,
  entity TEXT NOT NULL,
  version INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (tenant, job_id, entity)
) WITHOUT ROWID;
