/**
 * The run loop, independent of who drives it (the JobRunner Durable Object in production, tests directly).
 * All progress lives in D1: `runSlice` reads the run row, performs page steps (fetch → map → write+checkpoint in one
 * batch) until its time budget is spent, and returns whether more work remains. Calling it again — after an eviction,
 * a crash, a restart, or concurrently by mistake — continues from the last committed page and never writes a page twice.
 */
import type { RunErrorCode } from "#contract/errors";
import type { AttributeInfo, EntityInfo } from "#contract/metadata";
import type { Job } from "#contract/job";
import type { TargetObject } from "#contract/object";
import type { RunHeadroom } from "#contract/run";
import { dataverseJson, getAppToken, lowerHeadroom, ODataPage, PAGE_PREFER, maxPageSize, retrieveTotalRecordCount } from "../dataverse/client";
import { DataverseError, DV_ERRORS, isDataverseError } from "../dataverse/errors";
import type { Env } from "../env";
import { fetchAttributes, fetchEntities } from "../metadata/fetch";
import { getConnection, markNeedsAttention, type StoredConnection } from "../stores/connections";
import { getJob } from "../stores/jobs";
import { ensureObjectTable, getObject } from "../stores/objects";
import { onRunFinished } from "./finish";
import { cursorAfter, cursorOf, deltaInitialPath, keysetPath, planRead, splitDeleted, type KeysetCursor, type ReadPlan } from "./query";
import { appendNote, finishRun, getRunRow, lowerHeadroomStatement, touchLease, type RunRow } from "./runs-store";
import { commitPage, preparePage } from "./writer";

/** Lease a runner holds while working; a run whose lease expired is re-kicked by the cron handler. */
export const LEASE_MS = 3 * 60_000;
/** Attempts of one page step (transient failures) before the run fails. */
export const MAX_STEP_ATTEMPTS = 6;

export interface RunRef {
  tenant: string;
  jobId: string;
  runId: string;
}

export type SliceResult = { kind: "done" } | { kind: "continue" } | { kind: "wait"; ms: number };

export interface SliceOptions {
  /** Wall-time budget for this slice; a page already started is finished. */
  budgetMs?: number;
  /** Stop after this many page steps (tests simulate an interruption with it). */
  maxPages?: number;
  /** Page size fixed into the run's plan at init (default SYNC_PAGE_SIZE or 5000). */
  pageSize?: number;
}

