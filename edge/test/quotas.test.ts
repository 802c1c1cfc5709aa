/**
 * Quotas per tenant (quotas/tenant-quotas.ts): each limit answers 422 quota_exceeded with a detail naming the limit, its value
 * and its variable; concurrent creates never overshoot where the storage allows it. Limits other than the defaults are
 * set per request (the app called with a modified env), as a deployment sets them in wrangler.toml [vars].
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../src/app";
import { createRun, finishRun, ManualRunLimitError } from "../src/stores/runs";
import { STANDARD_OBJECTS } from "../src/stores/standard-objects";
import { actors, apiRequest, call, createConnection, expectError, jobBody, json, type CallOptions } from "./helpers";

/** The app with `vars` on top of the test Worker's env. */
async function callWith(vars: Record<string, string>, method: string, path: string, o: CallOptions = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(apiRequest(method, path, o), { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const fields = (n: number, prefix = "f") => Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}`, label: "f", type: "string" }));

/** The 422's one detail at `path`; its message, and the envelope's, name the limit (`names`: its variable, or D1's rule). */
async function quotaDetail(res: Response, path: string, names: string): Promise<string> {
  const e = await expectError(res, 422, "quota_exceeded");
  expect(e.details).toEqual([{ path, message: expect.stringContaining(names) }]);
  expect(e.message).toContain(names);
  return e.details![0]!.message;
}

describe("quota: connections per tenant", () => {
  it("refuses the connection over QUOTA_CONNECTIONS_PER_TENANT; deleting one makes room", async () => {
    const a = await actors();
    const vars = { QUOTA_CONNECTIONS_PER_TENANT: "2" };
    const create = (name: string) =>
      callWith(vars, "POST", "/api/v1/connections", { token: a.admin, body: { name, orgUrl: "https://contoso.crm.dynamics.com" } });
    expect((await create("one")).status).toBe(201);
    const second = await json(await create("two"));
    const msg = await quotaDetail(await create("three"), "(body)", "QUOTA_CONNECTIONS_PER_TENANT");
    expect(msg).toMatch(/at most 2 connections per tenant/);
    expect(await json<unknown[]>(await call("GET", "/api/v1/connections", { token: a.admin }))).toHaveLength(2);
    expect((await callWith(vars, "DELETE", `/api/v1/connections/${second.id}`, { token: a.admin })).status).toBe(200);
    expect((await create("three")).status).toBe(201);
  });

  it("counts per tenant: another tenant's connections don't count", async () => {
    const a = await actors();
    const b = await actors();
    const vars = { QUOTA_CONNECTIONS_PER_TENANT: "1" };
    const body = { name: "c", orgUrl: "https://contoso.crm.dynamics.com" };
    expect((await callWith(vars, "POST", "/api/v1/connections", { token: a.admin, body })).status).toBe(201);
    expect((await callWith(vars, "POST", "/api/v1/connections", { token: b.admin, body })).status).toBe(201);
  });
});

describe("quota: jobs per tenant", () => {
  it("refuses creating a job over QUOTA_JOBS_PER_TENANT, never updating one", async () => {
    const a = await actors();
    const conn = await createConnection(a.admin);
    const vars = { QUOTA_JOBS_PER_TENANT: "2" };
    const ids: string[] = [];
    for (const n of ["one", "two"]) {
      const res = await callWith(vars, "POST", "/api/v1/jobs", { token: a.admin, body: jobBody(conn.id, n) });
      expect(res.status).toBe(201);
      ids.push((await json(res)).id);
    }
    const msg = await quotaDetail(
      await callWith(vars, "POST", "/api/v1/jobs", { token: a.admin, body: jobBody(conn.id, "three") }),
      "(body)",
      "QUOTA_JOBS_PER_TENANT",
    );
    expect(msg).toMatch(/at most 2 jobs per tenant/);
    expect((await callWith(vars, "PUT", `/api/v1/jobs/${ids[0]}`, { token: a.admin, body: jobBody(conn.id, "renamed") })).status).toBe(200);
    expect(await json<unknown[]>(await call("GET", "/api/v1/jobs", { token: a.admin }))).toHaveLength(2);
  });

  it("neither overshoots nor undershoots under concurrent creates: exactly the quota are created, each 201 a stored job", async () => {
    const a = await actors();
    const conn = await createConnection(a.admin);
    const vars = { QUOTA_JOBS_PER_TENANT: "3" };
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => callWith(vars, "POST", "/api/v1/jobs", { token: a.admin, body: jobBody(conn.id, `job ${i}`) })),
    );
    const created = answers.filter((r) => r.status === 201).length;
    for (const r of answers.filter((x) => x.status !== 201)) await expectError(r, 422, "quota_exceeded");
    const stored = await json<Array<{ id: string }>>(await call("GET", "/api/v1/jobs", { token: a.admin }));
    expect(created).toBe(3);
    expect(stored.length).toBe(3);
    const indexed = await env.DATA.prepare("SELECT COUNT(*) AS n FROM schedule_index WHERE tenant = ?").bind(a.tenant).first<{ n: number }>();
    expect(indexed?.n).toBe(created);
  });
});

describe("quota: shortest schedule interval", () => {
  it("refuses a schedule firing more often than QUOTA_MIN_SCHEDULE_MINUTES (default 5) at schedule.cron, on create and replace", async () => {
    const a = await actors();
    const conn = await createConnection(a.admin);
    const every = (cron: string) => ({ schedule: { cron, timezone: "UTC" } });
    const msg = await quotaDetail(
      await call("POST", "/api/v1/jobs", { token: a.admin, body: jobBody(conn.id, "fast", every("*/2 * * * *")) }),
      "schedule.cron",
      "QUOTA_MIN_SCHEDULE_MINUTES",
    );
    expect(msg).toMatch(/runs at most every 5 minutes on this deployment \(QUOTA_MIN_SCHEDULE_MINUTES\); this schedule fires 2 minutes apart/);
    // */7 fires at :56 and then :00, four minutes apart.
    await quotaDetail(
      await call("POST", "/api/v1/jobs", { token: a.admin, body: jobBody(conn.id, "x", every("*/7 * * * *")) }),
      "schedule.cron",
      "QUOTA_MIN_SCHEDULE_MINUTES",
    );
    const ok = await call("POST", "/api/v1/jobs", { token: a.admin, body: jobBody(conn.id, "five", every("*/5 * * * *")) });
    expect(ok.status).toBe(201);
    const job = await json(ok);
    await quotaDetail(
      await call("PUT", `/api/v1/jobs/${job.id}`, { token: a.admin, body: jobBody(conn.id, "five", every("0,1 * * * *")) }),
      "schedule.cron",
      "QUOTA_MIN_SCHEDULE_MINUTES",
    );
    expect((await json(await call("GET", `/api/v1/jobs/${job.id}`, { token: a.admin }))).schedule.cron).toBe("*/5 * * * *");
  });

  it("accepts every minute where the deployment sets QUOTA_MIN_SCHEDULE_MINUTES=1", async () => {
    const a = await actors();
    const conn = await createConnection(a.admin);
    const body = jobBody(conn.id, "each minute", { schedule: { cron: "* * * * *", timezone: "UTC" } });
    expect((await callWith({ QUOTA_MIN_SCHEDULE_MINUTES: "1" }, "POST", "/api/v1/jobs", { token: a.admin, body })).status).toBe(201);
  });
});

describe("quota: objects per tenant and fields per object", () => {
  it("refuses the object over QUOTA_OBJECTS_PER_TENANT (standard objects count)", async () => {
    const a = await actors();
    const vars = { QUOTA_OBJECTS_PER_TENANT: String(STANDARD_OBJECTS.length + 1) };
    const create = (name: string) => callWith(vars, "POST", "/api/v1/objects", { token: a.admin, body: { name, label: name, fields: fields(1) } });
    expect((await create("Ticket")).status).toBe(201);
    const msg = await quotaDetail(await create("Invoice"), "(body)", "QUOTA_OBJECTS_PER_TENANT");
    expect(msg).toContain(`at most ${STANDARD_OBJECTS.length + 1} objects`);
    await expectError(await call("GET", "/api/v1/objects/Invoice", { token: a.admin }), 404, "not_found");
  });

  it("never overshoots under concurrent creates", async () => {
    const a = await actors();
    expect((await call("GET", "/api/v1/objects", { token: a.admin })).status).toBe(200); // the standard objects exist
    const vars = { QUOTA_OBJECTS_PER_TENANT: String(STANDARD_OBJECTS.length + 2) };
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        callWith(vars, "POST", "/api/v1/objects", { token: a.admin, body: { name: `Custom${i}`, label: `Custom ${i}`, fields: fields(1) } }),
      ),
    );
    const created = answers.filter((r) => r.status === 201).length;
    for (const r of answers.filter((x) => x.status !== 201)) await expectError(r, 422, "quota_exceeded");
    const objects = await json<Array<{ standard: boolean }>>(await call("GET", "/api/v1/objects", { token: a.admin }));
    expect(objects.filter((o) => !o.standard)).toHaveLength(created);
    expect(created).toBeLessThanOrEqual(2);
  });

  it("refuses more than 95 fields (D1's 100 columns less 5 system columns) on create at fields and on PATCH at addFields", async () => {
    const a = await actors();
    const msg = await quotaDetail(
      await call("POST", "/api/v1/objects", { token: a.admin, body: { name: "Wide", label: "Wide", fields: fields(96) } }),
      "fields",
      "D1 allows 100 columns per table",
    );
    expect(msg).toMatch(/at most 95 fields per object/);
    expect((await call("POST", "/api/v1/objects", { token: a.admin, body: { name: "Full", label: "Full", fields: fields(95) } })).status).toBe(201);
    const patch = await call("PATCH", "/api/v1/objects/Full", { token: a.admin, body: { addFields: fields(1, "g") } });
    expect(await quotaDetail(patch, "addFields", "D1 allows 100 columns per table")).toMatch(/it has 95, adding 1/);
  });
});

describe("quota: runs started by hand per hour", () => {
  /** A finished run of `trigger` created `minutesAgo` minutes ago (its own job id, so any number may exist). */
  async function pastRun(tenant: string, trigger: "manual" | "schedule", minutesAgo: number): Promise<void> {
    const run = await createRun(env, tenant, `job_${crypto.randomUUID().replace(/-/g, "")}`, trigger);
    await finishRun(env.DATA, run.id, "succeeded");
    await env.DATA.prepare("UPDATE runs SET created_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - minutesAgo * 60_000).toISOString(), run.id)
      .run();
  }

  it("refuses run now over QUOTA_MANUAL_RUNS_PER_HOUR with Retry-After; scheduled runs and runs over an hour old don't count", async () => {
    const a = await actors();
    const conn = await createConnection(a.admin);
    const job = await json(await call("POST", "/api/v1/jobs", { token: a.admin, body: jobBody(conn.id, "j") }));
    const vars = { QUOTA_MANUAL_RUNS_PER_HOUR: "2" };
    await pastRun(a.tenant, "manual", 50);
    await pastRun(a.tenant, "schedule", 5);
    await pastRun(a.tenant, "manual", 61);
    expect((await callWith(vars, "POST", `/api/v1/jobs/${job.id}/runs`, { token: a.admin })).status).toBe(202); // 2nd in the hour
    await pastRun(a.tenant, "manual", 1); // (the job's own run may still be active)
    const res = await callWith(vars, "POST", `/api/v1/jobs/${job.id}/runs`, { token: a.admin });
    const retryAfter = Number(res.headers.get("Retry-After"));
    expect(await quotaDetail(res, "(body)", "QUOTA_MANUAL_RUNS_PER_HOUR")).toMatch(/at most 2 runs started by hand per hour/);
    // The oldest counted run (50 minutes ago) leaves the window in about 10 minutes.
    expect(retryAfter).toBeGreaterThan(9 * 60);
    expect(retryAfter).toBeLessThanOrEqual(10 * 60);
  });

  it("never overshoots under concurrent starts: the count is part of the insert", async () => {
    const tenant = `t-${crypto.randomUUID()}`;
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => createRun(env, tenant, `job_${i}`, "manual", null, { manualRunsPerHour: 3 })));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
    for (const r of results.filter((x) => x.status === "rejected")) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ManualRunLimitError);
    // Runs the cron starts are not limited.
    expect((await createRun(env, tenant, "job_s", "schedule", null, { manualRunsPerHour: 3 })).trigger).toBe("schedule");
  });
});

describe("quota configuration", () => {
  it("answers 500 misconfigured naming the variable when a quota is not a whole number ≥ 1", async () => {
    const a = await actors();
    const res = await callWith({ QUOTA_CONNECTIONS_PER_TENANT: "lots" }, "POST", "/api/v1/connections", {
      token: a.admin,
      body: { name: "c", orgUrl: "https://contoso.crm.dynamics.com" },
    });
    expect((await expectError(res, 500, "misconfigured")).message).toMatch(/QUOTA_CONNECTIONS_PER_TENANT/);
  });
});
