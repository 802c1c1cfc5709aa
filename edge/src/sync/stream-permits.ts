/**
 * How a run holds its organization's stream permits (sync/org-permits.ts): every slice of a run reads Dataverse under
 * one permit (holder = the run id), a partitioned load's extra streams under one more each (`<run id>#<n>`), and what
 * Dataverse signalled — 429s, the lowest headroom — is reported so the permits shrink before Dataverse throttles harder.
 */
import { headroomFraction, LOW_HEADROOM } from "../dataverse/client";
import { orgPermits, type PermitGrant, type PermitRefusal } from "./org-permits";
import { LEASE_MS, type RunContext } from "./run-context";

export type OrgPermitsStub = ReturnType<typeof orgPermits>;

/** The organization's permits: keyed by its OrganizationId (one org, whatever URL it is reached by). */
export function permitsOf(ctx: RunContext): OrgPermitsStub {
  return orgPermits(ctx.env, (ctx.conn.organizationId ?? ctx.conn.orgUrl).toLowerCase());
}

/**
 * A permit for `holder`, valid as long as a run's lease (a crashed stream's permit frees itself with it). When the
 * permits can't be reached (a platform hiccup), one stream reads without one: the cap protects Dataverse's budget, and
 * failing every run of the org for it would be worse; it is logged, and extra streams are not started.
 */
export async function takePermit(permits: OrgPermitsStub, holder: string): Promise<PermitGrant | PermitRefusal> {
  try {
    return await permits.acquire(holder, LEASE_MS);
  } catch (e) {
    console.error(
      JSON.stringify({ level: "error", msg: "stream permits unreachable: reading with one stream", holder, error: e instanceof Error ? e.message : String(e) }),
    );
    return { granted: true, limit: 1 };
  }
}

/**
 * Tells the permits what the run's requests saw since the last report — only pressure (a 429, or headroom under
 * LOW_HEADROOM), the only thing that changes them: a call per page otherwise would be a Durable Object call for nothing.
 */
export async function reportSignals(ctx: RunContext, permits: OrgPermitsStub): Promise<void> {
  const { throttled, lowest } = ctx.signals;
  ctx.signals = { throttled: false, lowest: null };
  const fraction = lowest ? headroomFraction(lowest) : null;
  if (!throttled && (fraction === null || fraction >= LOW_HEADROOM)) return;
  await permits.report({ throttled, headroomFraction: fraction });
}
