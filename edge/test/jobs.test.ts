import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import type { AttributeInfo, EntityInfo } from "#contract/metadata";
import { storeAttributes, storeEntities } from "../src/metadata/cache";
import { getJob, putJob } from "../src/stores/jobs";
import { actors, call, createConnection, expectError, json, tenantStorage } from "./helpers";

const ENTITIES: EntityInfo[] = [
  {
    logicalName: "account",
    entitySetName: "accounts",
    displayName: "Account",
    primaryIdAttribute: "accountid",
    primaryNameAttribute: "name",
    isCustom: false,
    changeTracking: true,
  },
  {
    logicalName: "contact",
    entitySetName: "contacts",
    displayName: "Contact",
    primaryIdAttribute: "contactid",
    primaryNameAttribute: "fullname",
    isCustom: false,
    changeTracking: true,
  },
];
const a = (logicalName: string, type: AttributeInfo["type"], extra: Partial<AttributeInfo> = {}): AttributeInfo => ({
  logicalName,
  displayName: logicalName,
  type,
  required: "none",
  readable: true,
  ...extra,
});
const ACCOUNT: AttributeInfo[] = [
  a("accountid", "Uniqueidentifier"),
  a("name", "String"),
  a("numberofemployees", "Integer"),
  a("revenue", "Money"),
  a("industrycode", "Picklist", { options: [{ value: 1, label: "Accounting" }] }),
  a("createdon", "DateTime"),
  a("description", "Memo"),
  a("parentaccountid", "Lookup", { targets: ["account"] }),
  a("secret", "String", { readable: false }),
  a("activityparties", "PartyList"),
];
const CONTACT: AttributeInfo[] = [
  a("contactid", "Uniqueidentifier"),
  a("fullname", "String"),
  a("parentcustomerid", "Customer", { targets: ["account", "contact"] }),
];

async function world() {
  const act = await actors();
  const conn = await createConnection(act.admin);
  await storeEntities(env, act.tenant, conn.id, ENTITIES);
  await storeAttributes(env, act.tenant, conn.id, "account", ACCOUNT);
  await storeAttributes(env, act.tenant, conn.id, "contact", CONTACT);
  return { ...act, conn };
}

const good = (connectionId: string, over: Record<string, unknown> = {}) => ({
  connectionId,
  name: "Accounts → Companies",
  source: { entity: "account", filter: null },
  target: { object: "Company" },
  mode: "upsert",
  identifiers: [{ source: "accountid", target: "DynamicsId" }],
  mappings: [
    { source: "name", target: "Name" },
    { source: "numberofemployees", target: "Employees" },
    { source: "industrycode", target: "Industry", use: "label" },
  ],
  lookups: [{ target: "ParentCompanyId", object: "Company", match: [{ source: "_parentaccountid_value", field: "DynamicsId" }] }],
  schedule: { cron: "0 * * * *", timezone: "Europe/Berlin" },
  ...over,
});

async function refused(body: unknown, path: string, message?: RegExp) {
  const w = await world();
  const b = typeof body === "function" ? (body as (id: string) => unknown)(w.conn.id) : body;
  const e = await expectError(await call("POST", "/api/v1/jobs", { token: w.admin, body: b }), 400, "validation_failed");
  const hit = e.details?.find((d) => d.path === path && (!message || message.test(d.message)));
  if (!hit) throw new Error(`no detail at ${path}${message ? ` matching ${message}` : ""}: ${JSON.stringify(e.details)}`);
}

