/**
 * Quotas per host tenant (docs/api.md "Quotas"): what one tenant may create and start on a deployment shared by many.
 * Limits are wrangler vars with defaults; over one → 422 `quota_exceeded`, one detail at the field the admin acted on,
 * naming the limit, its value and its variable. Creating counts against the count quotas, updating never does.
 *
 * What the checks guarantee under concurrency depends on where the thing is stored:
 * - objects and manual runs (D1): the count is part of the INSERT, so concurrent creates never overshoot;
 * - jobs (KV, each with a D1 schedule-index row): the row is inserted first, by a statement that counts the tenant's
 *   rows, so concurrent creates never overshoot (nor refuse each other below the limit);
 * - connections (KV only: no transactions, and a listing may lag writes elsewhere by up to a minute): counted from
 *   the listing, so creates racing within that window can overshoot by as many as race.
 */
import { MAX_OBJECT_FIELDS, type ObjectField } from "#contract/object";
import type { Job, JobDraft } from "#contract/job";
import type { StartRunBody } from "#contract/run";
import type { Env } from "../env";
import { countConnections, countObjects, manualRunsSince, reserveJobSlot } from "../stores/tenant-usage";
import { createObject, ObjectLimitError } from "../stores/objects";
import { deleteJob, putJob } from "../stores/jobs";
import { ManualRunLimitError, type RunRow } from "../stores/runs";
import { shortestInterval } from "../sync/cron";
import { startRun } from "../sync/start";
import { ApiError } from "../http/errors";

/** The deployment's limits per tenant. */
export interface TenantQuotas {
  connections: number;
  jobs: number;
  objects: number;
  minScheduleMinutes: number;
  manualRunsPerHour: number;
}

const DEFAULTS = {
  QUOTA_CONNECTIONS_PER_TENANT: 20,
  QUOTA_JOBS_PER_TENANT: 200,
  QUOTA_OBJECTS_PER_TENANT: 100,
  QUOTA_MIN_SCHEDULE_MINUTES: 5,
  QUOTA_MANUAL_RUNS_PER_HOUR: 60,
} as const;

type QuotaVar = keyof typeof DEFAULTS;

/** A var's value: empty = the default; anything but a whole number ≥ 1 is a broken deployment (500, naming the var). */
function limit(env: Env, name: QuotaVar): number {
  const raw = (env[name] ?? "").trim();
  if (raw === "") return DEFAULTS[name];
  if (!/^[1-9]\d{0,8}$/.test(raw)) throw new ApiError("misconfigured", `${name} must be a whole number of at least 1 (default ${DEFAULTS[name]})`);
  return Number(raw);
}

export function tenantQuotas(env: Env): TenantQuotas {
  return {
    connections: limit(env, "QUOTA_CONNECTIONS_PER_TENANT"),
    jobs: limit(env, "QUOTA_JOBS_PER_TENANT"),
    objects: limit(env, "QUOTA_OBJECTS_PER_TENANT"),
    minScheduleMinutes: limit(env, "QUOTA_MIN_SCHEDULE_MINUTES"),
    manualRunsPerHour: limit(env, "QUOTA_MANUAL_RUNS_PER_HOUR"),
  };
}

/** The one answer of every quota: 422 with the limit in the message and in the detail at `path`. */
export function quotaExceeded(path: string, limitText: string, headers?: Record<string, string>): ApiError {
  return new ApiError("quota_exceeded", `Quota exceeded: ${limitText}`, [{ path, message: limitText }], headers);
}

const perTenant = (n: number, what: string, name: QuotaVar) => `at most ${n} ${what} per tenant on this deployment (${name})`;

/** Before a new connection is stored. Best effort: see the header for what KV allows. */
export async function requireConnectionRoom(env: Env, tenant: string): Promise<void> {
  const max = tenantQuotas(env).connections;
  if ((await countConnections(env, tenant)) >= max) throw quotaExceeded("(body)", perTenant(max, "connections", "QUOTA_CONNECTIONS_PER_TENANT"));
}

