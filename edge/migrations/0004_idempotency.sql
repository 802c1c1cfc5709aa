-- Idempotency keys (docs/api.md "Retries and Idempotency-Key"): the first request with a key claims the row
-- (status NULL while it runs), then stores its response so a retry of the same request gets the same answer instead of
-- doing the work twice. Scoped by tenant; `fingerprint` is SHA-256 of method, path and body (never the body itself).
-- Rows older than 24 h are swept by the cron trigger.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  tenant TEXT NOT NULL,
  key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  status INTEGER,
  body TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_age ON idempotency_keys (created_at);