describe("jobs: create, read, replace, delete", () => {
  it("creates a valid job with defaults filled", async () => {
    const w = await world();
    const res = await call("POST", "/api/v1/jobs", { token: w.admin, body: good(w.conn.id) });
    expect(res.status).toBe(201);
    const job = await json(res);
    expect(job).toMatchObject({ id: expect.stringMatching(/^job_/), enabled: true, deletes: "ignore", dependsOn: null });
    expect(job.warnings).toBeUndefined();
  });

  it("stores the job under t/{tenant}/job/{id}", async () => {
    const w = await world();
    const job = await json(await call("POST", "/api/v1/jobs", { token: w.admin, body: good(w.conn.id) }));
    expect(await env.CONFIG.get(`t/${w.tenant}/job/${job.id}`)).not.toBeNull();
  });

  it("reads, lists and filters jobs by connection", async () => {
    const w = await world();
    const job = await json(await call("POST", "/api/v1/jobs", { token: w.admin, body: good(w.conn.id) }));
    expect((await json(await call("GET", `/api/v1/jobs/${job.id}`, { token: w.viewer }))).name).toBe("Accounts → Companies");
    expect(await json<any[]>(await call("GET", `/api/v1/jobs?connectionId=${w.conn.id}`, { token: w.viewer }))).toHaveLength(1);
    expect(await json<any[]>(await call("GET", `/api/v1/jobs?connectionId=other`, { token: w.viewer }))).toHaveLength(0);
  });

  it("replaces a job keeping id and createdAt", async () => {
    const w = await world();
    const job = await json(await call("POST", "/api/v1/jobs", { token: w.admin, body: good(w.conn.id) }));
    const res = await call("PUT", `/api/v1/jobs/${job.id}`, { token: w.admin, body: good(w.conn.id, { name: "Renamed", enabled: false }) });
    expect(await json(res)).toMatchObject({ id: job.id, createdAt: job.createdAt, name: "Renamed", enabled: false });
  });

  it("deletes a job", async () => {
    const w = await world();
    const job = await json(await call("POST", "/api/v1/jobs", { token: w.admin, body: good(w.conn.id) }));
    expect((await call("DELETE", `/api/v1/jobs/${job.id}`, { token: w.admin })).status).toBe(200);
    await expectError(await call("GET", `/api/v1/jobs/${job.id}`, { token: w.admin }), 404, "not_found");
  });

  it("refuses deleting a job another job depends on", async () => {
    const w = await world();
    const first = await json(await call("POST", "/api/v1/jobs", { token: w.admin, body: good(w.conn.id) }));
    await call("POST", "/api/v1/jobs", { token: w.admin, body: good(w.conn.id, { dependsOn: first.id, schedule: null }) });
    await expectError(await call("DELETE", `/api/v1/jobs/${first.id}`, { token: w.admin }), 400, "validation_failed");
  });

  it("warns (and accepts) when the connection has no cached metadata yet", async () => {
    const act = await actors();
    const conn = await createConnection(act.admin);
    const res = await call("POST", "/api/v1/jobs", { token: act.admin, body: good(conn.id) });
    expect(res.status).toBe(201);
    expect((await json(res)).warnings?.[0]).toMatch(/not known yet/);
  });

  it("answers 404 replacing an unknown job", async () => {
    const w = await world();
    await expectError(await call("PUT", "/api/v1/jobs/job_nope", { token: w.admin, body: good(w.conn.id) }), 404, "not_found");
  });
});

describe("jobs: shape validation names the field", () => {
  it("refuses an unknown top-level key", () => refused((id: string) => ({ ...good(id), extra: 1 }), "extra"));
  it("refuses a missing name", () =>
    refused((id: string) => {
      const { name: _n, ...rest } = good(id);
      return rest;
    }, "name"));
  it("refuses a source entity that is not a logical name", () => refused((id: string) => good(id, { source: { entity: "Account; drop" } }), "source.entity"));
  it("refuses an empty mappings list", () => refused((id: string) => good(id, { mappings: [] }), "mappings"));
  it("refuses an unknown mode", () => refused((id: string) => good(id, { mode: "merge" }), "mode"));
  it("refuses a lookup with 7 match fields", () =>
    refused(
      (id: string) =>
        good(id, { lookups: [{ target: "ParentCompanyId", object: "Company", match: Array.from({ length: 7 }, () => ({ source: "name", field: "Name" })) }] }),
      "lookups.0.match",
    ));
  it("refuses a bad notification email", () => refused((id: string) => good(id, { notify: { onFailure: ["not-an-email"] } }), "notify.onFailure.0"));
});

