-- Partitioned first loads (docs/scaling.md "Parallel partitions"): a run's full read split into createdon ranges read
-- side by side. Each partition has its own keyset position, its own page count (its page guard numbers are its own,
-- stores/run-partitions.ts) and its own share of the counts; the run row carries the sums. The rows go when the run
-- ends (stores/runs.ts finishRun).
CREATE TABLE IF NOT EXISTS run_partitions (
  run_id TEXT NOT NULL,
  partition INTEGER NOT NULL,
  -- half-open createdon range [created_from, created_to); NULL = unbounded on that side
  created_from TEXT,
  created_to TEXT,
  keyset_modifiedon TEXT,
  keyset_version INTEGER,
  pages INTEGER NOT NULL DEFAULT 0,
  read_count INTEGER NOT NULL DEFAULT 0,
  done INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
  PRIMARY KEY (run_id, partition)
) WITHOUT ROWID;
