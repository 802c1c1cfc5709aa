/**
 * One page step: fetch (the page fetched ahead, if it is this one) → where the read goes next → request the next page
 * → the looked-up fields of through-lookup mappings (via-fields.ts) → map and plan → ONE D1 batch (commitPage). A
 * delta token that expired restarts the run as a full read instead. After the main read, a run whose plan has a
 * `refresh` re-reads the rows whose looked-up records changed since the last run (runs.next_link then holds a refresh
 * link, see query.ts), and its last page stores the lookup watermarks.
 */
import { isDataverseError, DV_ERRORS, maxPageSize, PAGE_PREFER, type ODataPage } from "../dataverse/client";
import { fetchAttributes } from "../metadata/fetch";
import { orgKey } from "../stores/object-tables";
import { restartAsFullReadStatement, type RunRow } from "../stores/runs";
import { forgetDeltaLinkStatement, type SyncState } from "../stores/sync-state";
import { fetchAhead, fetchPage } from "./fetch-ahead";
import {
  asRefreshLink,
  cursorAfter,
  cursorOf,
  deltaInitialPath,
  keysetPath,
  refreshLinkPath,
  refreshPath,
  splitDeleted,
  type KeysetCursor,
  type ReadPlan,
} from "./query";
import { LEASE_MS, RunFailure, withToken, type RunContext } from "./run-context";
import { attachViaFields } from "./via-fields";
import { commitPage, preparePage } from "./writer";

/** Where the read continues after a page, and the job's sync state to store with it. */
interface NextPosition {
  done: boolean;
  nextLink: string | null;
  keyset: KeysetCursor | null;
  pendingDeltaLink: string | null;
  syncState?: SyncState & { jobId: string };
}

export async function pageStep(ctx: RunContext, run: RunRow, plan: ReadPlan): Promise<void> {
  const { env, ref, job } = ctx;
  if (!ctx.attributes.length) ctx.attributes = await withToken(ctx, (t) => fetchAttributes(ctx.conn.orgUrl, t, job.source.entity, ctx.observe));
  const cursor: KeysetCursor | null =
    run.keyset_modifiedon && run.keyset_version !== null ? { modifiedon: run.keyset_modifiedon, version: run.keyset_version } : null;
  const refreshing = refreshLinkPath(run.next_link) !== null;
  const { path, prefer } = requestOf(plan, run.next_link, cursor);
  if (!path) throw new Error(`invariant: run ${run.id} has no next link in phase pages`);

  let page: ODataPage;
  try {
    page = await fetchPage(ctx, path, prefer);
  } catch (e) {
    if (isDataverseError(e) && e.code === DV_ERRORS.deltaTokenExpired && plan.strategy === "delta" && run.strategy === "delta" && !refreshing) {
      // The stored delta token expired: start a full read with change tracking; nothing was written for this page.
      await ctx.db.batch([
        forgetDeltaLinkStatement(ctx.db, ref.tenant, ref.jobId),
        restartAsFullReadStatement(ctx.db, run.id, run.pages, deltaInitialPath(plan), "delta token expired (0x80044352): full resync"),
      ]);
      return;
    }
    throw e;
  }

  if (!ctx.conn.organizationId) throw new Error("invariant: a run's connection has an organization (run-gate.ts checks it)");
  const { rows, deletedIds } = splitDeleted(page.value);
  const next = refreshing ? refreshPosition(run, page, cursor) : nextPosition(ctx, run, plan, page, cursor);
  if (!next.done) {
    const ahead = requestOf(plan, next.nextLink, next.keyset);
    await fetchAhead(ctx, ahead.path!, ahead.prefer);
  }
  if (plan.via.length) await attachViaFields(ctx, plan.via, rows);
  const prepared = await preparePage(env, {
    tenant: ref.tenant,
    org: orgKey(ctx.conn.organizationId),
    job,
    object: ctx.object,
    lookupObjects: ctx.lookupObjects,
    attributes: ctx.attributes,
    rows,
    deletedIds,
  });
  if (refreshing && rows.length) {
    prepared.notes.push(
      `freshness: re-read ${rows.length} ${plan.entity} rows whose ${Object.keys(plan.refresh?.since ?? {}).join(", ")} changed since the last run`,
    );
  }
  const headroom = ctx.headroom;
  const committed = await commitPage(env, prepared, {
    runId: run.id,
    tenant: ref.tenant,
    page: run.pages + 1,
    errorRowsBefore: run.error_rows,
    phase: next.done ? "done" : "pages",
    nextLink: next.nextLink,
    keyset: next.keyset,
    pendingDeltaLink: next.pendingDeltaLink,
    leaseUntil: Date.now() + LEASE_MS,
    ...(next.syncState ? { syncState: next.syncState } : {}),
    ...(next.done && plan.watermarks ? { watermarks: { jobId: ref.jobId, values: plan.watermarks } } : {}),
    headroom,
  });
  if (committed === "committed" && ctx.headroom === headroom) ctx.headroom = null;
  // "duplicate": another step committed this page already; "stopped": the run was cancelled meanwhile and the page
  // was rolled back. Either way the next iteration re-reads the run and moves on (or ends).
}

