/**
 * Benchmark-only Worker: the sync engine's page loop with stages switched off, run inside workerd like the edge.
 *
 *   POST /run?mode=raw|map|write   body { orgUrl, tenantId, job, object }   → NDJSON stream, one line per page, then a summary
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
import type { AttributeInfo } from "../../../edge/src/contract/metadata";
import type { Job } from "../../../edge/src/contract/job";
import type { TargetObject } from "../../../edge/src/contract/object";
import { dataverseJson, getAppToken, ODataPage, PAGE_PREFER, maxPageSize } from "../../../edge/src/dataverse/client";
import type { Env as EdgeEnv } from "../../../edge/src/env";
import { fetchAttributes, fetchEntities } from "../../../edge/src/metadata/fetch";
import { ensureObjectTable } from "../../../edge/src/stores/objects";
import { mapRecord } from "../../../edge/src/sync/mapper";
import { deltaInitialPath, planRead } from "../../../edge/src/sync/query";
import { preparePage } from "../../../edge/src/sync/writer";

interface Env {
  DATA: D1Database;
  AUTHORITY_HOST: string;
  DYNAMICS_CLIENT_ID: string;
  DYNAMICS_CLIENT_SECRET: string;
}

interface RunBody {
  orgUrl: string;
  tenantId: string;
  job: Job;
  object: TargetObject;
  /** Host tenant for the write stage's table name (default "bench"). */
  hostTenant?: string;
  pageSize?: number;
}

const DELETED_ENTITY = /\$deletedEntity$/;

async function run(env: Env, mode: string, b: RunBody, emit: (o: unknown) => Promise<void>): Promise<void> {
  const edgeEnv = env as unknown as EdgeEnv;
  const t0 = Date.now();
  const token = await getAppToken(edgeEnv, b.tenantId, b.orgUrl);
  const entities = await fetchEntities(b.orgUrl, token);
  const entity = entities.find((e) => e.logicalName === b.job.source.entity);
  if (!entity) throw new Error(`entity ${b.job.source.entity} not found`);
  const attributes: AttributeInfo[] = await fetchAttributes(b.orgUrl, token, b.job.source.entity);
  const plan = planRead(b.job, entity, attributes, b.pageSize ?? 5000);
  if (plan.strategy !== "delta") throw new Error(`the bench expects a change-tracking plan, got ${plan.strategy}`);
  const hostTenant = b.hostTenant ?? "bench";
  const lookupObjects = new Map<string, TargetObject>([[b.object.name.toLowerCase(), b.object]]);
  if (mode === "write") await ensureObjectTable(edgeEnv, hostTenant, b.object);
  const prefer = [...PAGE_PREFER, maxPageSize(plan.pageSize), "odata.track-changes"];
  const initMs = Date.now() - t0;

  const start = Date.now();
  let path: string | null = deltaInitialPath(plan);
  let pages = 0;
  let rowsRead = 0;
  let mappedOk = 0;
  let statements = 0;
  let deltaLink: string | null = null;
  while (path) {
    const page: ODataPage = await dataverseJson(b.orgUrl, path, { token, prefer }, ODataPage);
    const rows: Array<Record<string, unknown>> = [];
    const deletedIds: string[] = [];
    for (const r of page.value) {
      const ctxUrl = r["@odata.context"];
      if (typeof ctxUrl === "string" && DELETED_ENTITY.test(ctxUrl)) {
        if (typeof r.id === "string") deletedIds.push(r.id);
        continue;
      }
      rows.push(r);
    }
    if (mode === "map") {
      for (const row of rows) if (mapRecord(b.job, attributes, row, b.object).errors.length === 0) mappedOk++;
    } else if (mode === "write") {
      const prepared = await preparePage(edgeEnv, { tenant: hostTenant, job: b.job, object: b.object, lookupObjects, attributes, rows, deletedIds });
      statements += prepared.statements.length;
      if (prepared.statements.length) await env.DATA.batch(prepared.statements);
      mappedOk += prepared.counts.inserted + prepared.counts.updated;
    }
    rowsRead += rows.length + deletedIds.length;
    pages++;
    path = page["@odata.nextLink"] ?? null;
    if (!path) deltaLink = page["@odata.deltaLink"] ?? null;
    await emit({ page: pages, rows: rowsRead, ms: Date.now() - start });
  }
  await emit({ done: true, mode, pages, rows: rowsRead, mappedOk, statements, ms: Date.now() - start, initMs, deltaLink: deltaLink !== null, select: plan.select });
}

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === "/health") return Response.json({ ok: true });
    if (url.pathname !== "/run" || req.method !== "POST") return new Response("not found", { status: 404 });
    const mode = url.searchParams.get("mode") ?? "raw";
    if (!["raw", "map", "write"].includes(mode)) return new Response("mode: raw | map | write", { status: 400 });
    const body = (await req.json()) as RunBody;
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const enc = new TextEncoder();
    const emit = (o: unknown) => writer.write(enc.encode(JSON.stringify(o) + "\n"));
    const work = run(env, mode, body, emit)
      .catch((e) => emit({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }))
      .finally(() => writer.close());
    void work;
    return new Response(readable, { headers: { "Content-Type": "application/x-ndjson" } });
  },
} satisfies ExportedHandler<Env>;
