/**
 * Cancelling a run (POST /runs/:runId/cancel) and the row-count estimate of full reads, against the sandbox.
 * The runs are driven in-process with runSlice (the function the JobRunner's alarm calls), so "mid-run" is exact:
 * after N committed pages, or while a page is being fetched. Only accounts and systemusers are read here — the
 * tables sandbox-sync.test.ts leaves alone (it changes cr123_project / contact rows and injects faults on them).
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ObjectField } from "#contract/object";
import { runSlice } from "../../src/sync/engine";
import { cancelRun, createRun, getRunRow, toRun } from "../../src/stores/runs";
import { putJob } from "../../src/stores/jobs";
import { call, hostToken, json } from "../helpers";
import { countRows, fixture, org, runToEnd, sandbox, sourceRows, targetRows, type Fixture } from "./helpers";

const FIELDS: ObjectField[] = [
  { name: "DynamicsId", label: "Id", type: "id", required: true, unique: true },
  { name: "Name", label: "Name", type: "string", required: false },
];
/** account: change tracking, no filter → a full read with change tracking, then deltas. */
const accounts = (over: Parameters<typeof fixture>[1] = {}) =>
  fixture("contoso", {
    source: { entity: "account", filter: null },
    object: { name: "Acct", fields: FIELDS },
    identifiers: [{ source: "accountid", target: "DynamicsId" }],
    mappings: [{ source: "name", target: "Name", use: "value" }],
    ...over,
  });
/** systemuser: no change tracking → keyset reads (modifiedon, versionnumber). */
const users = () =>
  fixture("contoso", {
    source: { entity: "systemuser", filter: null },
    object: { name: "SysUser", fields: FIELDS },
    identifiers: [{ source: "systemuserid", target: "DynamicsId" }],
    mappings: [{ source: "fullname", target: "Name", use: "value" }],
  });

const syncState = (fx: Fixture) =>
  env.DATA.prepare("SELECT strategy, delta_link, keyset_modifiedon, keyset_version FROM sync_state WHERE tenant = ? AND job_id = ?")
    .bind(fx.tenant, fx.job.id)
    .first<{ strategy: string; delta_link: string | null; keyset_modifiedon: string | null; keyset_version: number | null }>();
const committedPages = async (runId: string) =>
  (await env.DATA.prepare("SELECT COUNT(*) AS n FROM run_pages WHERE run_id = ?").bind(runId).first<{ n: number }>())!.n;
const admin = (tenant: string) => hostToken({ tenant, role: "admin", sub: "admin-1", email: "ops@host.example" });
const live = (rows: Array<Record<string, unknown>>) => rows.filter((r) => r._deleted === 0).map(({ _deleted, ...r }) => r);
const byId = (a: { DynamicsId: unknown }, b: { DynamicsId: unknown }) => (String(a.DynamicsId) < String(b.DynamicsId) ? -1 : 1);

async function expectExact(fx: Fixture, objectName: string, set: string, idCol: string, nameCol: string): Promise<void> {
  const src = await sourceRows(fx.orgInfo, set, `${idCol},${nameCol}`);
  const expected = src.map((r) => ({ DynamicsId: String(r[idCol]).toLowerCase(), Name: r[nameCol] ?? null })).sort(byId);
  expect(live(await targetRows(fx.tenant, objectName, ["DynamicsId", "Name"]))).toEqual(expected);
}

