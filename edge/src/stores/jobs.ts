import type { Job } from "#contract/job";
import type { Env } from "../env";
import { validationFailed } from "../http/errors";
import { syncScheduleIndex } from "./schedule-index";
import { ID_PATTERN, kvKeys, listValues } from "./kv";

type StoredJob = Job & { tenant: string };

function strip(j: StoredJob): Job {
  const { tenant: _t, ...job } = j;
  return job;
}

export async function getJob(env: Env, tenant: string, id: string): Promise<Job | null> {
  if (!ID_PATTERN.test(id)) return null;
  const j = await env.CONFIG.get<StoredJob>(kvKeys.job(tenant, id), "json");
  return j && j.tenant === tenant ? strip(j) : null;
}

export async function listJobs(env: Env, tenant: string): Promise<Job[]> {
  const all = await listValues<StoredJob>(env, kvKeys.jobPrefix(tenant));
  return all
    .filter((j) => j.tenant === tenant)
    .map(strip)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

/**
 * Create or replace; keeps the scheduler's index in step (it decides which jobs are due each minute). The index is
 * written first: it refuses, atomically, a `dependsOn` that would close a loop (400 validation_failed at `dependsOn`,
 * nothing stored) — two concurrent saves A → B and B → A can't both land, whatever the KV-based validation saw.
 */
export async function putJob(env: Env, tenant: string, job: Job): Promise<void> {
  if (!(await syncScheduleIndex(env, tenant, job))) {
    throw validationFailed([{ path: "dependsOn", message: `the chain loops back to ${job.id}` }], "The job is not valid");
  }
  await env.CONFIG.put(kvKeys.job(tenant, job.id), JSON.stringify({ ...job, tenant } satisfies StoredJob));
}

export async function deleteJob(env: Env, tenant: string, id: string): Promise<void> {
  await env.CONFIG.delete(kvKeys.job(tenant, id));
  await syncScheduleIndex(env, tenant, { id, deleted: true });
}