describe("jobs: cross-validation names the field", () => {
  it("refuses an unknown connection", () => refused(good("conn_unknown"), "connectionId", /no such connection/));
  it("refuses an unknown target object", () => refused((id: string) => good(id, { target: { object: "Nope" } }), "target.object"));
  it("refuses a source entity missing from the org", () =>
    refused((id: string) => good(id, { source: { entity: "nosuchtable", filter: null } }), "source.entity"));
  it("refuses a mapping to an unknown target field", () =>
    refused(
      (id: string) =>
        good(id, {
          mappings: [
            { source: "name", target: "Name" },
            { source: "name", target: "Nope" },
          ],
        }),
      "mappings.1.target",
      /no field Nope/,
    ));
  it("refuses a mapping from an unknown source column", () =>
    refused(
      (id: string) =>
        good(id, {
          mappings: [
            { source: "name", target: "Name" },
            { source: "nosuchcol", target: "City" },
          ],
        }),
      "mappings.1.source",
      /no column/,
    ));
  it("refuses a mapping from an unreadable column", () =>
    refused(
      (id: string) =>
        good(id, {
          mappings: [
            { source: "name", target: "Name" },
            { source: "secret", target: "City" },
          ],
        }),
      "mappings.1.source",
      /cannot be read/,
    ));
  it("refuses incompatible types (String → integer)", () =>
    refused(
      (id: string) =>
        good(id, {
          mappings: [
            { source: "name", target: "Name" },
            { source: "name", target: "Employees" },
          ],
        }),
      "mappings.1.target",
      /cannot fill/,
    ));
  it("refuses incompatible types (Money → boolean)", () =>
    refused(
      (id: string) =>
        good(id, {
          target: { object: "User" },
          identifiers: [{ source: "accountid", target: "DynamicsId" }],
          mappings: [
            { source: "name", target: "FullName" },
            { source: "revenue", target: "IsDisabled" },
          ],
          lookups: [],
        }),
      "mappings.1.target",
    ));
  it("refuses label for a column type without labels", () =>
    refused((id: string) => good(id, { mappings: [{ source: "name", target: "Name", use: "label" }] }), "mappings.0.use"));
  it("refuses a PartyList column (not mappable)", () =>
    refused(
      (id: string) =>
        good(id, {
          mappings: [
            { source: "name", target: "Name" },
            { source: "activityparties", target: "City" },
          ],
        }),
      "mappings.1.target",
    ));
  it("refuses two mappings into the same field", () =>
    refused(
      (id: string) =>
        good(id, {
          mappings: [
            { source: "name", target: "Name" },
            { source: "description", target: "Name" },
          ],
        }),
      "mappings.1.target",
      /already filled/,
    ));
  it("refuses a mapping into a reference field", () =>
    refused(
      (id: string) =>
        good(id, {
          mappings: [
            { source: "name", target: "Name" },
            { source: "name", target: "ParentCompanyId" },
          ],
          lookups: [],
        }),
      "mappings.1.target",
      /lookup/,
    ));
  it("refuses upsert without identifiers", () => refused((id: string) => good(id, { identifiers: [] }), "identifiers", /needs at least one identifier/));
  it("refuses update without identifiers", () => refused((id: string) => good(id, { mode: "update", identifiers: [] }), "identifiers"));
  it("refuses an identifier on a non-unique field", () =>
    refused((id: string) => good(id, { identifiers: [{ source: "name", target: "AccountNumber" }] }), "identifiers.0.target", /not unique/));
  it("refuses an identifier from an unknown column", () =>
    refused((id: string) => good(id, { identifiers: [{ source: "nope", target: "DynamicsId" }] }), "identifiers.0.source"));
  it("refuses an unmapped required target field", () =>
    refused((id: string) => good(id, { mappings: [{ source: "numberofemployees", target: "Employees" }] }), "mappings", /Name is required/));
  it("refuses a lookup into an unknown object", () =>
    refused(
      (id: string) =>
        good(id, { lookups: [{ target: "ParentCompanyId", object: "Nope", match: [{ source: "_parentaccountid_value", field: "DynamicsId" }] }] }),
      "lookups.0.object",
    ));
  it("refuses a lookup matching an unknown field of the object", () =>
    refused(
      (id: string) => good(id, { lookups: [{ target: "ParentCompanyId", object: "Company", match: [{ source: "_parentaccountid_value", field: "Nope" }] }] }),
      "lookups.0.match.0.field",
    ));
  it("refuses a lookup whose match source is not a column", () =>
    refused(
      (id: string) => good(id, { lookups: [{ target: "ParentCompanyId", object: "Company", match: [{ source: "_nope_value", field: "DynamicsId" }] }] }),
      "lookups.0.match.0.source",
    ));
  it("refuses a lookup into a field that references another object", () =>
    refused(
      (id: string) =>
        good(id, { lookups: [{ target: "ParentCompanyId", object: "Person", match: [{ source: "_parentaccountid_value", field: "DynamicsId" }] }] }),
      "lookups.0.object",
      /references Company/,
    ));
  it("refuses a lookup target that is not a field", () =>
    refused(
      (id: string) => good(id, { lookups: [{ target: "Nope", object: "Company", match: [{ source: "_parentaccountid_value", field: "DynamicsId" }] }] }),
      "lookups.0.target",
    ));
  it("refuses via on a column that is not a lookup", () =>
    refused(
      (id: string) =>
        good(id, {
          mappings: [
            { source: "name", target: "Name" },
            { source: "description", target: "City", via: { entity: "account", attribute: "name" } },
          ],
        }),
      "mappings.1.via",
    ));
  it("refuses via into an entity the Customer lookup does not target", () =>
    refused(
      (id: string) =>
        good(id, {
          source: { entity: "contact", filter: null },
          identifiers: [{ source: "contactid", target: "DynamicsId" }],
          target: { object: "Person" },
          lookups: [],
          mappings: [{ source: "parentcustomerid", target: "City", via: { entity: "systemuser", attribute: "fullname" } }],
        }),
      "mappings.0.via.entity",
    ));
  it("refuses an invalid cron expression", () => refused((id: string) => good(id, { schedule: { cron: "61 * * * * *x", timezone: "UTC" } }), "schedule.cron"));
  it("refuses a cron expression with too few fields", () =>
    refused((id: string) => good(id, { schedule: { cron: "* * * *  ", timezone: "UTC" } }), "schedule.cron"));
  it("refuses an unknown IANA time zone", () =>
    refused((id: string) => good(id, { schedule: { cron: "0 * * * *", timezone: "Mars/Olympus" } }), "schedule.timezone"));
  it("refuses dependsOn an unknown job", () => refused((id: string) => good(id, { dependsOn: "job_nope" }), "dependsOn", /no job/));

  it("refuses a replace that would close a dependency cycle", async () => {
    const w = await world();
    const j1 = await json(await call("POST", "/api/v1/jobs", { token: w.admin, body: good(w.conn.id) }));
    const j2 = await json(await call("POST", "/api/v1/jobs", { token: w.admin, body: good(w.conn.id, { dependsOn: j1.id, schedule: null }) }));
    const e = await expectError(
      await call("PUT", `/api/v1/jobs/${j1.id}`, { token: w.admin, body: good(w.conn.id, { dependsOn: j2.id }) }),
      400,
      "validation_failed",
    );
    expect(e.details?.find((d) => d.path === "dependsOn")?.message).toMatch(/loops/);
  });

  it("refuses a job depending on itself", async () => {
    const w = await world();
    const j1 = await json(await call("POST", "/api/v1/jobs", { token: w.admin, body: good(w.conn.id) }));
    const e = await expectError(
      await call("PUT", `/api/v1/jobs/${j1.id}`, { token: w.admin, body: good(w.conn.id, { dependsOn: j1.id }) }),
      400,
      "validation_failed",
    );
    expect(e.details?.[0]).toMatchObject({ path: "dependsOn" });
  });

  it("reports every problem at once", async () => {
    const w = await world();
    const e = await expectError(
      await call("POST", "/api/v1/jobs", {
        token: w.admin,
        body: good(w.conn.id, { identifiers: [], schedule: { cron: "0 * * * *", timezone: "Nope/Nope" }, mappings: [{ source: "nosuch", target: "Name" }] }),
      }),
      400,
      "validation_failed",
    );
    expect(e.details!.map((d) => d.path)).toEqual(expect.arrayContaining(["identifiers", "schedule.timezone", "mappings.0.source"]));
  });
});