describe.skipIf(!sandbox)("cancelling a run", () => {
  afterEach(() => vi.restoreAllMocks());

  it("cancelled between pages, a keyset run stops there; the next run continues after the committed cursor and the target ends exact", async () => {
    const fx = await users();
    const created = await createRun(env, fx.tenant, fx.job.id, "manual");
    const ref = { tenant: fx.tenant, jobId: fx.job.id, runId: created.id };
    expect((await runSlice(env, ref, { maxPages: 3, pageSize: 5 })).kind).toBe("continue");

    const res = await call("POST", `/api/v1/runs/${created.id}/cancel`, { token: await admin(fx.tenant) });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({
      id: created.id,
      status: "failed",
      error: { code: "cancelled", message: "Cancelled by ops@host.example" },
      progress: { pages: 3, rowsSeen: 15 },
    });
    expect(body.finishedAt).toEqual(expect.any(String));

    // The runner notices before its next page and writes nothing more.
    expect((await runSlice(env, ref, { pageSize: 5 })).kind).toBe("done");
    const run = (await getRunRow(env, fx.tenant, created.id))!;
    expect(run).toMatchObject({ status: "failed", error_code: "cancelled", pages: 3, read_count: 15 });
    expect(await countRows(fx.tenant, "SysUser")).toBe(15);
    expect(await committedPages(created.id)).toBe(3);
    // Each page's cursor was committed with its records: the job's state is that of page 3.
    const state = await syncState(fx);
    expect(state).toMatchObject({ strategy: "keyset", keyset_modifiedon: run.keyset_modifiedon, keyset_version: run.keyset_version });

    const next = await runToEnd(fx, { pageSize: 5 });
    expect(next.error_message).toBeNull();
    const total = (await sourceRows(fx.orgInfo, "systemusers", "systemuserid")).length;
    expect(next).toMatchObject({ status: "succeeded", strategy: "keyset", read_count: total - 15, inserted_count: total - 15, updated_count: 0 });
    await expectExact(fx, "SysUser", "systemusers", "systemuserid", "fullname");
  });

  it("cancelled midway, a change-tracking read stores no delta link; the next run reads in full again and ends exact", async () => {
    const fx = await accounts();
    const created = await createRun(env, fx.tenant, fx.job.id, "manual");
    const ref = { tenant: fx.tenant, jobId: fx.job.id, runId: created.id };
    expect((await runSlice(env, ref, { maxPages: 3, pageSize: 100 })).kind).toBe("continue");
    expect(await cancelRun(env, fx.tenant, created.id, "ops@host.example")).toBe(true);
    expect((await runSlice(env, ref)).kind).toBe("done");
    expect(await countRows(fx.tenant, "Acct")).toBe(300);
    expect(await syncState(fx)).toBeNull();

    const next = await runToEnd(fx, { pageSize: 100 });
    expect(next.error_message).toBeNull();
    const total = (await sourceRows(fx.orgInfo, "accounts", "accountid")).length;
    expect(next).toMatchObject({ status: "succeeded", strategy: "full", read_count: total, inserted_count: total - 300, updated_count: 300 });
    expect((await syncState(fx))?.delta_link).toMatch(/\$deltatoken=/);
    await expectExact(fx, "Acct", "accounts", "accountid", "name");
  });

  it("a page being fetched when the run is cancelled is rolled back whole: no records, no checkpoint, no sync state", async () => {
    const fx = await accounts();
    const created = await createRun(env, fx.tenant, fx.job.id, "manual");
    const ref = { tenant: fx.tenant, jobId: fx.job.id, runId: created.id };
    const realFetch = globalThis.fetch;
    let pageRequests = 0;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      if (/\/api\/data\/v9\.2\/accounts\?/.test(url) && ++pageRequests === 3) {
        // The admin cancels when page 3 is requested. With fetch-ahead that is while page 2 is still being written, so
        // page 2's batch is rolled back too unless it committed first; page 3's answer arrives afterwards and is dropped.
        expect(await cancelRun(env, fx.tenant, created.id, "ops@host.example")).toBe(true);
      }
      return realFetch(input, init);
    });
    expect((await runSlice(env, ref, { pageSize: 100, budgetMs: 60_000 })).kind).toBe("done");
    expect(pageRequests).toBe(3);
    const run = (await getRunRow(env, fx.tenant, created.id))!;
    expect(run).toMatchObject({ status: "failed", error_code: "cancelled", phase: "pages" });
    expect([1, 2]).toContain(run.pages);
    // Whole pages only, and the run's counts, the records and the page guards agree.
    expect(run.read_count).toBe(run.pages * 100);
    expect(await countRows(fx.tenant, "Acct")).toBe(run.pages * 100);
    expect(await committedPages(created.id)).toBe(run.pages);
    expect(await syncState(fx)).toBeNull();
  });

  it("starts no chained job, queues the outcome's notifications and webhook, and writes an audit entry", async () => {
    // The webhook receiver: any URL on an allowed dev host (the sandbox org answers 404; the row stays for retries).
    const hook = `${org("contoso").url}/_sandbox/webhook-receiver`;
    const parent = await accounts({ notify: { onSuccess: ["ok@example.com"], onPartial: [], onFailure: ["pager@example.com"], webhook: hook } });
    const child = {
      ...parent.job,
      id: `job_${crypto.randomUUID().slice(0, 8)}`,
      dependsOn: parent.job.id,
      notify: { onSuccess: [], onPartial: [], onFailure: [], webhook: null },
    };
    await putJob(env, parent.tenant, child);
    const created = await createRun(env, parent.tenant, parent.job.id, "manual");
    await runSlice(env, { tenant: parent.tenant, jobId: parent.job.id, runId: created.id }, { maxPages: 1, pageSize: 100 });
    expect((await call("POST", `/api/v1/runs/${created.id}/cancel`, { token: await admin(parent.tenant) })).status).toBe(200);

    let outbox: Array<{ channel: string; recipient: string; subject: string | null }> = [];
    for (let i = 0; i < 100 && outbox.length < 2; i++) {
      outbox = (
        await env.DATA.prepare("SELECT channel, recipient, subject FROM notifications_outbox WHERE run_id = ? ORDER BY channel")
          .bind(created.id)
          .all<(typeof outbox)[number]>()
      ).results;
      if (outbox.length < 2) await new Promise((r) => setTimeout(r, 50));
    }
    expect(outbox).toEqual([
      { channel: "email", recipient: "pager@example.com", subject: `[cancelled] ${parent.job.name}` },
      { channel: "webhook", recipient: hook, subject: null },
    ]);
    const chained = await env.DATA.prepare("SELECT COUNT(*) AS n FROM runs WHERE tenant = ? AND job_id = ?")
      .bind(parent.tenant, child.id)
      .first<{ n: number }>();
    expect(chained!.n).toBe(0);

    const activity = await json(await call("GET", `/api/v1/activity?resourceType=job&resourceId=${parent.job.id}`, { token: await admin(parent.tenant) }));
    expect(activity.items[0]).toMatchObject({
      action: "run.cancel",
      actor: { sub: "admin-1", email: "ops@host.example" },
      resource: { type: "job", id: parent.job.id },
      changes: expect.arrayContaining([{ path: `run.${created.id}.status`, before: "running", after: "failed" }]),
    });
  });

  it("refuses a finished run (409), a viewer (403), and another tenant's or an unknown run (404)", async () => {
    const fx = await users();
    const finished = await runToEnd(fx, { pageSize: 50 });
    expect(finished.status).toBe("succeeded");
    const conflict = await call("POST", `/api/v1/runs/${finished.id}/cancel`, { token: await admin(fx.tenant) });
    expect(conflict.status).toBe(409);
    expect((await json(conflict)).error.code).toBe("conflict");
    expect((await getRunRow(env, fx.tenant, finished.id))!.status).toBe("succeeded");

    const active = await createRun(env, fx.tenant, fx.job.id, "manual");
    const viewer = await call("POST", `/api/v1/runs/${active.id}/cancel`, { token: await hostToken({ tenant: fx.tenant, role: "viewer" }) });
    expect(viewer.status).toBe(403);
    const stranger = await call("POST", `/api/v1/runs/${active.id}/cancel`, { token: await admin(`t-${crypto.randomUUID()}`) });
    expect(stranger.status).toBe(404);
    expect((await call("POST", `/api/v1/runs/${crypto.randomUUID()}/cancel`, { token: await admin(fx.tenant) })).status).toBe(404);
    expect((await getRunRow(env, fx.tenant, active.id))!.status).toBe("queued");
    // …and a second cancel of the same run is a conflict too
    expect((await call("POST", `/api/v1/runs/${active.id}/cancel`, { token: await admin(fx.tenant) })).status).toBe(200);
    expect((await call("POST", `/api/v1/runs/${active.id}/cancel`, { token: await admin(fx.tenant) })).status).toBe(409);
  });
});