/** The request for a read position: a refresh link, a delta link / nextLink, or the keyset query after `cursor`. */
function requestOf(plan: ReadPlan, link: string | null, cursor: KeysetCursor | null): { path: string | null; prefer: string[] } {
  const refresh = refreshLinkPath(link);
  if (refresh !== null) return { path: refresh, prefer: [...PAGE_PREFER, maxPageSize(plan.pageSize)] };
  if (plan.strategy === "delta") return { path: link, prefer: [...PAGE_PREFER, maxPageSize(plan.pageSize), "odata.track-changes"] };
  return { path: keysetPath(plan, cursor), prefer: [...PAGE_PREFER] };
}

/** A refresh page: its nextLink (as a refresh link), or the run's end. The sync state was stored by the main read. */
function refreshPosition(run: RunRow, page: ODataPage, cursor: KeysetCursor | null): NextPosition {
  const nextLink = page["@odata.nextLink"] ?? null;
  return { done: nextLink === null, nextLink: nextLink === null ? null : asRefreshLink(nextLink), keyset: cursor, pendingDeltaLink: run.pending_delta_link };
}

/** The main read ended: the run ends, or goes on with the refresh read when the plan has one. */
function afterMainRead(plan: ReadPlan, position: NextPosition): NextPosition {
  if (!plan.refresh) return position;
  return { ...position, done: false, nextLink: asRefreshLink(refreshPath(plan, plan.refresh)) };
}

/**
 * Delta: the page's nextLink, or — on the last page — its deltaLink, which becomes the job's sync state with that
 * page. Keyset: the cursor after the page's last row (the sync state of every page); a short page is the last one.
 */
function nextPosition(ctx: RunContext, run: RunRow, plan: ReadPlan, page: ODataPage, cursor: KeysetCursor | null): NextPosition {
  const jobId = ctx.ref.jobId;
  if (plan.strategy === "delta") {
    const nextLink = page["@odata.nextLink"] ?? null;
    if (nextLink !== null) return { done: false, nextLink, keyset: cursor, pendingDeltaLink: run.pending_delta_link };
    const deltaLink = page["@odata.deltaLink"] ?? null;
    if (!deltaLink) throw new RunFailure("dynamics_error", "Dataverse ended a change-tracking read without a deltaLink");
    return afterMainRead(plan, {
      done: true,
      nextLink,
      keyset: cursor,
      pendingDeltaLink: deltaLink,
      syncState: { jobId, configHash: plan.configHash, strategy: "delta", deltaLink, keyset: null },
    });
  }
  let keyset = cursor;
  const last = page.value[page.value.length - 1];
  if (last) {
    keyset = cursorOf(last);
    if (!keyset) throw new Error("invariant: a keyset page row lacks modifiedon / versionnumber");
  }
  const done = page.value.length < plan.pageSize;
  // A full page whose last row is not after the cursor would be read again forever (e.g. a stored filter that
  // escapes its parentheses): end the run instead of re-writing the same rows.
  if (!done && cursor && keyset && !cursorAfter(keyset, cursor)) {
    throw new RunFailure(
      "invalid_job",
      `The keyset read did not advance past modifiedon ${cursor.modifiedon} / versionnumber ${cursor.version}; check the job's filter (source.filter)`,
    );
  }
  const position: NextPosition = {
    done,
    nextLink: null,
    keyset,
    pendingDeltaLink: run.pending_delta_link,
    ...(keyset ? { syncState: { jobId, configHash: plan.configHash, strategy: "keyset", deltaLink: null, keyset } } : {}),
  };
  return done ? afterMainRead(plan, position) : position;
}
