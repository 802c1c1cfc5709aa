/**
 * Partitioned first loads (sync/partitions.ts, sync/partitioned-read.ts) under the organization's stream permits
 * (sync/org-permits.ts), against contoso-partitions — a copy of contoso whose projects, latency and stats only this
 * file uses. The threshold is lowered to one row (`partitionMinRows`) so its 200 projects are split; small pages
 * (10 rows) give each of the 8 partitions several pages.
 */
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createRun, getRunRow } from "../../src/stores/runs";
import { runSlice } from "../../src/sync/engine";
import { PAGE_PREFER } from "../../src/dataverse/client";
import { fetchAhead, fetchPage } from "../../src/sync/fetch-ahead";
import { orgPermits } from "../../src/sync/org-permits";
import { partitionCount, splitCreated } from "../../src/sync/partitions";
import { partitionPath, planRead } from "../../src/sync/query";
import { loadRunContext, withToken } from "../../src/sync/run-context";
import { takePermit } from "../../src/sync/stream-permits";
import { apiRequest, expectError, hostToken } from "../helpers";
import { control, countRows, fixture, liveTarget, org, PROJECT_FIELDS, runToEnd, sandbox, sandboxProjects, type Fixture } from "./helpers";

const O = "contoso-partitions";
const OPTS = { pageSize: 10, partitionMinRows: 1 };
const projects = () => fixture(O, { object: { name: "Project", fields: PROJECT_FIELDS } });
/** A source filter makes the job a keyset one (no change tracking). */
const keysetProjects = () =>
  fixture(O, { object: { name: "Project", fields: PROJECT_FIELDS }, source: { entity: "cr123_project", filter: "cr123_hours ge 0 or cr123_hours eq null" } });
const permits = () => orgPermits(env, org(O).organizationId.toLowerCase());

async function syncState(fx: Fixture) {
  return env.DATA.prepare("SELECT strategy, delta_link, keyset_modifiedon, keyset_version FROM sync_state WHERE tenant = ? AND job_id = ?")
    .bind(fx.tenant, fx.job.id)
    .first<{ strategy: string; delta_link: string | null; keyset_modifiedon: string | null; keyset_version: number | null }>();
}
const partitionRows = async (runId: string) =>
  (
    await env.DATA.prepare("SELECT partition, pages, done FROM run_partitions WHERE run_id = ? ORDER BY partition")
      .bind(runId)
      .all<{ partition: number; pages: number; done: number }>()
  ).results;

describe("partition planning (pure)", () => {
  it("cuts the createdon span into equal ranges on whole seconds, open at both ends", () => {
    const r = splitCreated("2020-01-01T00:00:00Z", "2020-01-01T00:00:40Z", 4);
    expect(r).toEqual([
      { from: null, to: "2020-01-01T00:00:10Z" },
      { from: "2020-01-01T00:00:10Z", to: "2020-01-01T00:00:20Z" },
      { from: "2020-01-01T00:00:20Z", to: "2020-01-01T00:00:30Z" },
      { from: "2020-01-01T00:00:30Z", to: null },
    ]);
    expect(splitCreated("2020-01-01T00:00:00Z", "2020-01-01T00:00:02Z", 8)).toHaveLength(2); // one cut per second at most
    expect(splitCreated("2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", 8)).toEqual([]); // one second: one stream
  });

  it("has at least two partitions per stream, about a million rows each for huge tables, at most 64", () => {
    expect(partitionCount(100_000, 4)).toBe(8);
    expect(partitionCount(20_000_000, 4)).toBe(20);
    expect(partitionCount(500_000_000, 4)).toBe(64);
  });

  it("reads a range with the keyset order and the job's filter; the first range also takes rows without createdon", () => {
    const plan = planRead(
      {
        source: { entity: "account", filter: "statecode eq 0" },
        identifiers: [],
        mappings: [{ source: "name", target: "Name", use: "value" }],
        lookups: [],
      } as never,
      { logicalName: "account", entitySetName: "accounts", primaryIdAttribute: "accountid", changeTracking: true } as never,
      [],
      5000,
    );
    const first = decodeURIComponent(partitionPath(plan, { from: null, to: "2021-01-01T00:00:00Z" }, null));
    expect(first).toContain("(statecode eq 0) and (createdon eq null or createdon lt 2021-01-01T00:00:00Z)");
    expect(first).toContain("$orderby=modifiedon asc,versionnumber asc");
    expect(first).toContain("$top=5000");
    expect(first).toMatch(/\$select=[^&]*modifiedon[^&]*versionnumber/);
    const later = decodeURIComponent(partitionPath(plan, { from: "2021-01-01T00:00:00Z", to: null }, { modifiedon: "2022-01-01T00:00:00Z", version: 7 }));
    expect(later).toContain("createdon ge 2021-01-01T00:00:00Z");
    expect(later).not.toContain("createdon lt");
    expect(later).toContain("(modifiedon gt 2022-01-01T00:00:00Z or (modifiedon eq 2022-01-01T00:00:00Z and versionnumber gt 7))");
    const shared = { ...plan, partitions: { ranges: [], pageSize: 1250, since: { modifiedon: "2022-01-01T00:00:00Z", version: 0 } } };
    expect(decodeURIComponent(partitionPath(shared, { from: null, to: "2021-01-01T00:00:00Z" }, null))).toContain("$top=1250");
    expect(() => partitionPath(plan, { from: "2021-01-01 00:00", to: null }, null)).toThrow(/ISO/);
  });
});

