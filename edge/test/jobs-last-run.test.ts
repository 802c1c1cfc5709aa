/**
 * GET /jobs and GET /jobs/:id carry each job's latest run (`lastRun`), found for every listed job in one D1 query, so
 * the widget's jobs view needs no request per job.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../src/env";
import { checkpointStatement, createRun, finishRun, latestRuns } from "../src/stores/runs";
import { withTenantShard } from "../src/stores/shards";
import { actors, call, createConnection, jobBody, json } from "./helpers";

async function createJob(token: string, connectionId: string, name: string): Promise<{ id: string }> {
  const res = await call("POST", "/api/v1/jobs", { token, body: jobBody(connectionId, name) });
  if (res.status !== 201) throw new Error(`create job: ${res.status} ${await res.text()}`);
  return json(res);
}

/** A run of `jobId` with one committed page of `read` rows, ended as `status`; runs are created in call order. */
async function endedRun(tenant: string, jobId: string, status: "succeeded" | "partial" | "failed", read = 0): Promise<string> {
  const run = await createRun(env, tenant, jobId, "manual");
  if (read) {
    const counts = { read, inserted: read - 1, updated: 1, deleted: 0, skipped: 0, failed: 0 };
    await checkpointStatement(env.DATA, run.id, {
      page: 1,
      counts,
      errorRows: 0,
      phase: "done",
      nextLink: null,
      keyset: null,
      pendingDeltaLink: null,
      leaseUntil: 0,
    }).run();
  }
  await finishRun(env.DATA, run.id, status, status === "failed" ? { code: "dynamics_error", message: "Dataverse answered 500" } : undefined);
  await new Promise((r) => setTimeout(r, 5)); // the next run's created_at is later
  return run.id;
}

