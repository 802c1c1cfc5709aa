/**
 * Benchmark-only Worker: the sync engine's page loop with stages switched off, run inside workerd like the edge.
 *
 *   POST /page?mode=raw|map|write   body { orgUrl, tenantId, job, object, path? }   → one page step: { rows, ms, nextLink, deltaLink }
 *
 * Every mode reads exactly what a full (change-tracking) run of `job` reads: the same ReadPlan (`planRead`), the same
 * first URL (`deltaInitialPath`), the same Prefer headers, the same client (`dataverseJson` + the `ODataPage` zod
 * schema), following `@odata.nextLink` unchanged until the deltaLink, with the app token from `getAppToken`.
 *   raw   fetch + read + JSON.parse + zod validation of each page (+ the $deletedEntity split). Nothing mapped or written.
 *   map   raw + `mapRecord` for each row (the pure mapping/conversion the engine runs).
 *   write raw + `preparePage` (map, identifier lookup SELECTs, lookups) + ONE `DATA.batch` of the record statements
 *         into this Worker's own local D1 — the engine's page step without its run bookkeeping (run row read,
 *         page guard, checkpoint, sync state).
 */
// Plain JS (checked by test/bench/raw-pipe/tsconfig.json with checkJs): the root tsconfig includes test/ without the
// Workers types, so a .ts Worker here would drag the edge's Worker-typed modules into the browser/Node typecheck.
import { dataverseJson, getAppToken, ODataPage, PAGE_PREFER, maxPageSize } from "../../../edge/src/dataverse/client";
import { fetchAttributes, fetchEntities } from "../../../edge/src/metadata/fetch";
import { ensureObjectTable } from "../../../edge/src/stores/objects";
import { withTenantShard } from "../../../edge/src/stores/shards";
import { mapRecord } from "../../../edge/src/sync/mapper";
import { deltaInitialPath, planRead, splitDeleted } from "../../../edge/src/sync/query";
import { preparePage } from "../../../edge/src/sync/writer";

/**
 * @typedef {{ DATA: D1Database; AUTHORITY_HOST: string; DYNAMICS_CLIENT_ID: string; DYNAMICS_CLIENT_SECRET: string }} Env
 * @typedef {import("../../../edge/src/env").Env} EdgeEnv
 * @typedef {import("../../../edge/src/contract/object").TargetObject} TargetObject
 * @typedef {{ orgUrl: string; tenantId: string; job: import("../../../edge/src/contract/job").Job; object: TargetObject; hostTenant?: string; pageSize?: number }} RunBody
 */

/** The tenant directory's table, as edge/migrations/0010_tenant_shards.sql creates it (this Worker's D1 has no migrations). */
const TENANT_SHARDS_DDL =
  "CREATE TABLE IF NOT EXISTS tenant_shards (tenant TEXT PRIMARY KEY, shard TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'active', placed_at TEXT NOT NULL, moved_at TEXT)";

/** Per-isolate cache of what a run fixes at init (token is cached by getAppToken itself). */
/** @type {Map<string, { attributes: any[]; plan: ReturnType<typeof planRead>; prefer: string[] }>} */
const inits = new Map();

/**
 * One page step of a stage. The bench drives the loop (first call without `path`, then each `nextLink`), one short
 * request per page, and sums the in-Worker times; a single long streamed response stalled behind wrangler's dev proxy.
 * @param {Env} env
 * @param {string} mode
 * @param {RunBody & { path?: string | null }} b
 */
async function page(env, mode, b) {
  let edgeEnv = /** @type {EdgeEnv} */ (/** @type {unknown} */ (env));
  const t0 = Date.now();
  const token = await getAppToken(edgeEnv, b.tenantId, b.orgUrl);
  const key = `${b.orgUrl}|${b.job.id}|${b.job.updatedAt}|${b.pageSize ?? 5000}`;
  let init = inits.get(key);
  if (!init) {
    const entities = await fetchEntities(b.orgUrl, token);
    const entity = entities.find((e) => e.logicalName === b.job.source.entity);
    if (!entity) throw new Error(`entity ${b.job.source.entity} not found`);
    const attributes = await fetchAttributes(b.orgUrl, token, b.job.source.entity);
    const plan = planRead(b.job, entity, attributes, b.pageSize ?? 5000);
    if (plan.strategy !== "delta") throw new Error(`the bench expects a change-tracking plan, got ${plan.strategy}`);
    init = { attributes, plan, prefer: [...PAGE_PREFER, maxPageSize(plan.pageSize), "odata.track-changes"] };
    inits.set(key, init);
  }
  const { attributes, plan, prefer } = init;
  const hostTenant = b.hostTenant ?? "bench";
  /** @type {Map<string, TargetObject>} */
  const lookupObjects = new Map([[b.object.name.toLowerCase(), b.object]]);
  if (mode === "write") {
    // The edge's stores find a tenant's shard in the tenant directory (edge/migrations/0010_tenant_shards.sql), which
    // this Worker's D1 lacks; the engine resolves the shard once per runner slice (withTenantShard), and so does this.
    if (!b.path) await env.DATA.prepare(TENANT_SHARDS_DDL).run();
    edgeEnv = await withTenantShard(edgeEnv, hostTenant);
    if (!b.path) await ensureObjectTable(edgeEnv, hostTenant, b.object);
  }
  const initMs = Date.now() - t0;

  const start = Date.now();
  const path = b.path ?? deltaInitialPath(plan);
  /** @type {import("../../../edge/src/dataverse/client").ODataPage} */
  const pg = await dataverseJson(b.orgUrl, path, { token, prefer }, ODataPage);
  const { rows, deletedIds } = splitDeleted(pg.value);
  let mappedOk = 0;
  let statements = 0;
  if (mode === "map") {
    for (const row of rows) if (mapRecord(b.job, attributes, row, b.object).errors.length === 0) mappedOk++;
  } else if (mode === "write") {
    // Records are scoped to a Dynamics organization (docs/decisions/0007); the bench's one org is named by its URL.
    const org = b.orgUrl.toLowerCase();
    const prepared = await preparePage(edgeEnv, { tenant: hostTenant, org, job: b.job, object: b.object, lookupObjects, attributes, rows, deletedIds });
    statements = prepared.statements.length;
    if (prepared.statements.length) await env.DATA.batch(prepared.statements);
    mappedOk = prepared.counts.inserted + prepared.counts.updated;
  }
  return {
    rows: rows.length + deletedIds.length,
    mappedOk,
    statements,
    ms: Date.now() - start,
    initMs,
    nextLink: pg["@odata.nextLink"] ?? null,
    deltaLink: pg["@odata.deltaLink"] ?? null,
    select: plan.select,
  };
}

export default {
  /** @param {Request} req @param {Env} env */
  async fetch(req, env) {
    const url = new URL(req.url);
    if (url.pathname === "/health") return Response.json({ ok: true });
    if (url.pathname !== "/page" || req.method !== "POST") return new Response("not found", { status: 404 });
    const mode = url.searchParams.get("mode") ?? "raw";
    if (!["raw", "map", "write"].includes(mode)) return new Response("mode: raw | map | write", { status: 400 });
    try {
      return Response.json(await page(env, mode, /** @type {RunBody & { path?: string | null }} */ (await req.json())));
    } catch (e) {
      return Response.json({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }, { status: 500 });
    }
  },
};
