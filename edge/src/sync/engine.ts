/**
 * The run loop, independent of who drives it (the JobRunner Durable Object in production, tests directly).
 * All progress lives in D1: `runSlice` reads the run row, performs steps — init (init.ts), then page steps
 * (page-step.ts: fetch → map → write + checkpoint in one batch) — until its time budget is spent, and returns whether
 * more work remains. Calling it again — after an eviction, a crash, a restart, or concurrently by mistake — continues
 * from the last committed page and never writes a page twice. Failures end here: fail the run, or wait and retry.
 */
import type { RunErrorCode } from "#contract/errors";
import { isDataverseError } from "../dataverse/client";
import type { Env } from "../env";
import { markNeedsAttention } from "../stores/connections";
import { chainDepth, countFailedAttempt, finishRun, getRunRow, touchLease, type RunRow } from "../stores/runs";
import { dbFor, TenantMovingError, withTenantShard } from "../stores/shards";
import { onRunFinished } from "./finish";
import { initRun, pageSizeFor } from "./init";
import { pageStep } from "./page-step";
import { partitionedSlice } from "./partitioned-read";
import type { ReadPlan } from "./query";
import { permitsOf, reportSignals, takePermit, type OrgPermitsStub } from "./stream-permits";
import { initReconcile, reconcileStep } from "./reconcile";
import { flushHeadroom, isTransient, LEASE_MS, loadRunContext, RunFailure, type RunContext } from "./run-context";
import type { RunRef } from "./runner-api";

/** Attempts of one page step (transient failures) before the run fails. */
const MAX_STEP_ATTEMPTS = 6;

/**
 * How many chained runs may follow one another below the run that started a chain (by hand or by its schedule). A
 * deeper chained run fails at its start with `chain_too_deep`, and so starts no children: a chain can't run away, even
 * through a dependency loop stored before loops were refused atomically (stores/schedule-index.ts).
 */
export const MAX_CHAIN_DEPTH = 10;

async function checkChainDepth(env: Env, ref: RunRef, run: RunRow): Promise<void> {
  if (run.trigger !== "chain" || !run.parent_run_id) return;
  const depth = await chainDepth(env, ref.tenant, run.id, MAX_CHAIN_DEPTH);
  if (depth > MAX_CHAIN_DEPTH) {
    throw new RunFailure(
      "chain_too_deep",
      `Chain too deep: this run is more than ${MAX_CHAIN_DEPTH} chained runs below the run that started the chain; it did not start (check the jobs' dependsOn)`,
    );
  }
}

type SliceResult = { kind: "done" } | { kind: "continue" } | { kind: "wait"; ms: number };

export interface SliceOptions {
  /** Wall-time budget for this slice; a page already started is finished. */
  budgetMs?: number;
  /** Stop after this many page steps (tests simulate an interruption with it). */
  maxPages?: number;
  /** Page size fixed into the run's plan at init (default SYNC_PAGE_SIZE or 5000; a reconciliation's 5000). */
  pageSize?: number;
  /** Rows from which a first full read is partitioned (default PARTITION_MIN_ROWS; tests lower it). */
  partitionMinRows?: number;
}

async function failRun(env: Env, ref: RunRef, code: RunErrorCode, message: string): Promise<void> {
  if (await finishRun(await dbFor(env, ref.tenant), ref.runId, "failed", { code, message })) await onRunFinished(env, ref.tenant, ref.runId);
}

/** Runs page steps until the budget is spent or the run ends. Safe to call at any time, any number of times. */
export async function runSlice(unscoped: Env, ref: RunRef, opts: SliceOptions = {}): Promise<SliceResult> {
  const deadline = Date.now() + (opts.budgetMs ?? 20_000);
  let env: Env;
  try {
    env = await withTenantShard(unscoped, ref.tenant); // one directory read per slice
  } catch (e) {
    if (e instanceof TenantMovingError) return { kind: "wait", ms: 30_000 }; // an operator moves the tenant: after the flip
    throw e;
  }
  const db = await dbFor(env, ref.tenant);
  let steps = 0;
  let ctx: RunContext | null = null;
  let permits: OrgPermitsStub | null = null; // the org's stream permit this slice holds (holder: the run id)
  try {
    for (;;) {
      // Re-read before every step: a run cancelled (POST /runs/:id/cancel finishes it) is noticed between pages.
      const run = await getRunRow(env, ref.tenant, ref.runId);
      if (!run || (run.status !== "queued" && run.status !== "running")) return { kind: "done" };
      if (run.phase === "done") {
        const status = run.failed_count > 0 ? "partial" : "succeeded";
        if (await finishRun(db, run.id, status)) await onRunFinished(env, ref.tenant, run.id);
        return { kind: "done" };
      }
      if (steps >= (opts.maxPages ?? Infinity) || (steps > 0 && Date.now() >= deadline)) {
        await touchLease(db, run.id, Date.now() + LEASE_MS);
        return { kind: "continue" };
      }
      try {
        if (run.phase === "init") await checkChainDepth(env, ref, run);
        ctx ??= await loadRunContext(env, ref);
        if (!permits) {
          // Every stream of an organization reads under one of its permits; none free: wait as an alarm, hold nothing.
          const stub = permitsOf(ctx);
          const grant = await takePermit(stub, ref.runId);
          if (!grant.granted) {
            await touchLease(db, run.id, Date.now() + grant.retryMs + LEASE_MS);
            return { kind: "wait", ms: grant.retryMs };
          }
          permits = stub;
        }
        if (run.phase === "init") {
          if (run.kind === "reconcile") await initReconcile(ctx, run, opts.pageSize);
          else await initRun(ctx, run, opts.pageSize ?? pageSizeFor(env), opts.partitionMinRows);
          await flushHeadroom(ctx);
        } else if (run.kind === "reconcile") {
          await reconcileStep(ctx, run);
          steps++;
        } else {
          const plan = readPlanOf(ctx, run);
          if (plan.partitions) {
            const limits = { deadline, maxPages: (opts.maxPages ?? Infinity) - steps, permits, holder: ref.runId };
            steps += Math.max(1, await partitionedSlice(ctx, run, plan, limits));
          } else {
            await pageStep(ctx, run, plan);
            steps++;
          }
        }
      } catch (e) {
        await flushHeadroom(ctx).catch(() => {});
        if (e instanceof RunFailure) {
          if (["dynamics_unauthorized", "not_authorized", "insufficient_privilege", "org_claimed"].includes(e.code) && ctx)
            await markNeedsAttention(env, ref.tenant, ctx.conn.id, e.message).catch(() => {});
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
          await countFailedAttempt(db, run.id, Date.now() + ms + LEASE_MS);
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
  } finally {
    if (permits && ctx) {
      await reportSignals(ctx, permits).catch(() => {});
      await permits.release(ref.runId).catch(() => {});
    }
  }
}

/** The run's read plan, parsed once per slice (runs.plan is fixed at init). */
function readPlanOf(ctx: RunContext, run: RunRow): ReadPlan {
  if (!run.plan) throw new Error(`invariant: run ${run.id} is in phase pages without a plan`);
  if (ctx.plan?.text !== run.plan) ctx.plan = { text: run.plan, plan: JSON.parse(run.plan) as ReadPlan };
  return ctx.plan.plan;
}
