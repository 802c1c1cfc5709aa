/**
 * D1 shards (docs/scaling.md "D1 shards"): tenants on two shards (DATA, DATA_2) are isolated, new tenants are placed by
 * the policy and stay, an operator moves a tenant between shards through /ops/v1 and its syncs continue incrementally.
 * The tests' Worker places new tenants on DATA (SHARDS_FOR_NEW_TENANTS in edge/vitest.config.ts); a tenant lands on
 * DATA_2 by placing it first with an env that only offers DATA_2, as a deployment that closed DATA would.
 */
import { env, SELF } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import { app } from "../src/app";
import { objectTableName } from "../src/stores/object-tables";
import { createRun, finishRun, getRunRow, staleRuns } from "../src/stores/runs";
import { dueReconciliations } from "../src/stores/reconcile";
import { listDue } from "../src/stores/schedule-index";
import { sweepRetention } from "../src/sync/retention";
import { dbFor, getPlacement, markActive, markMoving, shardLoads } from "../src/stores/shards";
import { tenantRowCounts } from "../src/stores/tenant-move";
import { actors, apiRequest, call, expectError, hostToken, json, newTenant } from "./helpers";
import { control, fixture, org, PROJECT_FIELDS, runToEnd, sandbox, sourceRows, type Fixture } from "./sync/helpers";

const opsToken = env.OPERATOR_TOKEN;
const placeOn = (tenant: string, shard: string) => dbFor({ ...env, SHARDS_FOR_NEW_TENANTS: shard }, tenant);
const custom = { name: "Ticket", label: "Ticket", fields: [{ name: "Code", label: "Code", type: "string", required: false }] };

async function tableExists(db: D1Database, name: string): Promise<boolean> {
  return (await db.prepare("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?").bind(name).first()) !== null;
}

const nonZero = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));

/** Drives a move to its end through the operator API, as scripts/move-tenant.ts does; returns the phases seen. */
async function move(tenant: string, to: string): Promise<string[]> {
  const phases: string[] = [];
  let cursor: unknown = null;
  for (let i = 0; i < 1000; i++) {
    const res = await SELF.fetch(apiRequest("POST", `/ops/v1/tenants/${encodeURIComponent(tenant)}/move`, { token: opsToken, body: { to, cursor } }));
    const body = await json(res);
    if (!res.ok) throw new Error(`move: ${res.status} ${JSON.stringify(body)}`);
    phases.push(body.phase);
    if (body.phase === "done") return phases;
    cursor = body.cursor;
  }
  throw new Error("move did not finish");
}

describe("placement", () => {
  it("places a new tenant on the least loaded open shard and keeps it there", async () => {
    const open = { ...env, SHARDS_FOR_NEW_TENANTS: "" };
    const loads = await shardLoads(env);
    const least = Object.entries(loads).sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))[0]![0];
    const t = newTenant();
    const db = await dbFor(open, t);
    expect((await getPlacement(env, t))?.shard).toBe(least);
    expect(db).toBe(least === "DATA" ? env.DATA : env.DATA_2);
    // Sticky: a later policy (only the other shard open) does not move a placed tenant.
    const other = least === "DATA" ? "DATA_2" : "DATA";
    await dbFor({ ...env, SHARDS_FOR_NEW_TENANTS: other }, t);
    expect((await getPlacement(env, t))?.shard).toBe(least);
    // Closing a shard to new tenants: the next tenant goes where the list says.
    const u = newTenant();
    await dbFor({ ...env, SHARDS_FOR_NEW_TENANTS: other }, u);
    expect((await getPlacement(env, u))?.shard).toBe(other);
  });

  it("refuses a placement list naming a shard the deployment does not have", async () => {
    await expect(dbFor({ ...env, SHARDS_FOR_NEW_TENANTS: "DATA,DATA_9" }, newTenant())).rejects.toMatchObject({ code: "misconfigured" });
  });
});

