/**
 * The sync engine against the offline sandbox. One file on purpose: these tests change contoso's cr123_project rows,
 * inject faults on its path and expire delta tokens, so they must not interleave with each other.
 */
import { env, SELF } from "cloudflare:test";
import { SignJWT } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { listRunErrors } from "../../src/stores/run-errors";
import { objectTable } from "../../src/stores/object-tables";
import { createRun, getRunRow } from "../../src/stores/runs";
import { runSlice } from "../../src/sync/engine";
import {
  control,
  countRows,
  fixture,
  liveTarget,
  org,
  PROJECT_FIELDS,
  PROJECT_MAPPINGS,
  runToEnd,
  sandbox,
  sandboxProjects,
  sourceRows,
  targetRows,
} from "./helpers";

const COLS = ["DynamicsId", "Name", "Stage", "Tags", "Budget", "DueDate", "Hours", "Billable", "AccountDynamicsId"];
const projectFixture = () => fixture("contoso", { object: { name: "Project", fields: PROJECT_FIELDS } });
const expectedProjects = () => sandboxProjects("contoso");

afterAll(async () => {
  if (!sandbox) return;
  await control(org("contoso"), "POST", "reset"); // restore the rows and schema these tests changed
});

describe.skipIf(!sandbox)("sync engine against the sandbox", () => {
  it("a full sync copies exactly the sandbox's rows, converted per target field type, and stores the delta link", async () => {
    const fx = await projectFixture();
    const run = await runToEnd(fx, { pageSize: 50 });
    expect(run.error_message).toBeNull();
    expect(run).toMatchObject({ status: "succeeded", strategy: "full" });
    const expected = await expectedProjects();
    expect(await liveTarget(fx)).toEqual(expected);
    expect(run.inserted_count).toBe(expected.length);
    expect(run.pages).toBe(Math.ceil(expected.length / 50));
    const state = await env.DATA.prepare("SELECT strategy, delta_link FROM sync_state WHERE tenant = ? AND job_id = ?")
      .bind(fx.tenant, fx.job.id)
      .first<{ strategy: string; delta_link: string }>();
    expect(state).toMatchObject({ strategy: "delta", delta_link: expect.stringMatching(/\$deltatoken=/) });
  });

  it("syncs the seeded accounts into the standard Company object through the job's Durable Object", async () => {
    const fx = await fixture("contoso", {
      source: { entity: "account", filter: null },
      target: { object: "Company" },
      identifiers: [{ source: "accountid", target: "DynamicsId" }],
      mappings: [
        { source: "name", target: "Name", use: "value" },
        { source: "industrycode", target: "Industry", use: "label" },
        { source: "numberofemployees", target: "Employees", use: "value" },
        { source: "revenue", target: "AnnualRevenue", use: "value" },
        { source: "address1_city", target: "City", use: "value" },
        { source: "modifiedon", target: "ModifiedOn", use: "value" },
      ],
    });
    const { startRun } = await import("../../src/sync/start");
    const t0 = Date.now();
    const started = await startRun(env, fx.tenant, fx.job.id, "manual");
    let run = started;
    while (["queued", "running"].includes(run.status) && Date.now() - t0 < 60_000) {
      await new Promise((r) => setTimeout(r, 50));
      run = (await getRunRow(env, fx.tenant, started.id))!;
    }
    const ms = Date.now() - t0;
    expect(run.error_message).toBeNull();
    expect(run.status).toBe("succeeded");
    const src = await sourceRows(fx.orgInfo, "accounts", "accountid,name");
    const dst = await targetRows(fx.tenant, "Company", ["DynamicsId", "Name"]);
    expect(dst.map(({ _deleted, ...r }) => r)).toEqual(
      src.map((r) => ({ DynamicsId: String(r.accountid).toLowerCase(), Name: r.name })).sort((a, b) => (a.DynamicsId < b.DynamicsId ? -1 : 1)),
    );
    console.log(`[measure] ${src.length} accounts → Company via JobRunner: ${ms} ms (${Math.round((src.length / ms) * 1000)} rows/s)`);
  });

  it("after the control API changes, adds and deletes rows, the next run moves only those (delta, soft delete)", async () => {
    const fx = await projectFixture();
    await runToEnd(fx, { pageSize: 100 });
    const before = await expectedProjects();
    const a = await control(fx.orgInfo, "POST", "rows/cr123_project", { cr123_name: "Delta Added One", cr123_hours: 5 });
    const b = await control(fx.orgInfo, "POST", "rows/cr123_project", { cr123_name: "Delta Added Two", cr123_hours: 7 });
    await control(fx.orgInfo, "PATCH", `rows/cr123_project/${before[3]!.DynamicsId}`, { cr123_name: "Delta Renamed" });
    await control(fx.orgInfo, "DELETE", `rows/cr123_project/${before[4]!.DynamicsId}`);
    const run = await runToEnd(fx, { pageSize: 100 });
    expect(run.error_message).toBeNull();
    expect(run).toMatchObject({
      status: "succeeded",
      strategy: "delta",
      read_count: 4,
      inserted_count: 2,
      updated_count: 1,
      deleted_count: 1,
      failed_count: 0,
    });
    expect(await liveTarget(fx)).toEqual(await expectedProjects());
    const deleted = await targetRows(fx.tenant, "Project", ["DynamicsId"]);
    expect(deleted.find((r) => r.DynamicsId === before[4]!.DynamicsId)?._deleted).toBe(1);
    expect(deleted.filter((r) => [a, b].some((x: any) => x.cr123_projectid === r.DynamicsId))).toHaveLength(2);
  });

  it("hard-deletes target records when the job's delete policy is delete", async () => {
    const fx = await fixture("contoso", { object: { name: "Project", fields: PROJECT_FIELDS }, deletes: "delete" });
    await runToEnd(fx, { pageSize: 200 });
    const victim = (await expectedProjects())[0]!.DynamicsId as string;
    await control(fx.orgInfo, "DELETE", `rows/cr123_project/${victim}`);
    const run = await runToEnd(fx, { pageSize: 200 });
    expect(run.deleted_count).toBe(1);
    expect((await targetRows(fx.tenant, "Project", ["DynamicsId"])).some((r) => r.DynamicsId === victim)).toBe(false);
  });

  it("an expired delta token (0x80044352) leads to a full resync, noted on the run", async () => {
    const fx = await projectFixture();
    await runToEnd(fx, { pageSize: 100 });
    await control(fx.orgInfo, "POST", "delta/expire");
    const run = await runToEnd(fx, { pageSize: 100 });
    expect(run.error_message).toBeNull();
    expect(run.strategy).toBe("full");
    expect(JSON.parse(run.notes)).toContain("delta token expired (0x80044352): full resync");
    const expected = await expectedProjects();
    expect(run.read_count).toBe(expected.length);
    expect(await liveTarget(fx)).toEqual(expected);
  });

  it("an interrupted run resumes from its checkpoint, and a duplicated page step writes nothing twice", async () => {
    const fx = await projectFixture();
    const created = await createRun(env, fx.tenant, fx.job.id, "manual");
    const ref = { tenant: fx.tenant, jobId: fx.job.id, runId: created.id };
    // "crash" after 3 pages
    expect((await runSlice(env, ref, { maxPages: 3, pageSize: 20 })).kind).toBe("continue");
    expect(await countRows(fx.tenant, "Project")).toBe(60);
    // resume with two runners at once (a re-kicked runner racing the original): every page commits exactly once
    await Promise.all([runSlice(env, ref, { budgetMs: 60_000 }), runSlice(env, ref, { budgetMs: 60_000 })]);
    const run = (await getRunRow(env, fx.tenant, created.id))!;
    const expected = await expectedProjects();
    expect(run.status).toBe("succeeded");
    expect(run.read_count).toBe(expected.length);
    expect(run.inserted_count).toBe(expected.length);
    expect(await countRows(fx.tenant, "Project")).toBe(expected.length);
    const pages = await env.DATA.prepare("SELECT COUNT(*) AS n FROM run_pages WHERE run_id = ?").bind(created.id).first<{ n: number }>();
    expect(pages!.n).toBe(run.pages);
  });

  it("requests the next page while the current one is written, and fetches each page once", async () => {
    // A keyset read whose URLs carry a marker no other test sends; a no-op fault on it counts the requests (`seen`).
    const marker = `ahead-${crypto.randomUUID()}`;
    const fx = await fixture("contoso", {
      object: { name: "Project", fields: PROJECT_FIELDS },
      source: { entity: "cr123_project", filter: `cr123_name ne '${marker}'` },
    });
    const { ids } = await control(fx.orgInfo, "POST", "faults", { kind: "slow", delayMs: 0, path: marker });
    const seen = async () => ((await control(fx.orgInfo, "GET", "faults")).faults as Array<{ id: number; seen: number }>).find((f) => f.id === ids[0])!.seen;
    try {
      const created = await createRun(env, fx.tenant, fx.job.id, "manual");
      const ref = { tenant: fx.tenant, jobId: fx.job.id, runId: created.id };
      // One page step: page 1 is read and committed, and page 2 was already requested meanwhile.
      expect((await runSlice(env, ref, { maxPages: 1, pageSize: 20 })).kind).toBe("continue");
      await expect.poll(seen).toBe(2);
      expect(await countRows(fx.tenant, "Project")).toBe(20);
      // The rest in one slice: each remaining page fetched once (page 2 again: the first slice's copy left with it).
      expect((await runSlice(env, ref, { budgetMs: 60_000 })).kind).toBe("done");
      const run = (await getRunRow(env, fx.tenant, created.id))!;
      const expected = await expectedProjects();
      expect(run).toMatchObject({ status: "succeeded", read_count: expected.length, inserted_count: expected.length });
      expect(await seen()).toBe(run.pages + 1);
      expect(await liveTarget(fx)).toEqual(expected);
    } finally {
      await control(fx.orgInfo, "DELETE", `faults/${ids[0]}`);
    }
  });

  it("a run under injected faults (429/503 ~10%, a dropped connection, a 401) ends with the same target state as a fault-free run", async () => {
    const clean = await projectFixture();
    await runToEnd(clean, { pageSize: 10 });
    const faulty = await projectFixture();
    await control(faulty.orgInfo, "POST", "faults", [
      { kind: "429", rate: 0.1, retryAfter: 1, path: "cr123_projects", times: 3 },
      { kind: "503", rate: 0.1, path: "cr123_projects", times: 3 },
      { kind: "drop", nth: 4, path: "cr123_projects" },
      { kind: "401", nth: 9, path: "cr123_projects" },
    ]);
    let run;
    let fired;
    try {
      run = await runToEnd(faulty, { pageSize: 10 });
    } finally {
      fired = (await control(faulty.orgInfo, "GET", "faults")).faults;
      await control(faulty.orgInfo, "DELETE", "faults");
    }
    expect(run.error_message).toBeNull();
    expect(run.status).toBe("succeeded");
    const firedKinds = new Set((fired as Array<{ kind: string; fired: number }>).filter((f) => f.fired > 0).map((f) => f.kind));
    expect(firedKinds.has("drop") && firedKinds.has("401")).toBe(true);
    const strip = (rows: Array<Record<string, unknown>>) => rows;
    expect(strip(await targetRows(faulty.tenant, "Project", COLS))).toEqual(strip(await targetRows(clean.tenant, "Project", COLS)));
    expect(run.inserted_count).toBe(await countRows(clean.tenant, "Project"));
  });

  it("reads through a Customer lookup with $expand using the keyset, and the next run reads only changed rows", async () => {
    const fx = await fixture("contoso", {
      source: { entity: "contact", filter: "statecode eq 0" },
      object: {
        name: "Contact",
        fields: [
          { name: "DynamicsId", label: "Id", type: "id", required: true, unique: true },
          { name: "FullName", label: "Name", type: "string", required: false },
          { name: "CompanyName", label: "Company", type: "string", required: false },
        ],
      },
      identifiers: [{ source: "contactid", target: "DynamicsId" }],
      mappings: [
        { source: "fullname", target: "FullName", use: "value" },
        { source: "parentcustomerid", target: "CompanyName", use: "value", via: { entity: "account", attribute: "name" } },
      ],
    });
    const first = await runToEnd(fx, { pageSize: 500 });
    expect(first.error_message).toBeNull();
    expect(first).toMatchObject({ status: "succeeded", strategy: "full" });
    const src = await sourceRows(fx.orgInfo, "contacts", "contactid,statecode");
    const active = src.filter((r) => r.statecode === 0);
    expect(await countRows(fx.tenant, "Contact")).toBe(active.length);
    // a contact whose parent is an account carries the account's name
    const withAccount = (await sourceRows(fx.orgInfo, "contacts", "contactid,_parentcustomerid_value,statecode")).find(
      (r) => r.statecode === 0 && r["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] === "account",
    )!;
    const acct = await control(fx.orgInfo, "GET", `rows/account/${withAccount._parentcustomerid_value}`);
    const table = await objectTable(fx.tenant, "Contact");
    const row = await env.DATA.prepare(`SELECT f_CompanyName AS n FROM ${table} WHERE f_DynamicsId = ?`)
      .bind(String(withAccount.contactid))
      .first<{ n: string }>();
    expect(row?.n).toBe(acct.name);

    await control(fx.orgInfo, "PATCH", `rows/contact/${active[0]!.contactid}`, { firstname: "Keyset", lastname: "Changed" });
    const second = await runToEnd(fx, { pageSize: 500 });
    expect(second).toMatchObject({ status: "succeeded", strategy: "keyset", read_count: 1, updated_count: 1 });
  });

  it("a value that cannot convert is a per-record error (source id, field, value, reason) and the run ends partial", async () => {
    const fx = await fixture("contoso", {
      object: { name: "Project", fields: PROJECT_FIELDS.map((f) => (f.name === "Hours" ? { ...f, type: "boolean" as const } : f)) },
    });
    const run = await runToEnd(fx, { pageSize: 200 });
    expect(run.status).toBe("partial");
    expect(run.failed_count).toBeGreaterThan(0);
    const errors = await listRunErrors(env, fx.tenant, run.id);
    expect(errors[0]).toMatchObject({ field: "Hours", reason: expect.stringContaining("not a boolean") });
    expect(errors[0]!.sourceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(run.inserted_count + run.failed_count).toBe(run.read_count);
  });

  it("resolves lookups to target record ids (self lookup included) and applies onMissing", async () => {
    const fields = [
      { name: "DynamicsId", label: "Id", type: "id" as const, required: true, unique: true },
      { name: "Name", label: "Name", type: "string" as const, required: false },
      { name: "ParentId", label: "Parent", type: "reference" as const, required: false, references: "Acct" },
    ];
    const fx = await fixture("contoso", {
      source: { entity: "account", filter: null },
      object: { name: "Acct", fields },
      identifiers: [{ source: "accountid", target: "DynamicsId" }],
      mappings: [{ source: "name", target: "Name", use: "value" }],
      lookups: [{ target: "ParentId", object: "Acct", match: [{ source: "_parentaccountid_value", field: "DynamicsId" }], onMissing: "null", onEmpty: "null" }],
    });
    const first = await runToEnd(fx, { pageSize: 5000 });
    expect(first.status).toBe("succeeded");
    const src = await sourceRows(fx.orgInfo, "accounts", "accountid,_parentaccountid_value");
    const child = src.find((r) => r._parentaccountid_value);
    expect(child).toBeDefined();
    const table = await objectTable(fx.tenant, "Acct");
    const got = await env.DATA.prepare(
      `SELECT c.f_ParentId AS pid, p.f_DynamicsId AS parent FROM ${table} c LEFT JOIN ${table} p ON p._id = c.f_ParentId WHERE c.f_DynamicsId = ?`,
    )
      .bind(String(child!.accountid))
      .first<{ pid: string; parent: string }>();
    expect(got?.parent).toBe(String(child!._parentaccountid_value).toLowerCase());
  });

  it("starts a dependent job after its parent ends and queues the outcome's notifications (one outbox row per email, a webhook row)", async () => {
    const parent = await fixture("contoso", {
      object: { name: "Project", fields: PROJECT_FIELDS },
      notify: {
        onSuccess: ["ops@example.com", "cs@example.com"],
        onPartial: [],
        onFailure: ["pager@example.com"],
        webhook: "https://hooks.example.invalid/dc",
      },
    });
    const { putJob } = await import("../../src/stores/jobs");
    const child = {
      ...parent.job,
      id: `job_${crypto.randomUUID().slice(0, 8)}`,
      dependsOn: parent.job.id,
      notify: { onSuccess: [], onPartial: [], onFailure: [], webhook: null },
    };
    await putJob(env, parent.tenant, child);
    const run = await runToEnd(parent, { pageSize: 200 });
    expect(run.status).toBe("succeeded");
    const chained = await env.DATA.prepare("SELECT trigger, parent_run_id FROM runs WHERE tenant = ? AND job_id = ?").bind(parent.tenant, child.id).all();
    expect(chained.results).toEqual([{ trigger: "chain", parent_run_id: run.id }]);
    const outbox = await env.DATA.prepare("SELECT channel, recipient, status FROM notifications_outbox WHERE run_id = ? ORDER BY channel, recipient")
      .bind(run.id)
      .all();
    expect(outbox.results.map((r: any) => [r.channel, r.recipient])).toEqual([
      ["email", "cs@example.com"],
      ["email", "ops@example.com"],
      ["webhook", "https://hooks.example.invalid/dc"],
    ]);
  });

  it("fails the run before writing anything when a mapped attribute was removed, naming it", async () => {
    const fx = await projectFixture();
    await control(fx.orgInfo, "DELETE", "schema/cr123_project/cr123_hours");
    const run = await runToEnd(fx);
    expect(run.status).toBe("failed");
    expect(run.error_code).toBe("schema_drift");
    expect(run.error_message).toContain("cr123_project.cr123_hours");
    expect(await countRows(fx.tenant, "Project")).toBe(0);
  });

  it("fails the run before writing anything when a mapped attribute was retyped, naming it", async () => {
    const fx = await fixture("contoso", {
      object: { name: "Project", fields: PROJECT_FIELDS },
      mappings: PROJECT_MAPPINGS.filter((m) => m.source !== "cr123_hours"),
    });
    expect((await runToEnd(fx)).status).toBe("succeeded");
    const table = await objectTable(fx.tenant, "Project");
    const stamp = () => env.DATA.prepare(`SELECT MAX(_updated_at) AS t, COUNT(*) AS n FROM ${table}`).first();
    const before = await stamp();
    await control(fx.orgInfo, "PATCH", "schema/cr123_project/cr123_billable", { type: "String" });
    const run = await runToEnd(fx);
    expect(run.status).toBe("failed");
    expect(run.error_message).toMatch(/cr123_project\.cr123_billable changed type from Boolean to String/);
    expect(run.read_count).toBe(0);
    expect(await stamp()).toEqual(before);
  });
});

describe.skipIf(!sandbox)("runs API", () => {
  const token = (tenant: string, role: "admin" | "viewer" = "admin") =>
    new SignJWT({ tenant, role })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("tester")
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(env.HOST_JWT_SECRET));
  const call = async (tenant: string, method: string, path: string, role: "admin" | "viewer" = "admin") =>
    SELF.fetch(`https://edge.test/api/v1${path}`, { method, headers: { Authorization: `Bearer ${await token(tenant, role)}` } });

  it("answers a second run-now while one is active with 409 run_in_progress", async () => {
    const fx = await projectFixture();
    const [a, b] = await Promise.all([call(fx.tenant, "POST", `/jobs/${fx.job.id}/runs`), call(fx.tenant, "POST", `/jobs/${fx.job.id}/runs`)]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([202, 409]);
    const conflict = a.status === 409 ? a : b;
    expect(((await conflict.json()) as any).error.code).toBe("run_in_progress");
  });

  it("runs a job started over HTTP to the end in its Durable Object and serves it, its history and its CSV errors", async () => {
    const fx = await fixture("contoso", {
      object: { name: "Project", fields: PROJECT_FIELDS.map((f) => (f.name === "Name" ? { ...f, type: "integer" as const } : f)) },
      mappings: PROJECT_MAPPINGS.filter((m) => m.source !== "cr123_hours"),
    });
    const res = await call(fx.tenant, "POST", `/jobs/${fx.job.id}/runs`);
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    let run: any;
    for (let i = 0; i < 100; i++) {
      run = await (await call(fx.tenant, "GET", `/runs/${runId}`, "viewer")).json();
      if (!["queued", "running"].includes(run.status)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(run).toMatchObject({ id: runId, jobId: fx.job.id, trigger: "manual", status: "partial" });
    const history = (await (await call(fx.tenant, "GET", `/jobs/${fx.job.id}/runs`, "viewer")).json()) as any[];
    expect(history.map((r) => r.id)).toEqual([runId]);
    const csv = await call(fx.tenant, "GET", `/runs/${runId}/errors?format=csv`, "viewer");
    expect(csv.headers.get("content-type")).toMatch(/text\/csv/);
    const text = await csv.text();
    expect(text.split("\r\n")[0]).toBe("sourceId,field,value,reason");
    expect(text).toContain(",Name,");
    // another tenant can't see it
    expect((await call(`t-${crypto.randomUUID()}`, "GET", `/runs/${runId}`)).status).toBe(404);
  });
});