describe.skipIf(!sandbox)("partitioned first loads against the sandbox", () => {
  afterEach(async () => {
    await control(org(O), "PUT", "settings", { pageLatencyMs: 0 });
  });
  afterAll(async () => {
    await control(org(O), "POST", "reset"); // the projects these tests changed
  });

  it("reads createdon ranges side by side: every row exactly once, the same records as one stream, within the org's permits", async () => {
    const fx = await projects();
    await control(org(O), "PUT", "settings", { pageLatencyMs: 40 }); // requests overlap only if they are parallel
    await control(org(O), "DELETE", "stats");
    const run = await runToEnd(fx, OPTS);
    const stats = await control(org(O), "GET", "stats");
    expect(run.error_message).toBeNull();
    // Pages of 10 rows shared by 4 streams: 2-row pages, so the load holds no more rows in memory than one stream.
    expect(JSON.parse(run.notes)).toContain("partitioned first load: 8 createdon ranges read side by side (up to 4 streams, 2-row pages)");
    const expected = await sandboxProjects(O);
    expect(run).toMatchObject({ status: "succeeded", strategy: "full", read_count: expected.length, inserted_count: expected.length, updated_count: 0 });
    expect(await liveTarget(fx)).toEqual(expected);
    // Page reads of several streams overlapped — more than one stream's two (its page and the next, fetched ahead) —
    // and never more than two per permit (the metadata reads before them are not pages).
    expect(stats.maxConcurrentByPath.cr123_projects).toBeGreaterThan(2);
    expect(stats.maxConcurrentByPath.cr123_projects).toBeLessThanOrEqual(2 * 4);
    expect(await partitionRows(run.id)).toEqual([]); // checkpoints go with the run
    expect(await permits().status()).toMatchObject({ held: 0, limit: 4 }); // every permit given back; ample headroom shrinks nothing
    // The job continues from just before the newest change Dataverse had when the load began (a keyset position).
    expect(await syncState(fx)).toMatchObject({ strategy: "keyset", delta_link: null, keyset_version: 0, keyset_modifiedon: expect.stringMatching(/Z$/) });
  });

  it("an interrupted load resumes every partition where it stopped; two runners at once write nothing twice", async () => {
    const fx = await projects();
    const created = await createRun(env, fx.tenant, fx.job.id, "manual");
    const ref = { tenant: fx.tenant, jobId: fx.job.id, runId: created.id };
    expect((await runSlice(env, ref, { ...OPTS, maxPages: 5 })).kind).toBe("continue"); // init + 5 pages, then "killed"
    const parts = await partitionRows(created.id);
    expect(parts).toHaveLength(8);
    expect(parts.reduce((n, p) => n + p.pages, 0)).toBe(5);
    expect(await countRows(fx.tenant, "Project")).toBe((await getRunRow(env, fx.tenant, created.id))!.read_count);
    await Promise.all([runSlice(env, ref, { ...OPTS, budgetMs: 60_000 }), runSlice(env, ref, { ...OPTS, budgetMs: 60_000 })]);
    const run = (await getRunRow(env, fx.tenant, created.id))!;
    const expected = await sandboxProjects(O);
    expect(run).toMatchObject({ status: "succeeded", read_count: expected.length, inserted_count: expected.length, updated_count: 0 });
    expect(await liveTarget(fx)).toEqual(expected);
    const guards = await env.DATA.prepare("SELECT COUNT(*) AS n FROM run_pages WHERE run_id = ?").bind(created.id).first<{ n: number }>();
    expect(guards!.n).toBe(run.pages);
  });

  it("a row changed during the load is not lost: later runs read the changes since the load began", async () => {
    const fx = await keysetProjects();
    const created = await createRun(env, fx.tenant, fx.job.id, "manual");
    const ref = { tenant: fx.tenant, jobId: fx.job.id, runId: created.id };
    expect((await runSlice(env, ref, { ...OPTS, maxPages: 12 })).kind).toBe("continue");
    expect((await getRunRow(env, fx.tenant, created.id))!.notes).toContain("partitioned first load");
    // Rows already written (their partitions may be over) and rows not yet read, both changed mid-load.
    const written = (await liveTarget(fx)).slice(0, 3).map((r) => String(r.DynamicsId));
    const all = await sandboxProjects(O);
    const unread = all
      .filter((r) => !written.includes(String(r.DynamicsId)))
      .slice(-2)
      .map((r) => String(r.DynamicsId));
    for (const id of [...written, ...unread]) await control(org(O), "PATCH", `rows/cr123_project/${id}`, { cr123_name: `changed mid-load ${id.slice(0, 8)}` });
    for (let i = 0; i < 50 && (await runSlice(env, ref, { ...OPTS, budgetMs: 60_000 })).kind !== "done"; i++);
    expect((await getRunRow(env, fx.tenant, created.id))!.status).toBe("succeeded");
    const next = await runToEnd(fx, OPTS);
    expect(next).toMatchObject({ status: "succeeded", strategy: "keyset" });
    expect(next.read_count).toBeGreaterThanOrEqual(5);
    expect(next.read_count).toBeLessThan(all.length); // changes only, not a second load
    expect(await liveTarget(fx)).toEqual(await sandboxProjects(O));
  });

  it("a table with change tracking gets its delta link from the run after the load, then reads changes only", async () => {
    const fx = await projects();
    await runToEnd(fx, OPTS);
    const expected = await sandboxProjects(O);
    const baseline = await runToEnd(fx, OPTS);
    expect(baseline).toMatchObject({ status: "succeeded", strategy: "full", read_count: expected.length, inserted_count: 0 });
    expect(JSON.parse(baseline.notes)).toContain("change tracking after the partitioned first load: one full read with change tracking, then changes only");
    expect(JSON.parse(baseline.notes).some((n: string) => n.startsWith("partitioned first load"))).toBe(false); // one stream
    expect(await syncState(fx)).toMatchObject({ strategy: "delta", delta_link: expect.stringMatching(/\$deltatoken=/) });
    const id = String(expected[0]!.DynamicsId);
    await control(org(O), "PATCH", `rows/cr123_project/${id}`, { cr123_name: "after the baseline" });
    const delta = await runToEnd(fx, OPTS);
    expect(delta).toMatchObject({ status: "succeeded", strategy: "delta", read_count: 1, updated_count: 1 });
    expect(await liveTarget(fx)).toEqual(await sandboxProjects(O));
  });

  it("a 429 from the org during the load halves its permits (AIMD), and the load still ends exact", async () => {
    const fx = await projects();
    // The third page read answers 429 (Retry-After 1 s): the stream reports it, the org's limit halves.
    await control(org(O), "POST", "faults", { kind: "429", nth: 3, retryAfter: 1, path: "cr123_projects" });
    try {
      const run = await runToEnd(fx, OPTS);
      expect(run).toMatchObject({ status: "succeeded", read_count: (await sandboxProjects(O)).length });
      expect((await permits().status()).limit).toBe(2);
      expect(await liveTarget(fx)).toEqual(await sandboxProjects(O));
    } finally {
      await control(org(O), "DELETE", "faults");
      await runInDurableObject(permits(), async (_o, state) => state.storage.kv.delete("permits")); // back to 4 for the next tests
    }
  });

  it("reads with only the permits free: none free → the run waits; one free → one stream", async () => {
    const fx = await projects();
    const p = permits();
    const others = ["other-run-1", "other-run-2", "other-run-3", "other-run-4"];
    for (const h of others) expect((await p.acquire(h, 60_000)).granted).toBe(true);
    try {
      const created = await createRun(env, fx.tenant, fx.job.id, "manual");
      const ref = { tenant: fx.tenant, jobId: fx.job.id, runId: created.id };
      const waited = await runSlice(env, ref, OPTS);
      expect(waited.kind).toBe("wait");
      expect((await getRunRow(env, fx.tenant, created.id))!.phase).toBe("init"); // nothing was read
      await p.release(others[0]!);
      await control(org(O), "PUT", "settings", { pageLatencyMs: 30 });
      expect((await runSlice(env, ref, { ...OPTS, maxPages: 1 })).kind).toBe("continue"); // init (one stream)
      await control(org(O), "DELETE", "stats");
      expect((await runSlice(env, ref, { ...OPTS, budgetMs: 60_000 })).kind).toBe("done");
      expect((await control(org(O), "GET", "stats")).maxConcurrentByPath.cr123_projects).toBeLessThanOrEqual(2); // one stream: a page and the next
      expect(await liveTarget(fx)).toEqual(await sandboxProjects(O));
    } finally {
      for (const h of others) await p.release(h);
    }
  });
});