describe("isolation", () => {
  it("two tenants on two shards: each one's rows and tables only in its shard, reads never cross", async () => {
    const a = await actors(newTenant("a"));
    const b = await actors(newTenant("b"));
    await placeOn(b.tenant, "DATA_2");
    for (const x of [a, b]) expect((await call("POST", "/api/v1/objects", { token: x.admin, body: custom })).status).toBe(201);
    await call("POST", "/api/v1/objects", { token: b.admin, body: { ...custom, name: "OnlyB", label: "OnlyB" } });

    expect((await getPlacement(env, a.tenant))?.shard).toBe("DATA");
    expect((await getPlacement(env, b.tenant))?.shard).toBe("DATA_2");
    for (const [x, home, away] of [
      [a, env.DATA, env.DATA_2],
      [b, env.DATA_2, env.DATA],
    ] as const) {
      expect((await tenantRowCounts(home, x.tenant)).objects).toBeGreaterThan(0);
      expect(nonZero(await tenantRowCounts(away, x.tenant))).toEqual({});
      expect(await tableExists(home, await objectTableName(x.tenant, "Ticket"))).toBe(true);
      expect(await tableExists(away, await objectTableName(x.tenant, "Ticket"))).toBe(false);
    }
    const names = async (token: string) => (await json<Array<{ name: string }>>(await call("GET", "/api/v1/objects", { token }))).map((o) => o.name);
    expect(await names(b.viewer)).toContain("OnlyB");
    expect(await names(a.viewer)).not.toContain("OnlyB");
    // Audit entries follow the tenant too.
    expect((await env.DATA_2.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE tenant = ?").bind(b.tenant).first<{ n: number }>())!.n).toBeGreaterThan(0);
    expect((await env.DATA.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE tenant = ?").bind(b.tenant).first<{ n: number }>())!.n).toBe(0);
  });

  it("a tenant being moved is refused (503 tenant_moving) and its schedules are left out of the tick", async () => {
    const a = await actors();
    await call("GET", "/api/v1/objects", { token: a.viewer }); // placed on DATA
    await env.DATA.prepare(
      "INSERT INTO schedule_index (tenant, job_id, enabled, cron, timezone, next_due_at, updated_at) VALUES (?, 'job_m', 1, '* * * * *', 'UTC', 1, ?)",
    )
      .bind(a.tenant, new Date().toISOString())
      .run();
    const due = async () => (await listDue(env, Date.now(), { limit: 100_000, perTenant: 1 })).some((e) => e.tenant === a.tenant);
    expect(await due()).toBe(true);
    expect(await markMoving(env, a.tenant, "DATA")).toBe(true);
    try {
      await expectError(await call("GET", "/api/v1/objects", { token: a.viewer }), 503, "tenant_moving");
      expect(await due()).toBe(false);
    } finally {
      await markActive(env, a.tenant);
      await env.DATA.prepare("DELETE FROM schedule_index WHERE tenant = ?").bind(a.tenant).run();
    }
  });
});

describe("what the cron scans covers every shard", () => {
  it("stale runs: a tenant's run on DATA_2 whose runner went quiet is found", async () => {
    const t = newTenant();
    await placeOn(t, "DATA_2");
    const run = await createRun(env, t, "job_stale", "manual");
    const later = Date.now() + 24 * 3_600_000; // its lease long expired
    expect((await staleRuns(env, later, 100_000)).map((r) => r.id)).toContain(run.id);
    await finishRun(env.DATA_2, run.id, "failed", { code: "cancelled", message: "test" });
  });

  it("due reconciliations: a keyset job of a tenant on DATA_2 is due (its sync state there, its enabled flag in DATA)", async () => {
    const t = newTenant();
    await placeOn(t, "DATA_2");
    const now = new Date().toISOString();
    await env.DATA_2.prepare("INSERT INTO sync_state (tenant, job_id, config_hash, strategy, updated_at) VALUES (?, 'job_k', 'h', 'keyset', ?)")
      .bind(t, now)
      .run();
    const due = async () => (await dueReconciliations(env, now, 100_000)).some((d) => d.tenant === t && d.jobId === "job_k");
    expect(await due()).toBe(false); // no schedule-index row: not an enabled job
    await env.DATA.prepare("INSERT INTO schedule_index (tenant, job_id, enabled, updated_at) VALUES (?, 'job_k', 1, ?)").bind(t, now).run();
    try {
      expect(await due()).toBe(true);
    } finally {
      await env.DATA.prepare("DELETE FROM schedule_index WHERE tenant = ?").bind(t).run();
    }
  });

  it("retention: an expired run of a tenant on DATA_2 is deleted there, the job's latest run stays", async () => {
    const t = newTenant();
    await placeOn(t, "DATA_2");
    const old = await createRun(env, t, "job_old", "schedule");
    await finishRun(env.DATA_2, old.id, "succeeded");
    const latest = await createRun(env, t, "job_old", "schedule");
    await finishRun(env.DATA_2, latest.id, "succeeded");
    for (const [id, day] of [
      [old.id, "2020-01-01"],
      [latest.id, "2020-01-02"],
    ] as const)
      await env.DATA_2.prepare("UPDATE runs SET created_at = ?, finished_at = ? WHERE id = ?").bind(`${day}T00:00:00.000Z`, `${day}T00:01:00.000Z`, id).run();
    await sweepRetention(env, Date.now());
    expect(await getRunRow(env, t, old.id)).toBeNull();
    expect(await getRunRow(env, t, latest.id)).not.toBeNull();
  });
});

describe("operator API", () => {
  it("refuses without the operator token, with a host token, with a wrong one; absent without OPERATOR_TOKEN", async () => {
    const path = `/ops/v1/tenants/${newTenant()}/move`;
    const body = { to: "DATA_2" };
    await expectError(await SELF.fetch(apiRequest("POST", path, { body })), 401, "unauthorized");
    await expectError(await SELF.fetch(apiRequest("POST", path, { body, token: await hostToken({ role: "admin" }) })), 401, "unauthorized");
    await expectError(await SELF.fetch(apiRequest("POST", path, { body, token: `${opsToken}x` })), 401, "unauthorized");
    await expectError(await SELF.fetch(apiRequest("GET", "/ops/v1/shards", { token: "" })), 401, "unauthorized");
    const without = await app.fetch(apiRequest("GET", "/ops/v1/shards", { token: opsToken }), { ...env, OPERATOR_TOKEN: "" });
    await expectError(without, 404, "not_found");
    const ok = await SELF.fetch(apiRequest("GET", "/ops/v1/shards", { token: opsToken }));
    expect(ok.status).toBe(200);
    expect(Object.keys((await json(ok)).tenants)).toEqual(["DATA", "DATA_2"]);
  });

  it("refuses a move while a run of the tenant is queued, leaving the tenant where it was; moves once it ended", async () => {
    const a = await actors();
    await call("POST", "/api/v1/objects", { token: a.admin, body: custom });
    const run = await createRun(env, a.tenant, "job_busy", "manual");
    const res = await SELF.fetch(apiRequest("POST", `/ops/v1/tenants/${a.tenant}/move`, { token: opsToken, body: { to: "DATA_2" } }));
    await expectError(res, 409, "run_in_progress");
    expect(await getPlacement(env, a.tenant)).toMatchObject({ shard: "DATA", state: "active" });
    expect((await call("GET", "/api/v1/objects", { token: a.viewer })).status).toBe(200);

    await finishRun(env.DATA, run.id, "succeeded");
    await move(a.tenant, "DATA_2");
    expect(await getPlacement(env, a.tenant)).toMatchObject({ shard: "DATA_2", state: "active" });
    expect(await getRunRow(env, a.tenant, run.id)).toMatchObject({ status: "succeeded" });
    expect(nonZero(await tenantRowCounts(env.DATA, a.tenant))).toEqual({});
  });

  it("validates the move's body: an unknown shard is named", async () => {
    const a = await actors();
    await call("GET", "/api/v1/objects", { token: a.viewer });
    const res = await SELF.fetch(apiRequest("POST", `/ops/v1/tenants/${a.tenant}/move`, { token: opsToken, body: { to: "DATA_7" } }));
    const err = await expectError(res, 400, "validation_failed");
    expect(JSON.stringify(err)).toContain('"path":"to"');
  });
});

const F = "@OData.Community.Display.V1.FormattedValue";

describe.skipIf(!sandbox)("a tenant moved mid-life", () => {
  afterAll(async () => {
    await control(org("contoso-shards"), "POST", "reset"); // restore the projects this test changed (no other test reads this copy)
  });

  /** The sandbox's live projects as the target holds them. */
  async function expected(): Promise<Array<Record<string, unknown>>> {
    const src = await sourceRows(org("contoso-shards"), "cr123_projects", "cr123_projectid,cr123_name,cr123_hours,cr123_stage");
    return src
      .map((r) => ({
        DynamicsId: String(r.cr123_projectid).toLowerCase(),
        Name: r.cr123_name ?? null,
        Hours: r.cr123_hours ?? null,
        Stage: r[`cr123_stage${F}`] ?? null,
      }))
      .sort((x, y) => (String(x.DynamicsId) < String(y.DynamicsId) ? -1 : 1));
  }
  async function live(db: D1Database, fx: Fixture) {
    const table = await objectTableName(fx.tenant, "Project");
    const { results } = await db
      .prepare(`SELECT f_DynamicsId AS DynamicsId, f_Name AS Name, f_Hours AS Hours, f_Stage AS Stage FROM "${table}" WHERE _deleted = 0 ORDER BY f_DynamicsId`)
      .all();
    return results;
  }

  it("keeps syncing incrementally after a move: the next run is a delta that reads only the changes, the records exact", async () => {
    const fx = await fixture("contoso-shards", { object: { name: "Project", fields: PROJECT_FIELDS } });
    const first = await runToEnd(fx, { pageSize: 100 });
    expect(first.error_message).toBeNull();
    expect(first).toMatchObject({ status: "succeeded", strategy: "full" });
    const before = await expected();
    expect(await live(env.DATA, fx)).toEqual(before);
    const onData = nonZero(await tenantRowCounts(env.DATA, fx.tenant));

    const phases = await move(fx.tenant, "DATA_2");
    expect(phases).toContain("deleting");
    expect(await getPlacement(env, fx.tenant)).toMatchObject({ shard: "DATA_2", state: "active" });
    // Every table's rows went over exactly, the object table with its unique index; nothing left behind.
    expect(nonZero(await tenantRowCounts(env.DATA_2, fx.tenant))).toEqual(onData);
    expect(nonZero(await tenantRowCounts(env.DATA, fx.tenant))).toEqual({});
    const table = await objectTableName(fx.tenant, "Project");
    expect(await tableExists(env.DATA, table)).toBe(false);
    const idx = await env.DATA_2.prepare(`PRAGMA index_list("${table}")`).all<{ unique: number }>();
    expect(idx.results.some((i) => i.unique === 1)).toBe(true);
    expect(await live(env.DATA_2, fx)).toEqual(before);

    await control(fx.orgInfo, "POST", "rows/cr123_project", { cr123_name: "Moved Added One", cr123_hours: 3 });
    await control(fx.orgInfo, "POST", "rows/cr123_project", { cr123_name: "Moved Added Two", cr123_hours: 4 });
    await control(fx.orgInfo, "PATCH", `rows/cr123_project/${before[2]!.DynamicsId}`, { cr123_name: "Moved Renamed" });
    const second = await runToEnd(fx, { pageSize: 100 });
    expect(second.error_message).toBeNull();
    expect(second).toMatchObject({ status: "succeeded", strategy: "delta", read_count: 3, inserted_count: 2, updated_count: 1, failed_count: 0 });
    expect(await live(env.DATA_2, fx)).toEqual(await expected());
    expect(await env.DATA.prepare("SELECT COUNT(*) AS n FROM runs WHERE tenant = ?").bind(fx.tenant).first<{ n: number }>()).toEqual({ n: 0 });
  });
});
