/**
 * Reconciliation against the sandbox: systemuser has no change tracking (as in Dataverse), so a keyset job never sees
 * deletions; a reconciliation reads the ids, marks them page by page and sweeps once at the end.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Job } from "#contract/job";
import type { ObjectField } from "#contract/object";
import { getConnection, putConnection } from "../../src/stores/connections";
import { objectTable } from "../../src/stores/object-tables";
import { cancelRun, createRun, getRunRow, toRun, type RunRow } from "../../src/stores/runs";
import { runSlice, type SliceOptions } from "../../src/sync/engine";
import { onRunFinished } from "../../src/sync/finish";
import { startDueReconciliations } from "../../src/sync/reconcile";
import { putJob } from "../../src/stores/jobs";
import { call, expectError, hostToken, json } from "../helpers";
import { control, fixture, runToEnd, sandbox, type Fixture, type SandboxOrg } from "./helpers";

const FIELDS: ObjectField[] = [
  { name: "DynamicsId", label: "DynamicsId", type: "id", required: true, unique: true },
  { name: "Name", label: "Name", type: "string", required: false },
  { name: "Email", label: "Email", type: "email", required: false },
];
const userJob = (over: Partial<Job> = {}) => ({
  object: { name: "Member", fields: FIELDS },
  source: { entity: "systemuser", filter: null },
  identifiers: [{ source: "systemuserid", target: "DynamicsId" }],
  mappings: [
    { source: "fullname", target: "Name", use: "value" as const },
    { source: "internalemailaddress", target: "Email", use: "value" as const },
  ],
  ...over,
});

/** The org these tests create and delete users in: a copy of contoso no other test reads (edge/test/global-setup.ts). */
const fabrikam = (): SandboxOrg => sandbox!.orgs.find((o) => o.key === "contoso-reconcile")!;

/** A fixture (helpers.ts) on contoso, moved to the copy: the same admin and app user, another organization. */
async function copyFixture(over: Parameters<typeof fixture>[1]): Promise<Fixture> {
  const fx = await fixture("contoso", over);
  const o = fabrikam();
  const conn = (await getConnection(env, fx.tenant, fx.job.connectionId))!;
  await putConnection(env, { ...conn, orgUrl: o.url, organizationId: o.organizationId });
  await env.DATA.prepare(
    "INSERT INTO org_claims (organization_id, tenant, claimed_at, claimed_by) VALUES (?, ?, ?, 'test') ON CONFLICT (organization_id) DO UPDATE SET tenant = excluded.tenant",
  )
    .bind(o.organizationId.toLowerCase(), fx.tenant, new Date().toISOString())
    .run();
  return { ...fx, orgInfo: o };
}
let created: string[] = [];

/** Users created for one test (deleted again after it, the ones the test did not delete already). */
async function createUsers(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const u = await control(fabrikam(), "POST", "rows/systemuser", {
      firstname: "Rec",
      lastname: `User ${i}`,
      fullname: `Rec User ${i}`,
      domainname: `rec${i}@x.example`,
    });
    ids.push(u.systemuserid);
  }
  created.push(...ids);
  return ids;
}
async function deleteUser(id: string): Promise<void> {
  await control(fabrikam(), "DELETE", `rows/systemuser/${id}`);
  created = created.filter((c) => c !== id);
}

async function reconcile(fx: Fixture, opts: SliceOptions = {}, maxDeletePercent: number | null = null): Promise<RunRow> {
  const run = await createRun(env, fx.tenant, fx.job.id, "manual", null, { kind: "reconcile", maxDeletePercent });
  const ref = { tenant: fx.tenant, jobId: fx.job.id, runId: run.id };
  for (let i = 0; i < 200; i++) if ((await runSlice(env, ref, opts)).kind === "done") break;
  return (await getRunRow(env, fx.tenant, run.id))!;
}

async function members(fx: Fixture): Promise<Map<string, number>> {
  const { results } = await env.DATA.prepare(`SELECT f_DynamicsId AS id, _deleted AS d FROM ${await objectTable(fx.tenant, "Member")}`).all<{
    id: string;
    d: number;
  }>();
  return new Map(results.map((r) => [r.id, r.d]));
}
const marksOf = async (runId: string) =>
  (await env.DATA.prepare("SELECT COUNT(*) AS n FROM reconcile_marks WHERE run_id = ?").bind(runId).first<{ n: number }>())!.n;

