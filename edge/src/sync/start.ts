/** Starting a run: the atomic D1 insert (one active run per job), then the job's Durable Object is kicked. */
import type { RunTrigger } from "#contract/run";
import type { Env } from "../env";
import { createRun, type RunKindOptions, type RunRow } from "../stores/runs";
import { kickRunner } from "./runner-api";

/** Creates a queued run (a sync, or a reconciliation) and hands it to the job's runner. Throws RunInProgressError when one is active. */
export async function startRun(
  env: Env,
  tenant: string,
  jobId: string,
  trigger: RunTrigger,
  parentRunId: string | null = null,
  opts: RunKindOptions = {},
): Promise<RunRow> {
  const run = await createRun(env, tenant, jobId, trigger, parentRunId, opts);
  await kickRunner(env, { tenant, jobId, runId: run.id });
  return run;
}
