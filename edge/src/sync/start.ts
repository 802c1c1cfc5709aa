/** Starting a run: the atomic D1 insert (one active run per job), then the job's Durable Object is kicked. */
import type { RunTrigger } from "#contract/run";
import type { Env } from "../env";
import type { JobRunner } from "./job-runner";
import { createRun, type RunRow } from "./runs-store";

export function runnerStub(env: Env, tenant: string, jobId: string): DurableObjectStub<JobRunner> {
  const ns = env.JOB_RUNNER as unknown as DurableObjectNamespace<JobRunner>;
  return ns.get(ns.idFromName(`${tenant}:${jobId}`));
}

/** Creates a queued run and hands it to the job's runner. Throws RunInProgressError when one is active. */
export async function startRun(env: Env, tenant: string, jobId: string, trigger: RunTrigger, parentRunId: string | null = null): Promise<RunRow> {
  const run = await createRun(env, tenant, jobId, trigger, parentRunId);
  await kickRunner(env, { tenant, jobId, runId: run.id });
  return run;
}

export async function kickRunner(env: Env, ref: { tenant: string; jobId: string; runId: string }): Promise<void> {
  await runnerStub(env, ref.tenant, ref.jobId).start(ref);
}
