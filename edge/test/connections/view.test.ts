/** GET /connections and GET /connections/:id fill jobCount and lastSync from the jobs (KV) and run history (D1). */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createRun, finishRun } from "../../src/stores/runs";
import { actors, call, createConnection, json } from "../helpers";

const jobBody = (connectionId: string, name: string) => ({
  connectionId,
  name,
  source: { entity: "account" },
  target: { object: "Company" },
  identifiers: [{ source: "accountid", target: "DynamicsId" }],
  mappings: [{ source: "name", target: "Name" }],
});

async function createJob(token: string, connectionId: string, name: string): Promise<{ id: string }> {
  const res = await call("POST", "/api/v1/jobs", { token, body: jobBody(connectionId, name) });
  if (res.status !== 201) throw new Error(`create job: ${res.status} ${await res.text()}`);
  return json(res);
}

/** A finished run of `jobId`; runs finish in call order (finished_at is the wall clock). */
async function finishedRun(tenant: string, jobId: string, status: "succeeded" | "partial" | "failed"): Promise<string> {
  const run = await createRun(env, tenant, jobId, "manual");
  await new Promise((r) => setTimeout(r, 5)); // distinct finished_at
  await finishRun(env.DATA, run.id, status, status === "failed" ? { code: "dynamics_error", message: "x" } : undefined);
  return run.id;
}

describe("connection summary: jobCount and lastSync", () => {
  it("has jobCount 0 and no lastSync before anything ran", async () => {
    const { admin } = await actors();
    const c = await createConnection(admin);
    const read = await json(await call("GET", `/api/v1/connections/${c.id}`, { token: admin }));
    expect(read.jobCount).toBe(0);
    expect(read.lastSync).toBeUndefined();
  });

  it("reports the most recent finished run of any of the connection's jobs, in the list and the single read", async () => {
    const { admin, viewer, tenant } = await actors();
    const a = await createConnection(admin, undefined, "A");
    const b = await createConnection(admin, undefined, "B");
    const a1 = await createJob(admin, a.id, "a1");
    const a2 = await createJob(admin, a.id, "a2");
    const b1 = await createJob(admin, b.id, "b1");

    await finishedRun(tenant, a1.id, "succeeded");
    const latestA = await finishedRun(tenant, a2.id, "partial");
    await finishedRun(tenant, b1.id, "succeeded");
    const latestB = await finishedRun(tenant, b1.id, "failed");
    await createRun(env, tenant, a1.id, "manual"); // active: not finished, never "last sync"

    const list = await json<any[]>(await call("GET", "/api/v1/connections", { token: viewer }));
    const byName = Object.fromEntries(list.map((c) => [c.name, c]));
    expect(byName.A).toMatchObject({ jobCount: 2, lastSync: { runId: latestA, jobId: a2.id, status: "partial", finishedAt: expect.stringMatching(/Z$/) } });
    expect(byName.B).toMatchObject({ jobCount: 1, lastSync: { runId: latestB, jobId: b1.id, status: "failed" } });

    const one = await json(await call("GET", `/api/v1/connections/${a.id}`, { token: viewer }));
    expect(one.jobCount).toBe(2);
    expect(one.lastSync).toEqual(byName.A.lastSync);
  });

  it("never takes another tenant's runs, even for a job id it also uses", async () => {
    const mine = await actors();
    const other = await actors();
    const c = await createConnection(mine.admin);
    const job = await createJob(mine.admin, c.id, "mine");
    await finishedRun(other.tenant, job.id, "succeeded"); // same job id, other tenant
    const read = await json(await call("GET", `/api/v1/connections/${c.id}`, { token: mine.admin }));
    expect(read).toMatchObject({ jobCount: 1 });
    expect(read.lastSync).toBeUndefined();
  });

  it("keeps counting a disabled job's runs (history stays the host's)", async () => {
    const { admin, tenant } = await actors();
    const c = await createConnection(admin);
    const job = await createJob(admin, c.id, "j");
    const runId = await finishedRun(tenant, job.id, "succeeded");
    const put = await call("PUT", `/api/v1/jobs/${job.id}`, { token: admin, body: { ...jobBody(c.id, "j"), enabled: false } });
    expect(put.status).toBe(200);
    const read = await json(await call("GET", `/api/v1/connections/${c.id}`, { token: admin }));
    expect(read).toMatchObject({ jobCount: 1, lastSync: { runId } });
  });
});
