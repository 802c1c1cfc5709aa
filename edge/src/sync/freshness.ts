/**
 * Freshness through lookups (docs/sync.md "Fields through lookups stay fresh"): a contact's `account.name` must
 * change when only the account is renamed, although the contact itself did not change. At init, each looked-up table's
 * highest versionnumber is read (one `$orderby=versionnumber desc&$top=1` request per table) and compared with the
 * watermark the job's last run stored; a table that changed since gives the run a `refresh`: after the main read, the
 * rows whose looked-up record changed after the watermark are re-read and re-mapped in the same run. A full
 * read needs none (it reads every row with current looked-up fields); the new watermarks are stored by its last page.
 */
import type { Job } from "#contract/job";
import { dataverseJson, ODataPage } from "../dataverse/client";
import { getLookupWatermarks } from "../stores/sync-state";
import { refreshFilter, type ReadPlan, type RefreshPlan, type ViaRead } from "./query";
import { RunFailure, withToken, type RunContext } from "./run-context";

export async function planFreshness(
  ctx: RunContext,
  plan: ReadPlan,
  fullRead: boolean,
): Promise<{ refresh: RefreshPlan | null; watermarks: Record<string, number> }> {
  checkLookedUpTables(ctx.job, plan);
  const watermarks: Record<string, number> = {};
  const tables = new Map(plan.via.map((v) => [v.entity, v]));
  for (const v of tables.values()) {
    const latest = await latestVersion(ctx, v);
    if (latest !== null) watermarks[v.entity] = latest;
  }
  if (fullRead || !tables.size) return { refresh: null, watermarks };
  const stored = await getLookupWatermarks(ctx.env, ctx.ref.tenant, ctx.ref.jobId);
  const since: Record<string, number> = {};
  for (const [entity, latest] of Object.entries(watermarks)) {
    const last = stored[entity];
    // No watermark (the table was empty at the last run): any row that points at one of its records now is re-read.
    if (last === undefined) since[entity] = 0;
    else if (latest > last) since[entity] = last;
  }
  const filter = refreshFilter(plan.via, since);
  return { refresh: filter ? { filter, since } : null, watermarks };
}

/** Every through-lookup mapping's table is known to the org: a removed table is drift, not silently empty fields. */
function checkLookedUpTables(job: Job, plan: ReadPlan): void {
  for (const m of job.mappings) {
    if (m.via && !plan.via.some((v) => v.entity === m.via!.entity)) {
      throw new RunFailure("schema_drift", `Schema drift: table ${m.via.entity} (mapping ${m.source} → ${m.target}) no longer exists in Dataverse`);
    }
  }
}

/** The looked-up table's highest versionnumber, or null when it has no rows. */
async function latestVersion(ctx: RunContext, v: ViaRead): Promise<number | null> {
  const page = await withToken(ctx, (token) =>
    dataverseJson(ctx.conn.orgUrl, `${v.entitySet}?$select=versionnumber&$orderby=versionnumber%20desc&$top=1`, { token, ...ctx.observe }, ODataPage),
  );
  const raw = page.value[0]?.versionnumber;
  const n = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : NaN;
  return Number.isSafeInteger(n) ? n : null;
}