/** Stores a new job within the tenant's job quota: its slot is taken atomically first, and given back if the write fails. */
export async function createJobWithinQuota(env: Env, tenant: string, job: Job): Promise<void> {
  const max = tenantQuotas(env).jobs;
  if (!(await reserveJobSlot(env, tenant, job.id, max))) throw quotaExceeded("(body)", perTenant(max, "jobs", "QUOTA_JOBS_PER_TENANT"));
  try {
    await putJob(env, tenant, job);
  } catch (e) {
    await deleteJob(env, tenant, job.id);
    throw e;
  }
}

/** A schedule that fires more often than QUOTA_MIN_SCHEDULE_MINUTES allows (checked on create, replace and preview). */
export function requireScheduleInterval(env: Env, draft: Pick<JobDraft, "schedule">): void {
  if (!draft.schedule) return;
  const minutes = tenantQuotas(env).minScheduleMinutes;
  const gap = shortestInterval(draft.schedule, Date.now(), minutes * 60_000);
  if (gap !== null && gap < minutes * 60_000) {
    throw quotaExceeded(
      "schedule.cron",
      `runs at most every ${minutes} minute${minutes === 1 ? "" : "s"} on this deployment (QUOTA_MIN_SCHEDULE_MINUTES); this schedule fires ${Math.round(gap / 60_000)} minute${gap === 60_000 ? "" : "s"} apart`,
    );
  }
}

/** An object may have MAX_OBJECT_FIELDS fields: D1's 100 columns per table less the record's 5 system columns. */
export function requireFieldRoom(path: "fields" | "addFields", existing: readonly ObjectField[], added: readonly ObjectField[]): void {
  if (existing.length + added.length <= MAX_OBJECT_FIELDS) return;
  const have = existing.length ? `; it has ${existing.length}, adding ${added.length}` : `; ${added.length} sent`;
  throw quotaExceeded(path, `at most ${MAX_OBJECT_FIELDS} fields per object (D1 allows 100 columns per table, 5 hold the record's system columns)${have}`);
}

/** Creates a custom object within the tenant's object quota (the standard objects count: each object is a table). */
export async function createObjectWithinQuota(env: Env, tenant: string, input: { name: string; label: string; fields: ObjectField[] }) {
  const max = tenantQuotas(env).objects;
  const over = () => quotaExceeded("(body)", perTenant(max, "objects (the standard ones included)", "QUOTA_OBJECTS_PER_TENANT"));
  requireFieldRoom("fields", [], input.fields);
  if ((await countObjects(env, tenant)) >= max) throw over();
  try {
    return await createObject(env, tenant, input, max);
  } catch (e) {
    if (e instanceof ObjectLimitError) throw over();
    throw e;
  }
}

/**
 * Starts a run by hand (run now, reconcile) within QUOTA_MANUAL_RUNS_PER_HOUR (runs with trigger manual created in the
 * last 60 minutes); the answer's Retry-After says when the oldest of them leaves the window.
 */
export async function startManualRun(env: Env, tenant: string, jobId: string, body: StartRunBody): Promise<RunRow> {
  const max = tenantQuotas(env).manualRunsPerHour;
  try {
    return await startRun(env, tenant, jobId, "manual", null, {
      ...(body.reconcile ? { kind: "reconcile" as const, maxDeletePercent: body.maxDeletePercent ?? null } : {}),
      manualRunsPerHour: max,
    });
  } catch (e) {
    if (!(e instanceof ManualRunLimitError)) throw e;
    const now = Date.now();
    const { oldest } = await manualRunsSince(env, tenant, new Date(now - 3_600_000).toISOString());
    const retryAfter = oldest ? Math.max(1, Math.ceil((Date.parse(oldest) + 3_600_000 - now) / 1000)) : 60;
    throw quotaExceeded("(body)", `at most ${max} runs started by hand per hour per tenant on this deployment (QUOTA_MANUAL_RUNS_PER_HOUR)`, {
      "Retry-After": String(retryAfter),
    });
  }
}