/** Thrown for conditions that end the run (drift, configuration, authorization); not retried. */
export class RunFailure extends Error {
  constructor(
    readonly code: RunErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface Ctx {
  env: Env;
  ref: RunRef;
  job: Job;
  conn: StoredConnection;
  object: TargetObject;
  lookupObjects: Map<string, TargetObject>;
  attributes: AttributeInfo[];
  token: string | null;
  /** Lowest service-protection figures seen since they were last written to the run row (see flushHeadroom). */
  headroom: RunHeadroom | null;
  /** Passed to every Dataverse request of the run: records its service-protection headers (no extra request). */
  observe: { onHeadroom: (h: RunHeadroom) => void };
  /** The next page, requested while this one is mapped and written (see fetchPage). */
  ahead: { key: string; page: Promise<ODataPage> } | null;
  /** The run's read plan, parsed once per slice (runs.plan is fixed at init). */
  plan: { text: string; plan: ReadPlan } | null;
}

function pageSizeFor(env: Env): number {
  const n = Number((env as { SYNC_PAGE_SIZE?: string }).SYNC_PAGE_SIZE);
  return Number.isFinite(n) && n > 0 ? Math.min(5000, Math.floor(n)) : 5000;
}

/** Bearer for the connection; a 401 refreshes the token once and retries (then it's an authorization failure). */
async function withToken<T>(ctx: Ctx, fn: (token: string) => Promise<T>): Promise<T> {
  const tenantId = ctx.conn.tenantId;
  if (!tenantId) throw new RunFailure("not_authorized", "The connection has not been authorized (no Entra tenant id)");
  ctx.token ??= await getAppToken(ctx.env, tenantId, ctx.conn.orgUrl);
  try {
    return await fn(ctx.token);
  } catch (e) {
    if (!(isDataverseError(e) && e.status === 401)) throw e;
    ctx.token = await getAppToken(ctx.env, tenantId, ctx.conn.orgUrl, { forceRefresh: true });
    try {
      return await fn(ctx.token);
    } catch (e2) {
      if (isDataverseError(e2) && e2.status === 401) {
        throw new RunFailure("dynamics_unauthorized", `Dataverse refused the background credential twice (${e2.code}: ${e2.message})`);
      }
      throw e2;
    }
  }
}

/**
 * A page of the read: the one fetched ahead when it is the page asked for, else a fresh request. With `fetchNext`, the
 * following page is requested right away and held in memory only (never committed, dropped with the slice), so the
 * read overlaps the previous page's map and write: a run tends to max(fetch, write) instead of their sum, and
 * durability is unchanged. Its failure surfaces when it is used, exactly as a fresh request's would.
 */
const pageKey = (path: string, prefer: string[]): string => `${prefer.join(",")} ${path}`;

function fetchPage(ctx: Ctx, path: string, prefer: string[]): Promise<ODataPage> {
  const ahead = ctx.ahead;
  ctx.ahead = null;
  return ahead?.key === pageKey(path, prefer) ? ahead.page : withToken(ctx, (token) => dataverseJson(ctx.conn.orgUrl, path, { token, prefer, ...ctx.observe }, ODataPage));
}

function fetchNext(ctx: Ctx, path: string, prefer: string[]): void {
  const page = fetchPage(ctx, path, prefer);
  page.catch(() => {}); // not unhandled: the next page step awaits it
  ctx.ahead = { key: pageKey(path, prefer), page };
}

async function loadCtx(env: Env, ref: RunRef): Promise<Ctx> {
  const job = await getJob(env, ref.tenant, ref.jobId);
  if (!job) throw new RunFailure("job_not_found", "The job no longer exists");
  const conn = await getConnection(env, ref.tenant, job.connectionId);
  if (!conn) throw new RunFailure("connection_not_found", "The job's connection no longer exists");
  if (conn.status === "not_authorized") throw new RunFailure("not_authorized", "The connection has not been authorized");
  const object = await getObject(env, ref.tenant, job.target.object);
  if (!object) throw new RunFailure("object_not_found", `Target object ${job.target.object} does not exist`);
  const lookupObjects = new Map<string, TargetObject>();
  for (const l of job.lookups) {
    const o = l.object.toLowerCase() === object.name.toLowerCase() ? object : await getObject(env, ref.tenant, l.object);
    if (!o) throw new RunFailure("object_not_found", `Lookup object ${l.object} does not exist`);
    lookupObjects.set(o.name.toLowerCase(), o);
  }
  const ctx: Ctx = { env, ref, job, conn, object, lookupObjects, attributes: [], token: null, headroom: null, ahead: null, observe: { onHeadroom: (h) => (ctx.headroom = lowerHeadroom(ctx.headroom, h)) }, plan: null };
  return ctx;
}

/** Writes the headroom seen outside a page commit (init, failures, waits) to the run row. Page commits carry theirs. */
async function flushHeadroom(ctx: Ctx | null): Promise<void> {
  if (!ctx?.headroom) return;
  const h = ctx.headroom;
  ctx.headroom = null;
  await lowerHeadroomStatement(ctx.env, ctx.ref.runId, h).run();
}

/** Mapped source attributes → the attribute each depends on (for drift: removed or retyped). */
function mappedAttributes(job: Job): string[] {
  const names = new Set<string>();
  const add = (s: string) => names.add(s.startsWith("_") && s.endsWith("_value") ? s.slice(1, -6) : s);
  job.identifiers.forEach((i) => add(i.source));
  job.mappings.forEach((m) => add(m.source));
  job.lookups.forEach((l) => l.match.forEach((m) => add(m.source)));
  return [...names].sort();
}

/** Schema drift: fails (before anything is written) naming the attribute that was removed or retyped. */
export async function checkDrift(env: Env, ctx: Ctx, attributes: AttributeInfo[]): Promise<Record<string, string>> {
  const byName = new Map(attributes.map((a) => [a.logicalName, a]));
  const current: Record<string, string> = {};
  const removed: string[] = [];
  for (const n of mappedAttributes(ctx.job)) {
    const a = byName.get(n);
    if (!a) removed.push(n);
    else current[n] = a.type;
  }
  if (removed.length) {
    throw new RunFailure("schema_drift", `Schema drift: mapped attribute ${removed.map((r) => `${ctx.job.source.entity}.${r}`).join(", ")} no longer exists in Dataverse`);
  }
  const base = await env.DATA.prepare("SELECT job_updated_at, attributes FROM job_schema WHERE tenant = ? AND job_id = ?")
    .bind(ctx.ref.tenant, ctx.ref.jobId)
    .first<{ job_updated_at: string; attributes: string }>();
  if (base && base.job_updated_at === ctx.job.updatedAt) {
    const before = JSON.parse(base.attributes) as Record<string, string>;
    const retyped = Object.keys(current).filter((n) => before[n] !== undefined && before[n] !== current[n]);
    if (retyped.length) {
      throw new RunFailure(
        "schema_drift",
        `Schema drift: mapped attribute ${retyped.map((n) => `${ctx.job.source.entity}.${n} changed type from ${before[n]} to ${current[n]}`).join(", ")}`,
      );
    }
  }
  // via attributes live on other entities: check they still exist too
  const viaByEntity = new Map<string, Set<string>>();
  for (const m of ctx.job.mappings) if (m.via) (viaByEntity.get(m.via.entity) ?? viaByEntity.set(m.via.entity, new Set()).get(m.via.entity)!).add(m.via.attribute);
  for (const [entity, attrs] of viaByEntity) {
    const list = await withToken(ctx, (t) => fetchAttributes(ctx.conn.orgUrl, t, entity, ctx.observe));
    const have = new Set(list.map((a) => a.logicalName));
    const gone = [...attrs].filter((a) => !have.has(a));
    if (gone.length) throw new RunFailure("schema_drift", `Schema drift: attribute ${gone.map((g) => `${entity}.${g}`).join(", ")} (used through a lookup) no longer exists`);
  }
  return current;
}

async function saveSchemaBaseline(env: Env, ref: RunRef, job: Job, types: Record<string, string>): Promise<void> {
  await env.DATA.prepare(
    `INSERT INTO job_schema (tenant, job_id, job_updated_at, attributes, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (tenant, job_id) DO UPDATE SET job_updated_at = excluded.job_updated_at, attributes = excluded.attributes, updated_at = excluded.updated_at`,
  )
    .bind(ref.tenant, ref.jobId, job.updatedAt, JSON.stringify(types), new Date().toISOString())
    .run();
}

/** init: drift check, plan, starting point (stored delta link / keyset cursor or a full read). Writes no records. */
async function initRun(ctx: Ctx, run: RunRow, pageSize: number): Promise<void> {
  const { env, job, ref } = ctx;
  if ((job.mode === "update" || job.mode === "upsert") && job.identifiers.length === 0) {
    throw new RunFailure("invalid_job", `Mode ${job.mode} needs an identifier`);
  }
  const entities: EntityInfo[] = await withToken(ctx, (t) => fetchEntities(ctx.conn.orgUrl, t, ctx.observe));
  const entity = entities.find((e) => e.logicalName === job.source.entity);
  if (!entity) throw new RunFailure("schema_drift", `Schema drift: entity ${job.source.entity} no longer exists in Dataverse`);
  ctx.attributes = await withToken(ctx, (t) => fetchAttributes(ctx.conn.orgUrl, t, job.source.entity, ctx.observe));
  const types = await checkDrift(env, ctx, ctx.attributes);
  await saveSchemaBaseline(env, ref, job, types);
  await ensureObjectTable(env, ref.tenant, ctx.object);
  for (const o of ctx.lookupObjects.values()) await ensureObjectTable(env, ref.tenant, o);

  const plan = planRead(job, entity, ctx.attributes, pageSize);
  const state = await env.DATA.prepare("SELECT config_hash, strategy, delta_link, keyset_modifiedon, keyset_version FROM sync_state WHERE tenant = ? AND job_id = ?")
    .bind(ref.tenant, ref.jobId)
    .first<{ config_hash: string; strategy: string; delta_link: string | null; keyset_modifiedon: string | null; keyset_version: number | null }>();
  const usable = state && state.config_hash === plan.configHash && state.strategy === plan.strategy ? state : null;
  let strategy: "full" | "delta" | "keyset";
  let nextLink: string | null = null;
  let cursor: KeysetCursor | null = null;
  if (plan.strategy === "delta") {
    if (usable?.delta_link) {
      strategy = "delta";
      nextLink = usable.delta_link;
    } else {
      strategy = "full";
      nextLink = deltaInitialPath(plan);
    }
  } else if (usable?.keyset_modifiedon && usable.keyset_version !== null) {
    strategy = "keyset";
    cursor = { modifiedon: usable.keyset_modifiedon, version: usable.keyset_version };
  } else strategy = "full";
  if (state && !usable) await appendNote(env, run.id, "the job's source changed since the last run: full resync");
  const totalEstimate = strategy === "full" && !job.source.filter ? await estimateTotal(ctx) : null;
  // `status IN (…)`: a run cancelled while it initialised stays cancelled.
  await env.DATA.prepare(
    "UPDATE runs SET status = 'running', started_at = COALESCE(started_at, ?), strategy = ?, plan = ?, phase = 'pages', next_link = ?, keyset_modifiedon = ?, keyset_version = ?, total_estimate = ?, lease_until = ? WHERE id = ? AND phase = 'init' AND status IN ('queued','running')",
  )
    .bind(new Date().toISOString(), strategy, JSON.stringify(plan), nextLink, cursor?.modifiedon ?? null, cursor?.version ?? null, totalEstimate, Date.now() + LEASE_MS, run.id)
    .run();
}

/**
 * How many rows a full read will see, for determinate progress: Dataverse's RetrieveTotalRecordCount (a snapshot up
 * to 24 h old, the whole table). Only asked for full reads without a source filter — a delta's size is unknown and a
 * filtered read sees a part of the table. Best effort: any failure means "no estimate", never a failed run.
 */
async function estimateTotal(ctx: Ctx): Promise<number | null> {
  try {
    return await withToken(ctx, (t) => retrieveTotalRecordCount(ctx.conn.orgUrl, t, ctx.job.source.entity, ctx.observe));
  } catch (e) {
    console.warn(JSON.stringify({ level: "warn", msg: "row count estimate unavailable", runId: ctx.ref.runId, error: e instanceof Error ? e.message.slice(0, 200) : String(e) }));
    return null;
  }
}

/** One page: fetch → map → (records + checkpoint) in one D1 batch. */
async function pageStep(ctx: Ctx, run: RunRow): Promise<void> {
  const { env, ref, job } = ctx;
  if (!run.plan) throw new Error(`invariant: run ${run.id} is in phase pages without a plan`);
  if (ctx.plan?.text !== run.plan) ctx.plan = { text: run.plan, plan: JSON.parse(run.plan) as ReadPlan };
  const plan = ctx.plan.plan;
  if (!ctx.attributes.length) ctx.attributes = await withToken(ctx, (t) => fetchAttributes(ctx.conn.orgUrl, t, job.source.entity, ctx.observe));
  const cursor: KeysetCursor | null = run.keyset_modifiedon && run.keyset_version !== null ? { modifiedon: run.keyset_modifiedon, version: run.keyset_version } : null;
  const path = plan.strategy === "delta" ? run.next_link : keysetPath(plan, cursor);
  if (!path) throw new Error(`invariant: run ${run.id} has no next link in phase pages`);
  const prefer = plan.strategy === "delta" ? [...PAGE_PREFER, maxPageSize(plan.pageSize), "odata.track-changes"] : [...PAGE_PREFER];

  let page: ODataPage;
  try {
    page = await fetchPage(ctx, path, prefer);
  } catch (e) {
    if (isDataverseError(e) && e.code === DV_ERRORS.deltaTokenExpired && plan.strategy === "delta" && run.strategy === "delta") {
      // The stored delta token expired: start a full read with change tracking; nothing was written for this page.
      await env.DATA.batch([
        env.DATA.prepare("UPDATE sync_state SET delta_link = NULL WHERE tenant = ? AND job_id = ?").bind(ref.tenant, ref.jobId),
        env.DATA.prepare("UPDATE runs SET strategy = 'full', next_link = ?, notes = json_insert(notes, '$[#]', ?) WHERE id = ? AND pages = ? AND status IN ('queued','running')").bind(
          deltaInitialPath(plan),
          "delta token expired (0x80044352): full resync",
          run.id,
          run.pages,
        ),
      ]);
      return;
    }
    throw e;
  }

  const { rows, deletedIds } = splitDeleted(page.value);
  let done: boolean;
  let nextLink: string | null = null;
  let nextCursor: KeysetCursor | null = cursor;
  let pendingDelta: string | null = run.pending_delta_link;
  let syncState: Parameters<typeof commitPage>[2]["syncState"];
  if (plan.strategy === "delta") {
    nextLink = page["@odata.nextLink"] ?? null;
    done = nextLink === null;
    if (done) {
      pendingDelta = page["@odata.deltaLink"] ?? null;
      if (!pendingDelta) throw new RunFailure("dynamics_error", "Dataverse ended a change-tracking read without a deltaLink");
      syncState = { jobId: ref.jobId, configHash: plan.configHash, strategy: "delta", deltaLink: pendingDelta, keyset: null };
    }
  } else {
    const last = page.value[page.value.length - 1];
    if (last) {
      nextCursor = cursorOf(last);
      if (!nextCursor) throw new Error("invariant: a keyset page row lacks modifiedon / versionnumber");
    }
    done = page.value.length < plan.pageSize;
    // A full page whose last row is not after the cursor would be read again forever (e.g. a stored filter that
    // escapes its parentheses): end the run instead of re-writing the same rows.
    if (!done && cursor && nextCursor && !cursorAfter(nextCursor, cursor)) {
      throw new RunFailure("invalid_job", `The keyset read did not advance past modifiedon ${cursor.modifiedon} / versionnumber ${cursor.version}; check the job's filter (source.filter)`);
    }
    if (nextCursor) syncState = { jobId: ref.jobId, configHash: plan.configHash, strategy: "keyset", deltaLink: null, keyset: nextCursor };
  }
  if (!done) fetchNext(ctx, plan.strategy === "delta" ? nextLink! : keysetPath(plan, nextCursor), prefer);
  const prepared = await preparePage(env, { tenant: ref.tenant, job, object: ctx.object, lookupObjects: ctx.lookupObjects, attributes: ctx.attributes, rows, deletedIds });
  const headroom = ctx.headroom;
  const committed = await commitPage(env, prepared, {
    runId: run.id,
    tenant: ref.tenant,
    page: run.pages + 1,
    errorRowsBefore: run.error_rows,
    phase: done ? "done" : "pages",
    nextLink,
    keyset: nextCursor,
    pendingDeltaLink: pendingDelta,
    leaseUntil: Date.now() + LEASE_MS,
    ...(syncState ? { syncState } : {}),
    headroom,
  });
  if (committed === "committed" && ctx.headroom === headroom) ctx.headroom = null;
  // "duplicate": another step committed this page already; "stopped": the run was cancelled meanwhile and the page
  // was rolled back. Either way the next iteration re-reads the run and moves on (or ends).
}

async function failRun(env: Env, ref: RunRef, code: RunErrorCode, message: string): Promise<void> {
  if (await finishRun(env, ref.runId, "failed", { code, message })) await onRunFinished(env, ref.tenant, ref.runId);
}

function isTransient(e: unknown): e is DataverseError {
  return isDataverseError(e) && (e.status === 0 || e.status === 429 || e.status >= 500) && !["path_refused", "invalid_tenant", "not_configured", "invalid_response"].includes(e.code);
}

/** Runs page steps until the budget is spent or the run ends. Safe to call at any time, any number of times. */
export async function runSlice(env: Env, ref: RunRef, opts: SliceOptions = {}): Promise<SliceResult> {
  const deadline = Date.now() + (opts.budgetMs ?? 20_000);
  let steps = 0;
  let ctx: Ctx | null = null;
  for (;;) {
    // Re-read before every step: a run cancelled (POST /runs/:id/cancel finishes it) is noticed between pages.
    const run = await getRunRow(env, ref.tenant, ref.runId);
    if (!run || (run.status !== "queued" && run.status !== "running")) return { kind: "done" };
    if (run.phase === "done") {
      const status = run.failed_count > 0 ? "partial" : "succeeded";
      if (await finishRun(env, run.id, status)) await onRunFinished(env, ref.tenant, run.id);
      return { kind: "done" };
    }
    if (steps >= (opts.maxPages ?? Infinity) || (steps > 0 && Date.now() >= deadline)) {
      await touchLease(env, run.id, Date.now() + LEASE_MS);
      return { kind: "continue" };
    }
    try {
      ctx ??= await loadCtx(env, ref);
      if (run.phase === "init") {
        await initRun(ctx, run, opts.pageSize ?? pageSizeFor(env));
        await flushHeadroom(ctx);
      } else {
        await pageStep(ctx, run);
        steps++;
      }
    } catch (e) {
      await flushHeadroom(ctx).catch(() => {});
      if (e instanceof RunFailure) {
        if (["dynamics_unauthorized", "not_authorized"].includes(e.code) && ctx) await markNeedsAttention(env, ref.tenant, ctx.conn.id, e.message).catch(() => {});
        await failRun(env, ref, e.code, e.message);
        return { kind: "done" };
      }
      if (isDataverseError(e) && e.status === 403) {
        const msg = `Dataverse denied access (${e.code}): ${e.message}`;
        if (ctx) await markNeedsAttention(env, ref.tenant, ctx.conn.id, msg).catch(() => {});
        await failRun(env, ref, "dynamics_forbidden", msg);
        return { kind: "done" };
      }
      if (isTransient(e) && run.attempts + 1 < MAX_STEP_ATTEMPTS) {
        const ms = e.retryAfterSeconds !== undefined ? e.retryAfterSeconds * 1000 : Math.min(60_000, 2_000 * 2 ** run.attempts);
        await env.DATA.prepare("UPDATE runs SET attempts = attempts + 1, lease_until = ? WHERE id = ?").bind(Date.now() + ms + LEASE_MS, run.id).run();
        return { kind: "wait", ms };
      }
      const code = isDataverseError(e) ? "dynamics_error" : "internal";
      const message = isDataverseError(e)
        ? `Dataverse error ${e.status} ${e.code}: ${e.message}${isTransient(e) ? ` (gave up after ${MAX_STEP_ATTEMPTS} attempts)` : ""}`
        : `Internal error: ${e instanceof Error ? e.message : String(e)}`;
      await failRun(env, ref, code, message);
      return { kind: "done" };
    }
  }
}