describe("jobs: webhook URL and name rules", () => {
  const SLACK = "https://hooks.slack.com/services/T000/B000/XXXX";

  for (const [url, why] of [
    ["https://169.254.169.254/latest/meta-data/", /link-local/],
    ["https://localhost/hook", /local or internal/],
    ["https://10.0.0.7/hook", /private network/],
    ["https://[::ffff:127.0.0.1]/hook", /loopback/],
    ["http://hooks.example.com/hook", /https/],
    ["https://user:pw@hooks.example.com/hook", /user name or password/],
    ["https://metadata/computeMetadata", /fully qualified/],
  ] as const) {
    it(`refuses the webhook ${url} at notify.webhook`, () => refused((id: string) => good(id, { notify: { webhook: url } }), "notify.webhook", why));
  }

  it("accepts a public https webhook, and PUT refuses a refused one the same way", async () => {
    const w = await world();
    const res = await call("POST", "/api/v1/jobs", { token: w.admin, body: good(w.conn.id, { notify: { webhook: SLACK } }) });
    expect(res.status).toBe(201);
    const job = await json(res);
    const e = await expectError(
      await call("PUT", `/api/v1/jobs/${job.id}`, { token: w.admin, body: good(w.conn.id, { notify: { webhook: "https://192.168.1.1/x" } }) }),
      400,
      "validation_failed",
    );
    expect(e.details).toEqual([{ path: "notify.webhook", message: expect.stringMatching(/^the webhook URL must not point at a private network address/) }]);
  });

  for (const name of ["Accounts\r\nBcc: attacker@evil.example", "Accounts\nX", "A\u0000B", "Tab\there", "Line\u2028sep", "C1\u0085next"]) {
    it(`refuses the job name ${JSON.stringify(name)} (control characters) at name`, () =>
      refused((id: string) => good(id, { name }), "name", /control characters/));
  }

  it("shows viewers a webhook as its origin only (GET /jobs, GET /jobs/:id); admins see the whole URL", async () => {
    const w = await world();
    const job = await json(await call("POST", "/api/v1/jobs", { token: w.admin, body: good(w.conn.id, { notify: { webhook: SLACK } }) }));
    const one = await json(await call("GET", `/api/v1/jobs/${job.id}`, { token: w.viewer }));
    const list = await json<any[]>(await call("GET", "/api/v1/jobs", { token: w.viewer }));
    const filtered = await json<any[]>(await call("GET", `/api/v1/jobs?connectionId=${w.conn.id}`, { token: w.viewer }));
    for (const seen of [one, list[0], filtered[0]]) expect(seen.notify.webhook).toBe("https://hooks.slack.com");
    for (const body of [one, list, filtered]) expect(JSON.stringify(body)).not.toContain("/services/");
    expect((await json(await call("GET", `/api/v1/jobs/${job.id}`, { token: w.admin }))).notify.webhook).toBe(SLACK);
    expect((await json<any[]>(await call("GET", "/api/v1/jobs", { token: w.admin })))[0].notify.webhook).toBe(SLACK);
  });
});

