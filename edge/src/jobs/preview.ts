/**
 * The previews, POST /jobs/:id/preview (a saved job) and POST /jobs/preview (a validated, unsaved draft): up to 10
 * source rows read live with the admin's token, mapped with the sync engine's mapper (same conversions as a real
 * run), per-field conversion errors included. Writes nothing.
 */
import type { Context } from "hono";
import type { JobDraft } from "#contract/job";
import { dataverseJson, ODataPage, PAGE_PREFER } from "../dataverse/client";
import type { AppEnv } from "../http/app-env";
import { requireAllowedOrg, requireDynamicsToken } from "../http/dynamics";
import { validationFailed, withDataverseErrors } from "../http/errors";
import { getAttributes, getEntities } from "../metadata/cache";
import { getConnection } from "../stores/connections";
import { getObject } from "../stores/objects";
import { mapRecord } from "../sync/mapper";
import { planRead } from "../sync/query";

const PREVIEW_ROWS = 10;

/** `jobId` is null for a draft: the answer has the same shape either way. */
export async function previewJob(c: Context<AppEnv>, job: JobDraft, jobId: string | null) {
  const { tenant } = c.get("caller");
  const conn = await getConnection(c.env, tenant, job.connectionId);
  if (!conn) throw validationFailed([{ path: "connectionId", message: "the job's connection no longer exists" }]);
  requireAllowedOrg(c.env, conn);
  const token = requireDynamicsToken(c);
  const object = await getObject(c.env, tenant, job.target.object);
  if (!object) throw validationFailed([{ path: "target.object", message: `no object named ${job.target.object}` }]);
  return withDataverseErrors("Reading preview rows", async () => {
    const entities = (await getEntities(c.env, tenant, conn, () => token, false)).value;
    const entity = entities.find((e) => e.logicalName === job.source.entity);
    if (!entity) throw validationFailed([{ path: "source.entity", message: `table ${job.source.entity} does not exist in the organization` }]);
    const attributes = (await getAttributes(c.env, tenant, conn, () => token, entity.logicalName, false)).value;
    const plan = planRead(job, entity, attributes, PREVIEW_ROWS);
    const q = new URLSearchParams();
    q.set("$select", plan.select.join(","));
    const expand = Object.entries(plan.expand).map(([nav, cols]) => `${nav}($select=${cols.join(",")})`);
    if (expand.length) q.set("$expand", expand.join(","));
    if (plan.filter) q.set("$filter", plan.filter);
    q.set("$top", String(PREVIEW_ROWS));
    const page = await dataverseJson(
      conn.orgUrl,
      `${entity.entitySetName}?${q.toString().replace(/\+/g, "%20")}`,
      { token, prefer: PAGE_PREFER, timeoutMs: 20_000, retry: false },
      ODataPage,
    );
    const rows = page.value.slice(0, PREVIEW_ROWS).map((row) => {
      const mapped = mapRecord(job, attributes, row, object);
      const lookups = Object.fromEntries(job.lookups.map((l) => [l.target, Object.fromEntries(l.match.map((m) => [m.field, row[m.source] ?? null]))]));
      return { sourceId: mapped.sourceId, fields: mapped.fields, lookups, errors: mapped.errors };
    });
    return { jobId, entity: entity.logicalName, object: object.name, rows, errorCount: rows.reduce((n, r) => n + r.errors.length, 0) };
  });
}
