/**
 * The schema drift baseline (table `job_schema`): the types of a job's mapped source attributes as its last run saw
 * them, tied to the job version (`updatedAt`) they were seen for — saving the job again starts a new baseline.
 */
import type { Env } from "../env";
import { dbFor } from "./shards";

interface SchemaBaseline {
  jobUpdatedAt: string;
  /** logical name → attribute type */
  types: Record<string, string>;
}

export async function getSchemaBaseline(env: Env, tenant: string, jobId: string): Promise<SchemaBaseline | null> {
  const db = await dbFor(env, tenant);
  const row = await db
    .prepare("SELECT job_updated_at, attributes FROM job_schema WHERE tenant = ? AND job_id = ?")
    .bind(tenant, jobId)
    .first<{ job_updated_at: string; attributes: string }>();
  return row ? { jobUpdatedAt: row.job_updated_at, types: JSON.parse(row.attributes) as Record<string, string> } : null;
}

export async function saveSchemaBaseline(env: Env, tenant: string, jobId: string, b: SchemaBaseline): Promise<void> {
  const db = await dbFor(env, tenant);
  await db
    .prepare(
      `INSERT INTO job_schema (tenant, job_id, job_updated_at, attributes, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (tenant, job_id) DO UPDATE SET job_updated_at = excluded.job_updated_at, attributes = excluded.attributes, updated_at = excluded.updated_at`,
    )
    .bind(tenant, jobId, b.jobUpdatedAt, JSON.stringify(b.types), new Date().toISOString())
    .run();
}