describe("jobs: dependency loops are refused atomically", () => {
  it("two concurrent saves A → B and B → A: exactly one succeeds", async () => {
    const w = await world();
    const a = await json(await call("POST", "/api/v1/jobs", { token: w.admin, body: good(w.conn.id) }));
    const b = await json(await call("POST", "/api/v1/jobs", { token: w.admin, body: good(w.conn.id) }));
    const [ra, rb] = await Promise.all([
      call("PUT", `/api/v1/jobs/${a.id}`, { token: w.admin, body: good(w.conn.id, { dependsOn: b.id, schedule: null }) }),
      call("PUT", `/api/v1/jobs/${b.id}`, { token: w.admin, body: good(w.conn.id, { dependsOn: a.id, schedule: null }) }),
    ]);
    expect([ra.status, rb.status].sort()).toEqual([200, 400]);
    const loser = ra.status === 400 ? ra : rb;
    expect((await json(loser)).error.details).toEqual([{ path: "dependsOn", message: expect.stringMatching(/loops/) }]);
    // Stored state has one edge, in KV and in the schedule index alike.
    const stored = [await getJob(env, w.tenant, a.id), await getJob(env, w.tenant, b.id)].map((j) => j!.dependsOn);
    expect(stored.filter(Boolean)).toHaveLength(1);
    const index = await env.DATA.prepare("SELECT job_id, depends_on FROM schedule_index WHERE tenant = ? ORDER BY job_id")
      .bind(w.tenant)
      .all<{ job_id: string; depends_on: string | null }>();
    expect(index.results.filter((r) => r.depends_on)).toHaveLength(1);
  });

  it("the jobs store itself refuses an edge that closes a loop (whatever validation saw), and stores nothing", async () => {
    const w = await world();
    const a = await json(await call("POST", "/api/v1/jobs", { token: w.admin, body: good(w.conn.id) }));
    const b = await json(await call("POST", "/api/v1/jobs", { token: w.admin, body: good(w.conn.id, { dependsOn: a.id, schedule: null }) }));
    const c = await json(await call("POST", "/api/v1/jobs", { token: w.admin, body: good(w.conn.id, { dependsOn: b.id, schedule: null }) }));
    const storedA = await env.CONFIG.get(`t/${w.tenant}/job/${a.id}`);
    // A → C closes A → C → B → A; validation is bypassed (as when two saves race past it).
    await expect(putJob(env, w.tenant, { ...(await getJob(env, w.tenant, a.id))!, dependsOn: c.id })).rejects.toMatchObject({
      code: "validation_failed",
      details: [{ path: "dependsOn" }],
    });
    await expect(putJob(env, w.tenant, { ...(await getJob(env, w.tenant, a.id))!, dependsOn: a.id })).rejects.toMatchObject({ code: "validation_failed" });
    expect(await env.CONFIG.get(`t/${w.tenant}/job/${a.id}`)).toBe(storedA);
    const row = await env.DATA.prepare("SELECT depends_on FROM schedule_index WHERE tenant = ? AND job_id = ?")
      .bind(w.tenant, a.id)
      .first<{ depends_on: string | null }>();
    expect(row!.depends_on).toBeNull();
    // An edge that closes nothing, and re-saving a job with its parent unchanged, still go through.
    await putJob(env, w.tenant, { ...(await getJob(env, w.tenant, c.id))!, enabled: false });
    expect((await getJob(env, w.tenant, c.id))!.enabled).toBe(false);
  });
});

