/**
 * Where a job's next run starts (table `sync_state`): the delta link of a change-tracking read, or the keyset cursor
 * of a keyset read, with the read configuration (`configHash`) it belongs to — a changed job does not reuse it.
 * Written only inside a page's batch, so it never runs ahead of the records it stands for.
 */
import type { Env } from "../env";
import { dbFor } from "./shards";

export interface SyncState {
  configHash: string;
  strategy: "delta" | "keyset";
  deltaLink: string | null;
  keyset: { modifiedon: string; version: number } | null;
}

export async function getSyncState(env: Env, tenant: string, jobId: string): Promise<SyncState | null> {
  const db = await dbFor(env, tenant);
  const row = await db
    .prepare("SELECT config_hash, strategy, delta_link, keyset_modifiedon, keyset_version FROM sync_state WHERE tenant = ? AND job_id = ?")
    .bind(tenant, jobId)
    .first<{ config_hash: string; strategy: "delta" | "keyset"; delta_link: string | null; keyset_modifiedon: string | null; keyset_version: number | null }>();
  if (!row) return null;
  return {
    configHash: row.config_hash,
    strategy: row.strategy,
    deltaLink: row.delta_link,
    keyset: row.keyset_modifiedon && row.keyset_version !== null ? { modifiedon: row.keyset_modifiedon, version: row.keyset_version } : null,
  };
}

export function saveSyncStateStatement(db: D1Database, tenant: string, jobId: string, s: SyncState, now: string): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO sync_state (tenant, job_id, config_hash, strategy, delta_link, keyset_modifiedon, keyset_version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (tenant, job_id) DO UPDATE SET config_hash = excluded.config_hash, strategy = excluded.strategy, delta_link = excluded.delta_link,
       keyset_modifiedon = excluded.keyset_modifiedon, keyset_version = excluded.keyset_version, updated_at = excluded.updated_at`,
    )
    .bind(tenant, jobId, s.configHash, s.strategy, s.deltaLink, s.keyset?.modifiedon ?? null, s.keyset?.version ?? null, now);
}

/** The stored delta token expired: the next read of the job is a full one. */
export function forgetDeltaLinkStatement(db: D1Database, tenant: string, jobId: string): D1PreparedStatement {
  return db.prepare("UPDATE sync_state SET delta_link = NULL WHERE tenant = ? AND job_id = ?").bind(tenant, jobId);
}

/**
 * Lookup watermarks (table `lookup_watermarks`): per job and looked-up table of its through-lookup mappings, that
 * table's highest versionnumber when the job's last run started. The next run re-reads the rows whose looked-up record
 * changed since (sync/query.ts refreshFilter). Written with the run's last page, like the sync state.
 */
export async function getLookupWatermarks(env: Env, tenant: string, jobId: string): Promise<Record<string, number>> {
  const db = await dbFor(env, tenant);
  const { results } = await db
    .prepare("SELECT entity, version FROM lookup_watermarks WHERE tenant = ? AND job_id = ?")
    .bind(tenant, jobId)
    .all<{ entity: string; version: number }>();
  return Object.fromEntries(results.map((r) => [r.entity, r.version]));
}

export function saveLookupWatermarksStatements(
  db: D1Database,
  tenant: string,
  jobId: string,
  watermarks: Record<string, number>,
  now: string,
): D1PreparedStatement[] {
  return Object.entries(watermarks).map(([entity, version]) =>
    db
      .prepare(
        `INSERT INTO lookup_watermarks (tenant, job_id, entity, version, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (tenant, job_id, entity) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`,
      )
      .bind(tenant, jobId, entity, version, now),
  );
}