describe.skipIf(!sandbox)("row-count estimate of full reads", () => {
  afterEach(() => vi.restoreAllMocks());

  it("a full read stores Dataverse's RetrieveTotalRecordCount as progress.totalEstimate; a delta run asks for none", async () => {
    const fx = await accounts();
    const created = await createRun(env, fx.tenant, fx.job.id, "manual");
    const ref = { tenant: fx.tenant, jobId: fx.job.id, runId: created.id };
    await runSlice(env, ref, { maxPages: 1, pageSize: 100 });
    const total = (await sourceRows(fx.orgInfo, "accounts", "accountid")).length;
    const running = toRun((await getRunRow(env, fx.tenant, created.id))!);
    expect(running.progress).toEqual({ pages: 1, rowsSeen: 100, totalEstimate: total });
    for (let i = 0; i < 50 && (await runSlice(env, ref, { pageSize: 100 })).kind !== "done"; i++);

    const realFetch = globalThis.fetch;
    const counted: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      if (url.includes("RetrieveTotalRecordCount")) counted.push(url);
      return realFetch(input, init);
    });
    const delta = await runToEnd(fx, { pageSize: 100 });
    expect(delta.strategy).toBe("delta");
    expect(toRun(delta).progress?.totalEstimate).toBeUndefined();
    expect(counted).toEqual([]);
  });

  it("a failing count never fails the run: it runs without an estimate", async () => {
    const fx = await users();
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      if (url.includes("RetrieveTotalRecordCount"))
        return new Response(JSON.stringify({ error: { code: "0x80040216", message: "boom" } }), {
          status: 500,
          headers: { "Content-Type": "application/json" },
        });
      return realFetch(input, init);
    });
    const run = await runToEnd(fx, { pageSize: 50 });
    expect(run.error_message).toBeNull();
    expect(run.status).toBe("succeeded");
    expect(run.total_estimate).toBeNull();
    expect(toRun(run).progress).toEqual({ pages: 1, rowsSeen: run.read_count });
  });
});
