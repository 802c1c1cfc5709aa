-- D1 shards (docs/scaling.md "D1 shards", docs/decisions/0013-d1-shards-and-tenant-directory.md). Every shard gets every
-- migration (one schema everywhere); this table is only ever used in the primary database (binding DATA).

-- The tenant directory: which D1 binding holds a host tenant's data. A row is written once, when the tenant is first
-- seen (placement), and changed only by an operator's move (state 'moving' while rows are copied: the tenant's requests,
-- run starts and runner slices are refused with tenant_moving until the row flips to the new shard and 'active').
CREATE TABLE IF NOT EXISTS tenant_shards (
  tenant TEXT PRIMARY KEY,
  shard TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'moving')),
  placed_at TEXT NOT NULL,
  moved_at TEXT
);

-- Placement counts tenants per shard.
CREATE INDEX IF NOT EXISTS tenant_shards_by_shard ON tenant_shards (shard);

-- The cron's listDue leaves out tenants being moved (their schedules pause during a move).
CREATE INDEX IF NOT EXISTS tenant_shards_moving ON tenant_shards (tenant) WHERE state = 'moving';
