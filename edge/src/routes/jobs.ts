import { Hono, type Context } from "hono";
import { JobInput, type Job, type JobDraft, type JobWithLastRun } from "#contract/job";
import type { AppEnv } from "../http/app-env";
import { notFound, validationFailed } from "../http/errors";
import { readJson } from "../http/validate";
import { audit } from "../stores/audit";
import { deleteJob, getJob, listJobs, putJob } from "../stores/jobs";
import { newId } from "../stores/kv";
import { validateJob } from "../jobs/validation";
import { webhookOrigin } from "../security/webhook-url";
import { requireWholeTableRead, tablesReadBy } from "../connections/read-scope";
import { isAllowedOrgUrl } from "../security/org-url";
import { getConnection } from "../stores/connections";
import { previewJob } from "../jobs/preview";
import { latestRuns } from "../stores/runs";
import { createJobWithinQuota, requireScheduleInterval } from "../quotas/tenant-quotas";

/**
 * The request body as a job: zod shape, then cross-validation (`selfId`: the job being replaced, null for a new one).
 * Create, replace and the draft preview all accept exactly what this accepts (the schedule within the deployment's
 * shortest interval, quotas/tenant-quotas.ts, included).
 */
async function readValidJob(c: Context<AppEnv>, selfId: string | null): Promise<{ draft: JobDraft; warnings: string[] }> {
  const draft = await readJson(c, JobInput);
  const { details, warnings } = await validateJob(c.env, c.get("caller").tenant, draft, selfId);
  if (details.length) throw validationFailed(details, "The job is not valid");
  requireScheduleInterval(c.env, draft);
  return { draft, warnings };
}

/**
 * An enabled job reads only tables its connection's authorizing user reads Organization-wide (connections/read-scope):
 * its own and those of fields through lookups; an unproven table is checked now when the admin sent their Dynamics
 * token, and a narrower read refuses the save.
 */
async function requireReadableSource(c: Context<AppEnv>, draft: JobDraft): Promise<void> {
  if (!draft.enabled) return;
  const conn = await getConnection(c.env, c.get("caller").tenant, draft.connectionId);
  if (!conn) return; // validateJob already refused it
  const token = isAllowedOrgUrl(conn.orgUrl, c.env.DEV_INSECURE_ORG_HOSTS) ? c.req.header("x-dynamics-token") : undefined;
  for (const t of tablesReadBy(draft)) await requireWholeTableRead(c.env, conn, t.entity, token, t.path);
}

/** Viewers see a webhook as its origin only: the path and query are often the receiver's own secret (Slack, Teams). */
function asSeenBy(role: "admin" | "viewer", job: Job): Job {
  if (role === "admin" || !job.notify.webhook) return job;
  return { ...job, notify: { ...job.notify, webhook: webhookOrigin(job.notify.webhook) } };
}

/**
 * Jobs as the reads answer them: each with its latest run, all found in one D1 query (a list of 1,000 jobs costs the
 * widget one request and D1 one query, not one per job).
 */
async function withLastRuns(c: Context<AppEnv>, jobs: Job[]): Promise<JobWithLastRun[]> {
  const caller = c.get("caller");
  const last = await latestRuns(
    c.env,
    caller.tenant,
    jobs.map((j) => j.id),
  );
  return jobs.map((j) => ({ ...asSeenBy(caller.role, j), lastRun: last.get(j.id) ?? null }));
}

export const jobRoutes = new Hono<AppEnv>()
  .get("/jobs", async (c) => {
    const caller = c.get("caller");
    const connectionId = c.req.query("connectionId");
    const jobs = await listJobs(c.env, caller.tenant);
    return c.json(await withLastRuns(c, connectionId ? jobs.filter((j) => j.connectionId === connectionId) : jobs));
  })
  .post("/jobs", async (c) => {
    const caller = c.get("caller");
    const { draft, warnings } = await readValidJob(c, null);
    await requireReadableSource(c, draft);
    const now = new Date().toISOString();
    const job: Job = { ...draft, id: newId("job"), createdAt: now, updatedAt: now };
    await createJobWithinQuota(c.env, caller.tenant, job);
    await audit(c.env, caller, "job.create", { type: "job", id: job.id }, null, job);
    return c.json({ ...job, ...(warnings.length ? { warnings } : {}) }, 201);
  })
  // A draft, validated as create validates it and mapped like a saved job, but never stored. Registered before the
  // /jobs/:id routes so "preview" is never read as a job id.
  .post("/jobs/preview", async (c) => {
    const { draft } = await readValidJob(c, null);
    return c.json(await previewJob(c, draft, null));
  })
  .get("/jobs/:id", async (c) => {
    const caller = c.get("caller");
    const job = await getJob(c.env, caller.tenant, c.req.param("id"));
    if (!job) throw notFound("No such job");
    return c.json((await withLastRuns(c, [job]))[0]!);
  })
  .put("/jobs/:id", async (c) => {
    const caller = c.get("caller");
    const current = await getJob(c.env, caller.tenant, c.req.param("id"));
    if (!current) throw notFound("No such job");
    const { draft, warnings } = await readValidJob(c, current.id);
    await requireReadableSource(c, draft);
    const job: Job = {
      ...draft,
      id: current.id,
      createdAt: current.createdAt,
      updatedAt: new Date().toISOString(),
      ...(current.builtIn ? { builtIn: current.builtIn } : {}),
    };
    await putJob(c.env, caller.tenant, job);
    await audit(c.env, caller, "job.update", { type: "job", id: job.id }, current, job);
    return c.json({ ...job, ...(warnings.length ? { warnings } : {}) });
  })
  .delete("/jobs/:id", async (c) => {
    const caller = c.get("caller");
    const current = await getJob(c.env, caller.tenant, c.req.param("id"));
    if (!current) throw notFound("No such job");
    const dependents = (await listJobs(c.env, caller.tenant)).filter((j) => j.dependsOn === current.id);
    if (dependents.length) {
      throw validationFailed(
        dependents.map((d) => ({ path: "dependsOn", message: `job ${d.id} (${d.name}) depends on this job; change it first` })),
        "Other jobs depend on this job",
      );
    }
    await deleteJob(c.env, caller.tenant, current.id);
    await audit(c.env, caller, "job.delete", { type: "job", id: current.id }, current, null);
    return c.json({ deleted: true, id: current.id });
  })
  .post("/jobs/:id/preview", async (c) => {
    const caller = c.get("caller");
    const job = await getJob(c.env, caller.tenant, c.req.param("id"));
    if (!job) throw notFound("No such job");
    return c.json(await previewJob(c, job, job.id));
  });
