/** The run loop's own rules (engine.ts) that need no Dataverse: the chain-depth guard at a run's start. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createRun, getRunRow, type RunRow } from "../../src/stores/runs";
import { MAX_CHAIN_DEPTH, runSlice } from "../../src/sync/engine";

/** A run started by hand, then `hops` chained runs each started by the one before (jobs job_0 … job_<hops>). */
async function chainOfRuns(hops: number): Promise<{ tenant: string; runs: RunRow[] }> {
  const tenant = `t-${crypto.randomUUID()}`;
  const runs = [await createRun(env, tenant, "job_0", "manual")];
  for (let i = 1; i <= hops; i++) runs.push(await createRun(env, tenant, `job_${i}`, "chain", runs[i - 1]!.id));
  return { tenant, runs };
}

describe("chain depth", () => {
  it(`stops a chained run more than ${MAX_CHAIN_DEPTH} hops below the run that started the chain (chain_too_deep)`, async () => {
    expect(MAX_CHAIN_DEPTH).toBe(10);
    const { tenant, runs } = await chainOfRuns(11);
    const deepest = runs[11]!;
    expect(await runSlice(env, { tenant, jobId: deepest.job_id, runId: deepest.id })).toEqual({ kind: "done" });
    const row = (await getRunRow(env, tenant, deepest.id))!;
    expect(row.status).toBe("failed");
    expect(row.error_code).toBe("chain_too_deep");
    expect(row.error_message).toMatch(/more than 10 chained runs/);
  });

  it(`lets a run ${MAX_CHAIN_DEPTH} hops down start (it fails later only for its own reasons: here, no such job)`, async () => {
    const { tenant, runs } = await chainOfRuns(10);
    const last = runs[10]!;
    await runSlice(env, { tenant, jobId: last.job_id, runId: last.id });
    expect((await getRunRow(env, tenant, last.id))!.error_code).toBe("job_not_found");
  });
});
