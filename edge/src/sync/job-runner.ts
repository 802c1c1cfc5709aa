/**
 * One Durable Object per job (idFromName(`${tenant}:${jobId}`)) drives its runs: each alarm processes pages for a
 * bounded time (runSlice) and re-arms itself, so a run survives evictions, crashes and restarts; progress itself is
 * in D1 (see engine.ts and docs/decisions/0001-durable-runs.md). The DO's own storage only remembers which run to drive.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { runSlice } from "./engine";
import type { JobRunnerApi, RunRef } from "./runner-api";

/** Wall time one alarm spends on pages before re-arming (keeps each invocation well inside platform limits). */
const SLICE_BUDGET_MS = 20_000;

export class JobRunner extends DurableObject<Env> implements JobRunnerApi {
  async start(ref: RunRef): Promise<void> {
    await this.ctx.storage.put("run", ref);
    await this.ctx.storage.setAlarm(Date.now());
  }

  async current(): Promise<RunRef | null> {
    return (await this.ctx.storage.get<RunRef>("run")) ?? null;
  }

  override async alarm(): Promise<void> {
    const ref = await this.ctx.storage.get<RunRef>("run");
    if (!ref) return;
    const result = await runSlice(this.env, ref, { budgetMs: SLICE_BUDGET_MS });
    if (result.kind === "done") {
      // A newer run may have been handed over while this slice ran: only forget the one that ended.
      const now = await this.ctx.storage.get<RunRef>("run");
      if (now?.runId === ref.runId) await this.ctx.storage.delete("run");
      else if (now) await this.ctx.storage.setAlarm(Date.now());
      return;
    }
    await this.ctx.storage.setAlarm(Date.now() + (result.kind === "wait" ? result.ms : 0));
  }
}
