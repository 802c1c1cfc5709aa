/**
 * Idempotency keys (table `idempotency_keys`, docs/api.md "Retries and Idempotency-Key"): the first request with a key
 * claims the row (status NULL while it runs), then stores its answer so a retry of the same request replays it.
 * Scoped by tenant; only a fingerprint of the request is kept. The policy (what is kept, when) is http/idempotency.ts.
 */
import type { Env } from "../env";

/** How long an answer can be replayed; older keys are swept and may be claimed again. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** A claim still unanswered after this long was abandoned (its isolate died mid-request): the same request may retry. */
export const IDEMPOTENCY_ABANDONED_MS = 2 * 60 * 1000;

interface StoredKey {
  fingerprint: string;
  /** null while the first request is still being processed */
  status: number | null;
  body: string | null;
  created_at: number;
}

/**
 * Claims `key` for the request `fingerprint`: a new key, an expired one, or one abandoned by the same request.
 * False when someone else holds it (then `getKey` says who).
 */
export async function claimKey(env: Env, tenant: string, key: string, fingerprint: string, now: number): Promise<boolean> {
  const claimed = await env.DATA.prepare(
    `INSERT INTO idempotency_keys (tenant, key, fingerprint, status, body, created_at) VALUES (?, ?, ?, NULL, NULL, ?)
     ON CONFLICT (tenant, key) DO UPDATE SET fingerprint = excluded.fingerprint, status = NULL, body = NULL, created_at = excluded.created_at
     WHERE idempotency_keys.created_at < ?
        OR (idempotency_keys.status IS NULL AND idempotency_keys.created_at < ? AND idempotency_keys.fingerprint = excluded.fingerprint)`,
  )
    .bind(tenant, key, fingerprint, now, now - IDEMPOTENCY_TTL_MS, now - IDEMPOTENCY_ABANDONED_MS)
    .run();
  return claimed.meta.changes !== 0;
}

export async function getKey(env: Env, tenant: string, key: string): Promise<StoredKey | null> {
  return env.DATA.prepare("SELECT fingerprint, status, body, created_at FROM idempotency_keys WHERE tenant = ? AND key = ?")
    .bind(tenant, key)
    .first<StoredKey>();
}

/** Gives a claim up (the request failed or its answer is not worth keeping): a retry does the work again. */
export async function releaseKey(env: Env, tenant: string, key: string): Promise<void> {
  await env.DATA.prepare("DELETE FROM idempotency_keys WHERE tenant = ? AND key = ?").bind(tenant, key).run();
}

export async function storeAnswer(env: Env, tenant: string, key: string, status: number, body: string | null): Promise<void> {
  await env.DATA.prepare("UPDATE idempotency_keys SET status = ?, body = ? WHERE tenant = ? AND key = ?").bind(status, body, tenant, key).run();
}

/** Cron housekeeping: forget keys older than the replay window. */
export async function sweepIdempotencyKeys(env: Env, now: number): Promise<number> {
  const r = await env.DATA.prepare("DELETE FROM idempotency_keys WHERE created_at < ?")
    .bind(now - IDEMPOTENCY_TTL_MS)
    .run();
  return r.meta.changes;
}
