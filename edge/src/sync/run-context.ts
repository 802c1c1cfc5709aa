/**
 * What a run's steps share within one slice: the job, its connection and objects (loaded once per slice), the app
 * token, the service-protection headroom seen since it was last written, and the page fetched ahead. Nothing here
 * outlives the slice: the run row in D1 is the run's state.
 */
import type { RunErrorCode } from "#contract/errors";
import type { AttributeInfo } from "#contract/metadata";
import type { Job } from "#contract/job";
import type { TargetObject } from "#contract/object";
import type { RunHeadroom } from "#contract/run";
import { getAppToken, isDataverseError, lowerHeadroom, type DataverseError, type ODataPage } from "../dataverse/client";
import type { Env } from "../env";
import { isAllowedOrgUrl } from "../security/org-url";
import { getConnection, markNeedsAttention, type StoredConnection } from "../stores/connections";
import { getJob } from "../stores/jobs";
import { getObject } from "../stores/objects";
import { lowerHeadroomStatement } from "../stores/runs";
import { dbFor } from "../stores/shards";
import type { ReadPlan } from "./query";
import type { RunRef } from "./runner-api";

/** Lease a runner holds while working; a run whose lease expired is re-kicked by the cron handler. */
export const LEASE_MS = 3 * 60_000;

/** Thrown for conditions that end the run (drift, configuration, authorization); not retried. */
export class RunFailure extends Error {
  constructor(
    readonly code: RunErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface RunContext {
  env: Env;
  /** The D1 shard holding the run's tenant (stores/shards.ts), resolved once per slice. */
  db: D1Database;
  ref: RunRef;
  job: Job;
  conn: StoredConnection;
  object: TargetObject;
  lookupObjects: Map<string, TargetObject>;
  attributes: AttributeInfo[];
  token: string | null;
  /** Lowest service-protection figures seen since they were last written to the run row (see flushHeadroom). */
  headroom: RunHeadroom | null;
  /** Passed to every Dataverse request of the run: records its service-protection headers (no extra request) and 429s. */
  observe: { onHeadroom: (h: RunHeadroom) => void; onThrottled: () => void };
  /** What Dataverse signalled since the org's stream permits were last told (sync/stream-permits.ts). */
  signals: { throttled: boolean; lowest: RunHeadroom | null };
  /** The next page, requested while this one is mapped and written (see fetch-ahead.ts). */
  ahead: { key: string; page: Promise<ODataPage> } | null;
  /** The run's read plan, parsed once per slice (runs.plan is fixed at init). */
  plan: { text: string; plan: ReadPlan } | null;
}

/** The job, its connection and the objects it writes; a missing one (deleted meanwhile) ends the run. */
export async function loadRunContext(env: Env, ref: RunRef): Promise<RunContext> {
  const job = await getJob(env, ref.tenant, ref.jobId);
  if (!job) throw new RunFailure("job_not_found", "The job no longer exists");
  const conn = await getConnection(env, ref.tenant, job.connectionId);
  if (!conn) throw new RunFailure("connection_not_found", "The job's connection no longer exists");
  if (conn.status === "not_authorized") throw new RunFailure("not_authorized", "The connection has not been authorized");
  // Re-checked every slice: the allow-list may have changed since the connection was created; no request leaves then.
  if (!isAllowedOrgUrl(conn.orgUrl, env.DEV_INSECURE_ORG_HOSTS)) {
    const message = `The connection's environment URL ${conn.orgUrl} is no longer allowed by this deployment; nothing was sent to it`;
    await markNeedsAttention(env, ref.tenant, conn.id, message);
    throw new RunFailure("org_url_refused", message);
  }
  const object = await getObject(env, ref.tenant, job.target.object);
  if (!object) throw new RunFailure("object_not_found", `Target object ${job.target.object} does not exist`);
  const lookupObjects = new Map<string, TargetObject>();
  for (const l of job.lookups) {
    const o = l.object.toLowerCase() === object.name.toLowerCase() ? object : await getObject(env, ref.tenant, l.object);
    if (!o) throw new RunFailure("object_not_found", `Lookup object ${l.object} does not exist`);
    lookupObjects.set(o.name.toLowerCase(), o);
  }
  const ctx: RunContext = {
    env,
    db: await dbFor(env, ref.tenant),
    ref,
    job,
    conn,
    object,
    lookupObjects,
    attributes: [],
    token: null,
    headroom: null,
    ahead: null,
    observe: {
      onHeadroom: (h) => {
        ctx.headroom = lowerHeadroom(ctx.headroom, h);
        ctx.signals.lowest = lowerHeadroom(ctx.signals.lowest, h);
      },
      onThrottled: () => (ctx.signals.throttled = true),
    },
    signals: { throttled: false, lowest: null },
    plan: null,
  };
  return ctx;
}

/** A failure worth retrying (throttling, a server or network error), as opposed to one that ends the run. */
export function isTransient(e: unknown): e is DataverseError {
  return (
    isDataverseError(e) &&
    (e.status === 0 || e.status === 429 || e.status >= 500) &&
    !["path_refused", "invalid_tenant", "not_configured", "invalid_response"].includes(e.code)
  );
}

/** Bearer for the connection; a 401 refreshes the token once and retries (then it's an authorization failure). */
export async function withToken<T>(ctx: RunContext, fn: (token: string) => Promise<T>): Promise<T> {
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

/** Writes the headroom seen outside a page commit (init, failures, waits) to the run row. Page commits carry theirs. */
export async function flushHeadroom(ctx: RunContext | null): Promise<void> {
  if (!ctx?.headroom) return;
  const h = ctx.headroom;
  ctx.headroom = null;
  await lowerHeadroomStatement(ctx.db, ctx.ref.runId, h).run();
}
