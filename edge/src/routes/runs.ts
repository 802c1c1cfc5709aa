/**
 * Runs: start (run now), history, one run, cancel, its per-record errors (JSON or CSV). Mounted at /api/v1.
 * Tenant-scoped: an id of another tenant is 404 like an unknown one. Writes need admin (global middleware).
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import type { StartRunBody } from "#contract/run";
import type { AppEnv } from "../http/app-env";
import { requireAdmin } from "../http/auth";
import { ApiError, notFound, validationFailed } from "../http/errors";
import { startManualRun } from "../quotas/tenant-quotas";
import { readJson } from "../http/validate";
import { audit } from "../stores/audit";
import { getJob, listJobs } from "../stores/jobs";
import { listRunErrors } from "../stores/run-errors";
import { cancelRun, getRunRow, listRuns, RunInProgressError, toRun } from "../stores/runs";
import { toCsv } from "../sync/csv";
import { onRunFinished } from "../sync/finish";
import { webhookSecret } from "../sync/notify";
import { reconcileProblem } from "../sync/reconcile";

/** POST /jobs/:id/runs: no body (or `{}`) runs the job; `{ "reconcile": true }` starts a reconciliation (docs/sync.md). */
const StartRunSchema = z.strictObject({
  reconcile: z.boolean().optional(),
  maxDeletePercent: z.number().int().min(0).max(100).optional(),
}) satisfies z.ZodType<StartRunBody>;

/** The optional body of POST /jobs/:id/runs (an empty body is `{}`). */
async function startRunBody(c: Context<AppEnv>): Promise<StartRunBody> {
  const len = c.req.header("content-length");
  if (len === "0" || (!c.req.header("content-type") && len === undefined)) return {};
  const body = await readJson(c, StartRunSchema);
  if (body.maxDeletePercent !== undefined && !body.reconcile)
    throw validationFailed([{ path: "maxDeletePercent", message: "only with reconcile: true (the delete threshold of a reconciliation)" }]);
  return body;
}

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The `:runId` run of the caller's tenant; malformed, unknown and other tenants' ids are all 404. */
async function tenantRun(c: Context<AppEnv>) {
  const id = c.req.param("runId") ?? "";
  const row = RUN_ID.test(id) ? await getRunRow(c.env, c.get("caller").tenant, id) : null;
  if (!row) throw notFound("No such run");
  return row;
}

export const runRoutes = new Hono<AppEnv>()
  .post("/jobs/:id/runs", async (c) => {
    const { tenant } = c.get("caller");
    const job = await getJob(c.env, tenant, c.req.param("id"));
    if (!job) throw notFound("No such job");
    const body = await startRunBody(c);
    if (body.reconcile) {
      const problem = reconcileProblem(job, await listJobs(c.env, tenant));
      if (problem) throw validationFailed([{ path: "reconcile", message: problem }]);
    }
    try {
      const run = await startManualRun(c.env, tenant, job.id, body);
      return c.json({ runId: run.id }, 202);
    } catch (e) {
      if (e instanceof RunInProgressError) {
        throw new ApiError(
          "run_in_progress",
          "A run of this job is already queued or running",
          e.activeRunId ? [{ path: "runId", message: e.activeRunId }] : undefined,
        );
      }
      throw e;
    }
  })
  .get("/jobs/:id/runs", async (c) => {
    const { tenant } = c.get("caller");
    const job = await getJob(c.env, tenant, c.req.param("id"));
    if (!job) throw notFound("No such job");
    const limitRaw = c.req.query("limit");
    const limit = limitRaw === undefined ? 50 : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw validationFailed([{ path: "limit", message: "an integer from 1 to 200" }]);
    const before = c.req.query("before");
    if (before !== undefined && !/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(before))
      throw validationFailed([{ path: "before", message: "an ISO timestamp (createdAt of the last run seen)" }]);
    const rows = await listRuns(c.env, tenant, job.id, limit, before);
    return c.json(rows.map(toRun));
  })
  .get("/runs/:runId", async (c) => c.json(toRun(await tenantRun(c))))
  // Cancel (admin: the global middleware guards every write). Ends the run right away as failed/cancelled; the runner
  // stops before its next page and a page in flight is rolled back (docs/sync.md "Cancelling a run").
  .post("/runs/:runId/cancel", async (c) => {
    const caller = c.get("caller");
    const row = await tenantRun(c);
    const alreadyOver = () => new ApiError("conflict", "The run has already finished", [{ path: "status", message: row.status }]);
    if (row.status !== "queued" && row.status !== "running") throw alreadyOver();
    if (!(await cancelRun(c.env, caller.tenant, row.id, caller.email ?? caller.sub))) throw alreadyOver(); // it ended meanwhile
    const after = (await getRunRow(c.env, caller.tenant, row.id))!;
    await audit(
      c.env,
      caller,
      "run.cancel",
      { type: "job", id: row.job_id },
      { run: { [row.id]: { status: row.status } } },
      { run: { [row.id]: { status: after.status, error: after.error_code } } },
    );
    // Notifications and webhook of the outcome, as for any run end (a cancelled run starts no chained jobs).
    c.executionCtx.waitUntil(onRunFinished(c.env, caller.tenant, row.id));
    return c.json(toRun(after));
  })
  .get("/runs/:runId/errors", async (c) => {
    const { tenant } = c.get("caller");
    const row = await tenantRun(c);
    const format = c.req.query("format") ?? "json";
    if (format !== "json" && format !== "csv") throw validationFailed([{ path: "format", message: "csv or json" }]);
    const errors = await listRunErrors(c.env, tenant, row.id);
    if (format === "json") return c.json(errors);
    const csv = toCsv(
      ["sourceId", "field", "value", "reason"],
      errors.map((e) => [e.sourceId, e.field, e.value, e.reason]),
    );
    return c.body(csv, 200, {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="run-${row.id}-errors.csv"`,
      "X-Content-Type-Options": "nosniff",
    });
  })
  // The job's webhook signing secret (derived, never stored). Admin only although it is a GET: it is a credential.
  .get("/jobs/:id/webhook-secret", async (c) => {
    const { tenant } = c.get("caller");
    requireAdmin(c.get("caller"));
    const job = await getJob(c.env, tenant, c.req.param("id"));
    if (!job) throw notFound("No such job");
    c.header("Cache-Control", "no-store");
    return c.json({
      secret: await webhookSecret(c.env, tenant, job.id),
      algorithm: "HMAC-SHA256",
      signedPayload: "<X-DC-Timestamp>.<body>",
      header: "X-DC-Signature: v1=<hex>",
    });
  });