/** A tenant's standard objects are created on its first touch of objects (by any read): do that before a snapshot. */
const settled = async (w: { viewer: string }) => expect((await call("GET", "/api/v1/objects", { token: w.viewer })).status).toBe(200);

describe("jobs: preview of an unsaved draft (POST /jobs/preview)", () => {
  it("refuses a draft with the same details create gives, and stores nothing", async () => {
    const w = await world();
    const bad = good(w.conn.id, {
      identifiers: [],
      mappings: [
        { source: "name", target: "Name" },
        { source: "name", target: "Employees" },
      ],
    });
    await settled(w);
    const before = await tenantStorage(w.tenant);
    const preview = await expectError(
      await call("POST", "/api/v1/jobs/preview", { token: w.admin, headers: { "X-Dynamics-Token": "dyn" }, body: bad }),
      400,
      "validation_failed",
    );
    expect(await tenantStorage(w.tenant)).toEqual(before);
    const create = await expectError(await call("POST", "/api/v1/jobs", { token: w.admin, body: bad }), 400, "validation_failed");
    expect(preview.details).toEqual(create.details);
    expect(preview.details!.map((d) => d.path)).toEqual(expect.arrayContaining(["identifiers", "mappings.1.target"]));
  });

  it("is not read as a job id: a valid draft without a Dynamics token asks for one, and nothing is stored", async () => {
    const w = await world();
    await settled(w);
    const before = await tenantStorage(w.tenant);
    await expectError(await call("POST", "/api/v1/jobs/preview", { token: w.admin, body: good(w.conn.id) }), 401, "dynamics_token_missing");
    expect(await tenantStorage(w.tenant)).toEqual(before);
    expect(await json<any[]>(await call("GET", "/api/v1/jobs", { token: w.admin }))).toHaveLength(0);
  });

  it("is for admins only", async () => {
    const w = await world();
    await expectError(
      await call("POST", "/api/v1/jobs/preview", { token: w.viewer, headers: { "X-Dynamics-Token": "dyn" }, body: good(w.conn.id) }),
      403,
      "forbidden",
    );
  });
});