/** env with its D1 binding counting the statements prepared through it (the real D1 runs them). */
function countingD1(): { env: Env; prepared: string[] } {
  const prepared: string[] = [];
  const DATA = new Proxy(env.DATA, {
    get(target, key) {
      if (key === "prepare") {
        return (sql: string) => {
          prepared.push(sql);
          return target.prepare(sql);
        };
      }
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { env: { ...env, DATA }, prepared };
}

describe("jobs carry their last run", () => {
  it("lists every job with its latest run — ended, active or none — in the list, the connection filter and the single read", async () => {
    const { admin, viewer, tenant } = await actors();
    const conn = await createConnection(admin);
    const other = await createConnection(admin, undefined, "Other");
    const done = await createJob(admin, conn.id, "done");
    const broken = await createJob(admin, conn.id, "broken");
    const never = await createJob(admin, conn.id, "never");
    const busy = await createJob(admin, conn.id, "busy");
    const elsewhere = await createJob(admin, other.id, "elsewhere");

    await endedRun(tenant, done.id, "failed");
    const latestDone = await endedRun(tenant, done.id, "succeeded", 12);
    const latestBroken = await endedRun(tenant, broken.id, "failed", 3);
    await endedRun(tenant, busy.id, "succeeded", 5);
    const active = await createRun(env, tenant, busy.id, "schedule");
    const latestElsewhere = await endedRun(tenant, elsewhere.id, "partial", 2);

    const res = await call("GET", `/api/v1/jobs?connectionId=${conn.id}`, { token: viewer });
    expect(res.status).toBe(200);
    const list = await json<Array<{ id: string; lastRun: unknown }>>(res);
    const byId = new Map(list.map((j) => [j.id, j.lastRun]));
    expect([...byId.keys()].sort()).toEqual([done.id, broken.id, never.id, busy.id].sort());
    expect(byId.get(done.id)).toEqual({
      id: latestDone,
      trigger: "manual",
      status: "succeeded",
      createdAt: expect.stringMatching(/Z$/),
      startedAt: expect.stringMatching(/Z$/),
      finishedAt: expect.stringMatching(/Z$/),
      counts: { read: 12, inserted: 11, updated: 1, deleted: 0, skipped: 0, failed: 0 },
      error: null,
    });
    expect(byId.get(broken.id)).toMatchObject({ id: latestBroken, status: "failed", error: { code: "dynamics_error" }, counts: { read: 3 } });
    expect(byId.get(never.id)).toBeNull();
    // An active run is the last run (the table shows it running), even after an ended one.
    expect(byId.get(busy.id)).toMatchObject({ id: active.id, trigger: "schedule", status: "queued", finishedAt: null, counts: { read: 0 } });

    const all = await json<Array<{ id: string; lastRun: { id: string } | null }>>(await call("GET", "/api/v1/jobs", { token: admin }));
    expect(all).toHaveLength(5);
    expect(all.find((j) => j.id === elsewhere.id)?.lastRun).toMatchObject({ id: latestElsewhere, status: "partial" });

    const one = await json(await call("GET", `/api/v1/jobs/${done.id}`, { token: viewer }));
    expect(one.lastRun).toEqual(byId.get(done.id));
    expect((await json(await call("GET", `/api/v1/jobs/${never.id}`, { token: admin }))).lastRun).toBeNull();
  });

  it("finds the last runs of many jobs with one D1 statement, and leaves out jobs that never ran", async () => {
    const { tenant } = await actors();
    const ids = Array.from({ length: 40 }, (_, i) => `job_many_${i}`);
    const expected = new Map<string, string>();
    for (const [i, id] of ids.entries()) {
      if (i % 3 === 0) continue; // never ran
      await endedRun(tenant, id, "succeeded", i + 1);
      expected.set(id, await endedRun(tenant, id, i % 2 ? "partial" : "failed", i + 2));
    }
    const counting = countingD1();
    const scoped = await withTenantShard(counting.env, tenant); // the request's one directory read (API middleware)
    counting.prepared.length = 0;
    const last = await latestRuns(scoped, tenant, ids);
    expect(counting.prepared).toHaveLength(1);
    expect(new Map([...last].map(([job, run]) => [job, run.id]))).toEqual(expected);
    for (const [i, id] of ids.entries()) if (last.has(id)) expect(last.get(id)!.counts.read).toBe(i + 2);

    const none = countingD1();
    expect((await latestRuns(none.env, tenant, [])).size).toBe(0);
    expect(none.prepared).toHaveLength(0); // nothing to look up, nothing asked
  });

  it("never shows another tenant's runs, even of a job id this tenant also uses", async () => {
    const mine = await actors();
    const theirs = await actors();
    const conn = await createConnection(mine.admin);
    const job = await createJob(mine.admin, conn.id, "mine");
    const ran = await createJob(mine.admin, conn.id, "ran");
    await endedRun(theirs.tenant, job.id, "succeeded", 7); // same job id, other tenant
    const myRun = await endedRun(mine.tenant, ran.id, "succeeded", 1);
    await endedRun(theirs.tenant, ran.id, "failed", 9); // later, but not this tenant's

    const list = await json<Array<{ id: string; lastRun: { id: string } | null }>>(await call("GET", "/api/v1/jobs", { token: mine.admin }));
    expect(list.find((j) => j.id === job.id)?.lastRun).toBeNull();
    expect(list.find((j) => j.id === ran.id)?.lastRun).toMatchObject({ id: myRun, status: "succeeded" });
    expect((await json(await call("GET", `/api/v1/jobs/${job.id}`, { token: mine.admin }))).lastRun).toBeNull();
    // The other tenant reads neither the jobs nor, through them, the runs.
    expect(await json(await call("GET", "/api/v1/jobs", { token: theirs.admin }))).toEqual([]);
    expect((await call("GET", `/api/v1/jobs/${job.id}`, { token: theirs.admin })).status).toBe(404);
    expect([...(await latestRuns(env, mine.tenant, [job.id, ran.id])).values()].map((r) => r.id)).toEqual([myRun]);
  });

  it("a job read back as input loses lastRun: the strict input schema refuses it", async () => {
    const { admin } = await actors();
    const conn = await createConnection(admin);
    const job = await createJob(admin, conn.id, "strict");
    const { id, createdAt: _c, updatedAt: _u, lastRun, ...input } = await json(await call("GET", `/api/v1/jobs/${job.id}`, { token: admin }));
    expect(lastRun).toBeNull();
    expect((await call("PUT", `/api/v1/jobs/${id}`, { token: admin, body: input })).status).toBe(200);
    expect((await call("PUT", `/api/v1/jobs/${id}`, { token: admin, body: { ...input, lastRun } })).status).toBe(400);
  });
});
