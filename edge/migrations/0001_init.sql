-- Edge configuration data in D1 (connections and jobs live in KV; see architecture.md "Storage").
-- Target object definitions per host tenant. Records live in one table per (tenant, object), created by the edge
-- (stores/objects.ts) with the naming convention of stores/object-tables.ts.
CREATE TABLE IF NOT EXISTS objects (
  tenant     TEXT NOT NULL,
  name_key   TEXT NOT NULL,          -- lower-case name: object names are unique case-insensitively
  name       TEXT NOT NULL,
  label      TEXT NOT NULL,
  standard   INTEGER NOT NULL DEFAULT 0,
  fields     TEXT NOT NULL,          -- JSON ObjectField[]
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (tenant, name_key)
);

-- Audit log of every configuration change: who, when, what changed (a diff).
CREATE TABLE IF NOT EXISTS audit_log (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant        TEXT NOT NULL,
  at            TEXT NOT NULL,
  actor_sub     TEXT NOT NULL,
  actor_email   TEXT,
  action        TEXT NOT NULL,
  resource_type TEXT NOT NULL,
  resource_id   TEXT NOT NULL,
  changes       TEXT NOT NULL        -- JSON Change[]
);
CREATE INDEX IF NOT EXISTS audit_log_tenant_id ON audit_log (tenant, id DESC);
CREATE INDEX IF NOT EXISTS audit_log_tenant_resource ON audit_log (tenant, resource_type, resource_id, id DESC);
