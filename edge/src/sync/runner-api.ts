/**
 * What the rest of the edge may ask of a job's runner, the JobRunner Durable Object (one per job, idFromName
 * `${tenant}:${jobId}`). Typed by this interface rather than the class, so starting a run does not depend on the engine
 * the runner drives (the engine's run end starts chained runs: the class would make that a cycle).
 */
import type { Env } from "../env";

/** The run a runner drives. */
export interface RunRef {
  tenant: string;
  jobId: string;
  runId: string;
}

/** The runner's RPC methods (sync/job-runner.ts implements them). */
export interface JobRunnerApi extends Rpc.DurableObjectBranded {
  /** Drive `ref` from now on (called right after the run row was inserted, and by the cron re-kick). */
  start(ref: RunRef): Promise<void>;
  /** The run this runner drives, if any (tests, diagnostics). */
  current(): Promise<RunRef | null>;
}

function runnerStub(env: Env, tenant: string, jobId: string): DurableObjectStub<JobRunnerApi> {
  // The generated Env types the binding by the class, which implements JobRunnerApi; the namespace type is invariant
  // in it, hence the double cast.
  const ns = env.JOB_RUNNER as unknown as DurableObjectNamespace<JobRunnerApi>;
  return ns.get(ns.idFromName(`${tenant}:${jobId}`));
}

/** Hands `ref` to its job's runner, which starts (or resumes) driving it right away. */
export async function kickRunner(env: Env, ref: RunRef): Promise<void> {
  await runnerStub(env, ref.tenant, ref.jobId).start(ref);
}
