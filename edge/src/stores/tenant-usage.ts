/**
 * How much a tenant uses of what the quotas limit (quotas/tenant-quotas.ts): connections (KV), jobs (their schedule-index
 * rows in D1: every job has one, written before its KV value), objects and runs started by hand (D1).
 */
import type { Env } from "../env";
import { dbFor } from "./shards";
import { kvKeys } from "./kv";

/** The tenant's connections, counted from the KV listing (keys only; KV lists are eventually consistent). */
export async function countConnections(env: Env, tenant: string): Promise<number> {
  let n = 0;
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<unknown, string> = await env.CONFIG.list({ prefix: kvKeys.connectionPrefix(tenant), ...(cursor ? { cursor } : {}) });
    n += page.keys.length;
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return n;
}

/**
 * Takes a slot for a new job: its schedule-index row, inserted only while the tenant has fewer than `max` rows — one
 * statement, so concurrent creates neither overshoot nor refuse each other. The row is a placeholder (disabled, no
 * schedule: never due, no parent) until the jobs store writes the job over it (syncScheduleIndex upserts); a create that
 * fails afterwards deletes it again (stores/jobs.ts deleteJob). False when the tenant is full.
 */
export async function reserveJobSlot(env: Env, tenant: string, jobId: string, max: number): Promise<boolean> {
  const r = await env.DATA.prepare(
    `INSERT INTO schedule_index (tenant, job_id, enabled, updated_at)
     SELECT ?1, ?2, 0, ?3 WHERE (SELECT COUNT(*) FROM schedule_index WHERE tenant = ?1) < ?4`,
  )
    .bind(tenant, jobId, new Date().toISOString(), max)
    .run();
  return (r.meta.changes ?? 0) > 0;
}

/** The tenant's objects, the standard ones included (each has its own table). */
export async function countObjects(env: Env, tenant: string): Promise<number> {
  const db = await dbFor(env, tenant);
  const r = await db.prepare("SELECT COUNT(*) AS n FROM objects WHERE tenant = ?").bind(tenant).first<{ n: number }>();
  return r?.n ?? 0;
}

/** Runs the tenant started by hand since `since` (ISO), and when the oldest of them was created. */
export async function manualRunsSince(env: Env, tenant: string, since: string): Promise<{ count: number; oldest: string | null }> {
  const db = await dbFor(env, tenant);
  const r = await db
    .prepare("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM runs WHERE tenant = ? AND trigger = 'manual' AND created_at > ?")
    .bind(tenant, since)
    .first<{ n: number; oldest: string | null }>();
  return { count: r?.n ?? 0, oldest: r?.oldest ?? null };
}
