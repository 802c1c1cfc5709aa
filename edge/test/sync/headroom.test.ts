/**
 * Service-protection headroom: the Dataverse client reads x-ms-ratelimit-* from responses the run makes anyway, the
 * engine records the minimum on the run (page batch, or the run row on init / waits / failures), the runs API exposes
 * it as Run.headroom, and the connection's readiness report shows the latest run's figure.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { lowerHeadroom, readHeadroom, retryPolicy } from "../../src/dataverse/client";
import { runSlice } from "../../src/sync/engine";
import { createRun, getRunRow, lowerHeadroomStatement, toRun } from "../../src/stores/runs";
import { putConnection, getConnection } from "../../src/stores/connections";
import { call, hostToken, json } from "../helpers";
import { fixture, runToEnd, sandbox, type Fixture } from "./helpers";

const RL = { requests: "x-ms-ratelimit-burst-remaining-xrm-requests", time: "x-ms-ratelimit-time-remaining-xrm-requests" };

describe("reading the headers", () => {
  it("parses Dataverse's figures (time is seconds with thousands separators)", () => {
    expect(readHeadroom(new Headers({ [RL.requests]: "5,998", [RL.time]: "1,199.50" }))).toEqual({ requestsRemaining: 5998, timeRemainingMs: 1_199_500 });
    expect(readHeadroom(new Headers({ [RL.requests]: "0" }))).toEqual({ requestsRemaining: 0 });
    expect(readHeadroom(new Headers({ [RL.time]: "1,200.00" }))).toBeNull();
    expect(readHeadroom(new Headers({ [RL.requests]: "lots" }))).toBeNull();
  });

  it("keeps the lower figure of each kind", () => {
    expect(lowerHeadroom(null, { requestsRemaining: 10 })).toEqual({ requestsRemaining: 10 });
    expect(lowerHeadroom({ requestsRemaining: 10, timeRemainingMs: 5 }, { requestsRemaining: 20, timeRemainingMs: 1 })).toEqual({
      requestsRemaining: 10,
      timeRemainingMs: 1,
    });
    expect(lowerHeadroom({ requestsRemaining: 10, timeRemainingMs: 5 }, { requestsRemaining: 3 })).toEqual({ requestsRemaining: 3, timeRemainingMs: 5 });
  });

  it("lowers the run row only where the new figure is lower", async () => {
    const tenant = `t-${crypto.randomUUID()}`;
    const run = await createRun(env, tenant, "job_headroom", "manual");
    expect(toRun(run).headroom).toBeUndefined();
    await lowerHeadroomStatement(env.DATA, run.id, { requestsRemaining: 100 }).run();
    expect(toRun((await getRunRow(env, tenant, run.id))!).headroom).toEqual({ requestsRemaining: 100 });
    await lowerHeadroomStatement(env.DATA, run.id, { requestsRemaining: 200, timeRemainingMs: 900_000 }).run();
    expect(toRun((await getRunRow(env, tenant, run.id))!).headroom).toEqual({ requestsRemaining: 100, timeRemainingMs: 900_000 });
    await lowerHeadroomStatement(env.DATA, run.id, { requestsRemaining: 40 }).run();
    expect(toRun((await getRunRow(env, tenant, run.id))!).headroom).toEqual({ requestsRemaining: 40, timeRemainingMs: 900_000 });
  });
});

const accountsFixture = () =>
  fixture("contoso", {
    source: { entity: "account", filter: null },
    target: { object: "Company" },
    identifiers: [{ source: "accountid", target: "DynamicsId" }],
    mappings: [{ source: "name", target: "Name", use: "value" }],
  });

async function withReadiness(fx: Fixture): Promise<void> {
  const conn = (await getConnection(env, fx.tenant, fx.job.connectionId))!;
  await putConnection(env, {
    ...conn,
    readiness: {
      checkedAt: new Date().toISOString(),
      ready: true,
      checks: [{ id: "application_user", ok: true, severity: "info", required: true, label: "ok" }],
    },
  });
}

describe.skipIf(!sandbox)("headroom of a run against the sandbox", () => {
  afterEach(() => vi.restoreAllMocks());

  it("records the lowest figures the run saw, without extra requests, and the readiness report shows them", async () => {
    const fx = await accountsFixture();
    await withReadiness(fx);
    const run = await runToEnd(fx, { pageSize: 500 });
    expect(run.status).toBe("succeeded");
    const h = toRun(run).headroom!;
    expect(h.requestsRemaining).toBeGreaterThanOrEqual(0);
    expect(h.requestsRemaining).toBeLessThan(6000);
    expect(h.timeRemainingMs).toBe(1_200_000); // the sandbox reports "1,200.00" seconds

    const token = await hostToken({ tenant: fx.tenant, role: "viewer" });
    const api = await json(await call("GET", `/api/v1/runs/${run.id}`, { token }));
    expect(api.headroom).toEqual(h);
    const conn = await json(await call("GET", `/api/v1/connections/${fx.job.connectionId}`, { token }));
    expect(conn.readiness.headroom).toEqual({ runId: run.id, jobId: fx.job.id, finishedAt: run.finished_at, ...h });
    const check = conn.readiness.checks.find((c: any) => c.id === "service_protection");
    expect(check).toMatchObject({
      severity: expect.any(String),
      label: expect.stringContaining(`at least ${h.requestsRemaining.toLocaleString("en-US")} of 6,000 requests`),
    });
    expect(conn.readiness.ready).toBe(true); // informational: never decides readiness
  });

  it("records a 429's zero headroom on the run while it waits, keeps the minimum, and warns in the readiness report", async () => {
    const fx = await accountsFixture();
    await withReadiness(fx);
    const realFetch = globalThis.fetch;
    let throttled = 0;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      if (throttled === 0 && /\/api\/data\/v9\.2\/accounts\?/.test(url)) {
        throttled++;
        // A Retry-After longer than the client sleeps on: the engine waits as an alarm (here: the slice returns "wait").
        const after = String(Math.ceil(retryPolicy.maxRetryAfterMs / 1000) + 15);
        return new Response(JSON.stringify({ error: { code: "0x80072322", message: "Number of requests exceeded the limit" } }), {
          status: 429,
          headers: { "Content-Type": "application/json", "Retry-After": after, [RL.requests]: "0", [RL.time]: "1,100.00" },
        });
      }
      return realFetch(input, init);
    });
    const row = await createRun(env, fx.tenant, fx.job.id, "manual");
    const ref = { tenant: fx.tenant, jobId: fx.job.id, runId: row.id };
    const first = await runSlice(env, ref, { pageSize: 500 });
    expect(first.kind).toBe("wait");
    expect(throttled).toBe(1);
    const waiting = (await getRunRow(env, fx.tenant, row.id))!;
    expect(toRun(waiting).headroom).toEqual({ requestsRemaining: 0, timeRemainingMs: 1_100_000 });

    vi.restoreAllMocks();
    for (let i = 0; i < 50 && (await runSlice(env, ref, { pageSize: 500 })).kind !== "done"; i++);
    const done = (await getRunRow(env, fx.tenant, row.id))!;
    expect(done.status).toBe("succeeded");
    expect(toRun(done).headroom).toEqual({ requestsRemaining: 0, timeRemainingMs: 1_100_000 });

    const conn = await json(await call("GET", `/api/v1/connections/${fx.job.connectionId}`, { token: await hostToken({ tenant: fx.tenant }) }));
    expect(conn.readiness.checks.find((c: any) => c.id === "service_protection")).toMatchObject({
      ok: false,
      severity: "warning",
      fix: expect.stringContaining("service-protection limits"),
    });
    expect(conn.readiness.ready).toBe(true);
  });
});