describe.skipIf(!sandbox)("reconciliation (tables without change tracking)", () => {
  beforeEach(() => {
    created = [];
  });
  afterEach(async () => {
    for (const id of created) await control(fabrikam(), "DELETE", `rows/systemuser/${id}`).catch(() => {});
  });

  it("soft-deletes the users deleted in Dynamics, which keyset runs never notice", async () => {
    const fx = await copyFixture(userJob({ deletes: "soft" }));
    const ids = await createUsers(3);
    const first = await runToEnd(fx);
    expect(first.error_message).toBeNull();
    expect(first.status).toBe("succeeded");
    const total = (await members(fx)).size;
    expect(total).toBeGreaterThanOrEqual(43); // 40 generated users + 3

    await deleteUser(ids[0]!);
    await deleteUser(ids[1]!);
    const keyset = await runToEnd(fx);
    expect(keyset.strategy).toBe("keyset");
    expect(keyset.deleted_count).toBe(0);
    expect([...(await members(fx)).values()].filter((d) => d === 1)).toHaveLength(0);

    const rec = await reconcile(fx, { pageSize: 4 }); // several pages of ids
    expect(rec.status).toBe("succeeded");
    expect(toRun(rec)).toMatchObject({ strategy: "reconcile", counts: { read: total - 2, deleted: 2, inserted: 0, updated: 0 } });
    expect(rec.pages).toBe(Math.ceil((total - 2) / 4));
    const after = await members(fx);
    expect(after.get(ids[0]!)).toBe(1);
    expect(after.get(ids[1]!)).toBe(1);
    expect([...after.values()].filter((d) => d === 1)).toHaveLength(2);
    expect(await marksOf(rec.id)).toBe(0);
  });

  it("removes the rows when the job's policy is delete, and only counts them when it is ignore", async () => {
    const del = await copyFixture(userJob({ deletes: "delete" }));
    const ids = await createUsers(2);
    await runToEnd(del);
    await deleteUser(ids[0]!);
    const rec = await reconcile(del);
    expect(toRun(rec).counts).toMatchObject({ deleted: 1, skipped: 0 });
    expect((await members(del)).has(ids[0]!)).toBe(false);
    expect((await members(del)).has(ids[1]!)).toBe(true);

    const ign = await copyFixture(userJob({ deletes: "ignore" }));
    const more = await createUsers(1);
    await runToEnd(ign);
    await deleteUser(more[0]!);
    const rec2 = await reconcile(ign);
    expect(toRun(rec2).counts).toMatchObject({ deleted: 0, skipped: 1 });
    expect((await members(ign)).get(more[0]!)).toBe(0);
  });

  it("deletes nothing when it did not finish: interrupted after some pages, then cancelled", async () => {
    const fx = await copyFixture(userJob({ deletes: "delete" }));
    const ids = await createUsers(2);
    await runToEnd(fx);
    const before = await members(fx);
    await deleteUser(ids[0]!);
    const run = await createRun(env, fx.tenant, fx.job.id, "manual", null, { kind: "reconcile" });
    const ref = { tenant: fx.tenant, jobId: fx.job.id, runId: run.id };
    await runSlice(env, ref, { pageSize: 4, maxPages: 2 }); // init + 2 of 4+ pages
    expect((await getRunRow(env, fx.tenant, run.id))!.pages).toBe(2);
    expect(await marksOf(run.id)).toBe(8);
    expect(await members(fx)).toEqual(before);
    expect(await cancelRun(env, fx.tenant, run.id, "test")).toBe(true);
    await onRunFinished(env, fx.tenant, run.id);
    expect((await runSlice(env, ref, { pageSize: 4 })).kind).toBe("done"); // the runner notices and stops
    expect(await members(fx)).toEqual(before);
    expect(await marksOf(run.id)).toBe(0);
    expect((await getRunRow(env, fx.tenant, run.id))!.deleted_count).toBe(0);
  });

  it("stops with reconcile_too_many_deletes above the threshold and deletes nothing", async () => {
    const fx = await copyFixture(userJob({ deletes: "delete" }));
    await runToEnd(fx);
    const known = (await members(fx)).size;
    // Records this job wrote earlier whose users are gone now: more than half of what the target knows.
    const table = await objectTable(fx.tenant, "Member");
    const stale = Array.from({ length: known + 1 }, () => crypto.randomUUID());
    for (const id of stale)
      await env.DATA.prepare(
        `INSERT INTO ${table} (_id, _created_at, _updated_at, _deleted, _org, f_DynamicsId) VALUES (?, '2020-01-01', '2020-01-01', 0, ?, ?)`,
      )
        .bind(crypto.randomUUID(), fabrikam().organizationId.toLowerCase(), id)
        .run();
    const before = await members(fx);
    const rec = await reconcile(fx);
    expect(toRun(rec)).toMatchObject({ status: "failed", error: { code: "reconcile_too_many_deletes" }, counts: { deleted: 0 } });
    expect(rec.error_message).toContain(`${known + 1} of ${2 * known + 1} records`);
    expect(await members(fx)).toEqual(before);
    expect(await marksOf(rec.id)).toBe(0);
    // The admin confirms with a higher threshold for this one run: now they go.
    const again = await reconcile(fx, {}, 60);
    expect(toRun(again)).toMatchObject({ status: "succeeded", counts: { deleted: known + 1 } });
  });

  it("is a run like any other through POST /jobs/:id/runs { reconcile: true }, and bad bodies are refused by field", async () => {
    const fx = await copyFixture(userJob({ deletes: "soft" }));
    await runToEnd(fx);
    const token = await hostToken({ tenant: fx.tenant, role: "admin" });
    const path = `/api/v1/jobs/${fx.job.id}/runs`;
    let err = await expectError(await call("POST", path, { token, body: { maxDeletePercent: 10 } }), 400, "validation_failed");
    expect(err.details).toEqual([{ path: "maxDeletePercent", message: expect.stringContaining("reconcile: true") }]);
    err = await expectError(await call("POST", path, { token, body: { reconcile: true, maxDeletePercent: 101 } }), 400, "validation_failed");
    expect(err.details?.[0]?.path).toBe("maxDeletePercent");
    err = await expectError(await call("POST", path, { token, body: { reconcile: "yes" } }), 400, "validation_failed");
    expect(err.details?.[0]?.path).toBe("reconcile");
    const res = await call("POST", path, { token, body: { reconcile: true } });
    expect(res.status).toBe(202);
    const { runId } = await json<{ runId: string }>(res);
    let run = await json(await call("GET", `/api/v1/runs/${runId}`, { token }));
    for (let i = 0; i < 100 && (run.status === "queued" || run.status === "running"); i++) {
      await new Promise((r) => setTimeout(r, 100));
      run = await json(await call("GET", `/api/v1/runs/${runId}`, { token }));
    }
    expect(run).toMatchObject({ strategy: "reconcile", status: "succeeded", trigger: "manual", progress: { pages: 1 } });
    expect(run.counts.read).toBeGreaterThanOrEqual(40);
    const history = await json<Array<{ id: string; strategy: string }>>(await call("GET", path, { token }));
    expect(history[0]).toMatchObject({ id: runId, strategy: "reconcile" });
    // A plain POST (no body) still runs the job.
    const plain = await call("POST", path, { token });
    expect(plain.status).toBe(202);
  });

  it("is refused when another job writes the same identifier of the object from another table", async () => {
    const fx = await copyFixture(userJob({ deletes: "delete" }));
    await putJob(env, fx.tenant, {
      ...fx.job,
      id: `job_${crypto.randomUUID().slice(0, 8)}`,
      name: "contacts as members",
      source: { entity: "contact", filter: null },
      identifiers: [{ source: "contactid", target: "DynamicsId" }],
      mappings: [{ source: "fullname", target: "Name", use: "value" }],
    });
    const token = await hostToken({ tenant: fx.tenant, role: "admin" });
    const err = await expectError(await call("POST", `/api/v1/jobs/${fx.job.id}/runs`, { token, body: { reconcile: true } }), 400, "validation_failed");
    expect(err.details).toEqual([{ path: "reconcile", message: expect.stringContaining("from contact") }]);
    const rec = await reconcile(fx); // stored before the other job existed, or started by the cron: the run refuses too
    expect(toRun(rec)).toMatchObject({ status: "failed", error: { code: "invalid_job" } });
  });

  it("never sweeps another organization's records", async () => {
    const fx = await copyFixture(userJob({ deletes: "delete" }));
    await runToEnd(fx);
    const table = await objectTable(fx.tenant, "Member");
    const foreign = crypto.randomUUID();
    await env.DATA.prepare(`INSERT INTO ${table} (_id, _created_at, _updated_at, _deleted, _org, f_DynamicsId) VALUES (?, '2020-01-01', '2020-01-01', 0, ?, ?)`)
      .bind(crypto.randomUUID(), "00000000-0000-0000-0000-00000000abcd", foreign)
      .run();
    const rec = await reconcile(fx);
    expect(toRun(rec).counts.deleted).toBe(0);
    expect((await members(fx)).has(foreign)).toBe(true);
  });

  it("starts the automatic reconciliation of a keyset job once a day", async () => {
    const fx = await copyFixture(userJob({ deletes: "soft" }));
    await runToEnd(fx); // a keyset sync state: the job is read without change tracking
    const count = async () =>
      (await env.DATA.prepare("SELECT COUNT(*) AS n FROM runs WHERE tenant = ? AND job_id = ? AND kind = 'reconcile'")
        .bind(fx.tenant, fx.job.id)
        .first<{ n: number }>())!.n;
    const hour = 3_600_000;
    const t0 = Math.ceil(Date.now() / hour) * hour; // the top of the next hour
    expect(await startDueReconciliations(env, t0 + 5 * 60_000)).not.toContain(fx.job.id); // only at the top of an hour
    expect(await startDueReconciliations(env, t0)).toContain(fx.job.id);
    expect(await count()).toBe(1);
    // Let it finish (the job's runner drives it), then the next hours' ticks start none, the next day's one.
    for (let i = 0; i < 100; i++) {
      const { results } = await env.DATA.prepare("SELECT status FROM runs WHERE tenant = ? AND job_id = ? AND kind = 'reconcile'")
        .bind(fx.tenant, fx.job.id)
        .all<{ status: string }>();
      if (results.every((r) => r.status !== "queued" && r.status !== "running")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (let h = 1; h < 24; h++) expect(await startDueReconciliations(env, t0 + h * hour)).not.toContain(fx.job.id);
    expect(await count()).toBe(1);
    expect(await startDueReconciliations(env, t0 + 24 * hour)).toContain(fx.job.id);
    expect(await count()).toBe(2);
    expect(await startDueReconciliations({ ...env, RECONCILE_EVERY_HOURS: "0" }, t0 + 72 * hour)).not.toContain(fx.job.id);
  });
});
