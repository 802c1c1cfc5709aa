import { Hono } from "hono";
import { JobInput, type Job } from "../contract/job";
import type { AppEnv } from "../http/app-env";
import { notFound, validationFailed } from "../http/errors";
import { readJson } from "../http/validate";
import { audit } from "../stores/audit";
import { deleteJob, getJob, listJobs, putJob } from "../stores/jobs";
import { newId } from "../stores/kv";
import { validateJob } from "./job-validation";
import { previewJob } from "./preview";

export const jobRoutes = new Hono<AppEnv>()
  .get("/jobs", async (c) => {
    const { tenant } = c.get("caller");
    const connectionId = c.req.query("connectionId");
    const jobs = await listJobs(c.env, tenant);
    return c.json(connectionId ? jobs.filter((j) => j.connectionId === connectionId) : jobs);
  })
  .post("/jobs", async (c) => {
    const caller = c.get("caller");
    const body = await readJson(c, JobInput);
    const { details, warnings } = await validateJob(c.env, caller.tenant, body, null);
    if (details.length) throw validationFailed(details, "The job is not valid");
    const now = new Date().toISOString();
    const job: Job = { ...body, id: newId("job"), createdAt: now, updatedAt: now };
    await putJob(c.env, caller.tenant, job);
    await audit(c.env, caller, "job.create", { type: "job", id: job.id }, null, job);
    return c.json({ ...job, ...(warnings.length ? { warnings } : {}) }, 201);
  })
  .get("/jobs/:id", async (c) => {
    const job = await getJob(c.env, c.get("caller").tenant, c.req.param("id"));
    if (!job) throw notFound("No such job");
    return c.json(job);
  })
  .put("/jobs/:id", async (c) => {
    const caller = c.get("caller");
    const current = await getJob(c.env, caller.tenant, c.req.param("id"));
    if (!current) throw notFound("No such job");
    const body = await readJson(c, JobInput);
    const { details, warnings } = await validateJob(c.env, caller.tenant, body, current.id);
    if (details.length) throw validationFailed(details, "The job is not valid");
    const job: Job = { ...body, id: current.id, createdAt: current.createdAt, updatedAt: new Date().toISOString(), ...(current.builtIn ? { builtIn: current.builtIn } : {}) };
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
    return c.json(await previewJob(c, job));
  });