describe("operator API: an organization's stream permits", () => {
  it("shows the limit, the maximum and the holders; refuses a malformed id naming the field, and host tokens", async () => {
    const id = crypto.randomUUID().toUpperCase();
    const p = orgPermits(env, id.toLowerCase());
    await p.acquire("run-a", 60_000);
    const res = await SELF.fetch(apiRequest("GET", `/ops/v1/orgs/${id}/permits`, { token: env.OPERATOR_TOKEN }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ organizationId: id.toLowerCase(), limit: 4, max: 4, held: 1, holders: ["run-a"] });
    const bad = await SELF.fetch(apiRequest("GET", "/ops/v1/orgs/not-a-guid/permits", { token: env.OPERATOR_TOKEN }));
    expect((await expectError(bad, 400, "validation_failed")).details).toEqual([{ path: "organizationId", message: expect.stringContaining("GUID") }]);
    const host = await SELF.fetch(apiRequest("GET", `/ops/v1/orgs/${id}/permits`, { token: await hostToken({ tenant: "t-ops" }) }));
    await expectError(host, 401, "unauthorized");
  });
});

describe("stream permits out of reach", () => {
  it("one stream reads without a permit (logged) rather than the run failing; extra streams are not started", async () => {
    const unreachable = { acquire: () => Promise.reject(new Error("Durable Object reset")) } as unknown as Parameters<typeof takePermit>[0];
    expect(await takePermit(unreachable, "run-1")).toEqual({ granted: true, limit: 1 });
  });
});

describe("fetch-ahead", () => {
  it("the next page's request leaves before the caller's synchronous work (mapping a page) ends", async () => {
    const fx = await projects();
    const ctx = await loadRunContext(env, { tenant: fx.tenant, jobId: fx.job.id, runId: "fetch-ahead-test" });
    await withToken(ctx, async () => {}); // the app token first: not part of what is compared
    const path = "cr123_projects?$select=cr123_name&$top=5";
    await control(org(O), "PUT", "settings", { pageLatencyMs: 1500 });
    try {
      const t0 = Date.now();
      await fetchAhead(ctx, path, PAGE_PREFER);
      while (Date.now() - t0 < 1000); // a second of work without yielding, as mapping and planning a page
      const page = await fetchPage(ctx, path, PAGE_PREFER);
      expect(page.value).toHaveLength(5);
      // Sent before the work: answered ~1.5 s after t0. Held back by it, it would leave at 1 s and be answered at ~2.5 s.
      expect(Date.now() - t0).toBeLessThan(2200);
    } finally {
      await control(org(O), "PUT", "settings", { pageLatencyMs: 0 });
    }
  });
});
