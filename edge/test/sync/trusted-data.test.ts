/**
 * Data you can trust, against the sandbox (issue 13, items 1–3). One file on purpose: the tests change contoso-copy's
 * rows and must not interleave.
 * - CompanyPerson holds exactly the contacts whose Customer lookup points at a synced account (not at a contact, not
 *   empty);
 * - a sandbox copied from production (contoso-copy: same GUIDs, another OrganizationId) synced into the same host
 *   tenant leaves production's records as they were, keeps both, and links each org's records within that org;
 * - tables and rows from before records carried their organization are migrated and adopted row by row;
 * - fields through lookups stay fresh when only the looked-up records change, and a job with such fields keeps change
 *   tracking (and so sees deletes).
 */
import { env } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import type { Job } from "#contract/job";
import type { TargetObject } from "#contract/object";
import { buildBuiltInJobs } from "../../src/stores/builtin-jobs";
import { putConnection } from "../../src/stores/connections";
import { putJob } from "../../src/stores/jobs";
import { fieldColumn, objectTable, objectTableName, orgKey, tenantKey } from "../../src/stores/object-tables";
import { ensureObjectTable, uniqueIndexName } from "../../src/stores/objects";
import { listRecords } from "../../src/stores/records";
import { preparePage } from "../../src/sync/writer";
import { adminUserId, control, runToEnd, sandbox, sourceRows, type SandboxOrg } from "./helpers";

const LLN = "@Microsoft.Dynamics.CRM.lookuplogicalname";
const orgOf = (key: string): SandboxOrg => {
  const o = sandbox?.orgs.find((x) => x.key === key);
  if (!o) throw new Error(`sandbox org ${key} missing`);
  return o;
};

/** An authorized connection of `tenant` to `o` (as its admin's authorize leaves it) and its out-of-the-box jobs, stored unchained. */
async function connectWithBuiltIns(tenant: string, o: SandboxOrg): Promise<Record<NonNullable<Job["builtIn"]>, Job>> {
  const now = new Date().toISOString();
  const id = `conn_${crypto.randomUUID().slice(0, 8)}`;
  // A copy has its source's users (same GUIDs): contoso's admin is contoso-copy's admin.
  const userId = await adminUserId({ ...o, key: o.key.replace(/-copy$/, "") });
  const grant = (e: string) => [e, { privilege: `prvRead${e}`, depth: "Global" as const }];
  await putConnection(env, {
    id,
    tenant,
    name: o.key,
    orgUrl: o.url,
    status: "authorized",
    tenantId: o.tenantId,
    organizationId: o.organizationId,
    createdAt: now,
    updatedAt: now,
    authorizedBy: { userId, upn: `admin@${o.key}.example` },
    readScope: { userId, checkedAt: now, tables: Object.fromEntries(["account", "contact", "systemuser"].map(grant)) },
  });
  await env.DATA.prepare(
    "INSERT INTO org_claims (organization_id, tenant, claimed_at, claimed_by) VALUES (?, ?, ?, 'test') ON CONFLICT (organization_id) DO UPDATE SET tenant = excluded.tenant",
  )
    .bind(o.organizationId.toLowerCase(), tenant, now)
    .run();
  // Not chained: the test runs each job itself, in the chain's order.
  const jobs = buildBuiltInJobs(id, new Map(), now).map((j) => ({ ...j, dependsOn: null }));
  for (const j of jobs) await putJob(env, tenant, j);
  return Object.fromEntries(jobs.map((j) => [j.builtIn!, j])) as Record<NonNullable<Job["builtIn"]>, Job>;
}

async function run(tenant: string, o: SandboxOrg, job: Job) {
  const r = await runToEnd({ tenant, job, orgInfo: o });
  expect(r.error_message).toBeNull();
  expect(r.status).toBe("succeeded");
  return r;
}

/** Every row of a target table with its system columns (`_id`, `_org`, `_updated_at`) and the named fields. */
async function rows(tenant: string, object: string, fields: string[]): Promise<Array<Record<string, unknown>>> {
  const cols = fields.map((n) => `${fieldColumn(n)} AS "${n}"`).join(", ");
  const { results } = await env.DATA.prepare(
    `SELECT _id, _org, _updated_at, ${cols} FROM ${await objectTable(tenant, object)} ORDER BY _org, f_DynamicsId`,
  ).all<Record<string, unknown>>();
  return results;
}

afterAll(async () => {
  if (sandbox) await control(orgOf("contoso-copy"), "POST", "reset");
});

describe.skipIf(!sandbox)("out-of-the-box CompanyPerson", () => {
  it.each([
    ["as created now", false],
    ["as stored before lookups had onEmpty", true],
  ])(
    "holds exactly the contacts whose company is an account: none with an empty Customer lookup or one pointing at a contact (%s)",
    async (_, storedBefore) => {
      const o = orgOf("contoso");
      const tenant = `t-${crypto.randomUUID()}`;
      const jobs = await connectWithBuiltIns(tenant, o);
      if (storedBefore) {
        jobs.company_person = { ...jobs.company_person, lookups: jobs.company_person.lookups.map(({ onEmpty: _e, ...l }) => l as Job["lookups"][number]) };
        await putJob(env, tenant, jobs.company_person);
      }
      await run(tenant, o, jobs.company);
      await run(tenant, o, jobs.person);
      const cp = await run(tenant, o, jobs.company_person);

      const contacts = await sourceRows(o, "contacts", "contactid,_parentcustomerid_value");
      const byKind = { account: 0, contact: 0, none: 0 };
      for (const c of contacts) byKind[c._parentcustomerid_value ? (c[`_parentcustomerid_value${LLN}`] as "account" | "contact") : "none"]++;
      // The sandbox has all three kinds, as a real org does.
      expect(byKind.account).toBeGreaterThan(0);
      expect(byKind.contact).toBeGreaterThan(0);
      expect(byKind.none).toBeGreaterThan(0);

      const expected = contacts
        .filter((c) => c[`_parentcustomerid_value${LLN}`] === "account")
        .map((c) => String(c.contactid).toLowerCase())
        .sort();
      const got = await rows(tenant, "CompanyPerson", ["DynamicsId", "CompanyId", "PersonId"]);
      expect(got.map((r) => r.DynamicsId)).toEqual(expected);
      expect(got.every((r) => r.CompanyId !== null && r.PersonId !== null)).toBe(true);
      // Skipped: the contacts without a company, whichever way.
      expect(cp.skipped_count).toBe(byKind.contact + byKind.none);
      expect(cp.inserted_count).toBe(expected.length);
    },
  );
});

describe.skipIf(!sandbox)("a sandbox copy of production in the same host tenant", () => {
  it("keeps production's records as they were, adds the copy's beside them, and links each org's records within the org", async () => {
    const prod = orgOf("contoso");
    const copy = orgOf("contoso-copy");
    expect(copy.organizationId).not.toBe(prod.organizationId);
    const tenant = `t-${crypto.randomUUID()}`;
    const prodJobs = await connectWithBuiltIns(tenant, prod);
    await run(tenant, prod, prodJobs.company);
    await run(tenant, prod, prodJobs.person);
    const companiesBefore = await rows(tenant, "Company", ["DynamicsId", "Name", "City", "ParentCompanyId"]);
    const peopleBefore = await rows(tenant, "Person", ["DynamicsId", "FullName", "CompanyId"]);
    expect(companiesBefore.length).toBeGreaterThan(0);

    // The copy lives on: some of its accounts are renamed there (production keeps the old names).
    const accounts = await sourceRows(copy, "accounts", "accountid,name");
    const renamed = accounts.slice(0, 25);
    for (const a of renamed) await control(copy, "PATCH", `rows/account/${a.accountid}`, { name: `${a.name} (UAT)` });

    const copyJobs = await connectWithBuiltIns(tenant, copy);
    const companyRun = await run(tenant, copy, copyJobs.company);
    await run(tenant, copy, copyJobs.person);
    expect(companyRun.inserted_count).toBe(accounts.length);
    expect(companyRun.updated_count).toBe(0);

    const companies = await rows(tenant, "Company", ["DynamicsId", "Name", "City", "ParentCompanyId"]);
    const people = await rows(tenant, "Person", ["DynamicsId", "FullName", "CompanyId"]);
    const P = orgKey(prod.organizationId);
    const C = orgKey(copy.organizationId);
    // Production's rows: exactly as before (no write touched them).
    expect(companies.filter((r) => r._org === P)).toEqual(companiesBefore);
    expect(people.filter((r) => r._org === P)).toEqual(peopleBefore);
    // The copy's rows beside them, same GUIDs, its own names.
    const copyCompanies = companies.filter((r) => r._org === C);
    expect(copyCompanies.map((r) => r.DynamicsId)).toEqual(companiesBefore.map((r) => r.DynamicsId));
    const renamedIds = new Set(renamed.map((a) => String(a.accountid).toLowerCase()));
    for (const r of copyCompanies) if (renamedIds.has(String(r.DynamicsId))) expect(r.Name).toMatch(/ \(UAT\)$/);
    expect(companies.filter((r) => r._org === P && String(r.Name).endsWith("(UAT)"))).toEqual([]);
    // Lookups resolve within the org: every reference points at a record of the same organization.
    const orgOfId = new Map(companies.map((r) => [r._id, r._org]));
    for (const p of people) if (p.CompanyId !== null) expect(orgOfId.get(p.CompanyId)).toBe(p._org);
    for (const c of companies) if (c.ParentCompanyId !== null) expect(orgOfId.get(c.ParentCompanyId)).toBe(c._org);
    expect(people.filter((r) => r._org === C && r.CompanyId !== null).length).toBe(peopleBefore.filter((r) => r.CompanyId !== null).length);

    // The records API tells the two apart.
    const company = (await import("../../src/stores/objects")).getObject;
    const obj = (await company(env, tenant, "Company"))!;
    const page = await listRecords(env, tenant, obj, {
      limit: 500,
      filters: [{ field: "DynamicsId", op: "eq", value: String(renamed[0]!.accountid) }],
      includeDeleted: false,
    });
    expect(page.items.map((i) => [i.organizationId, i.fields.Name]).sort()).toEqual(
      [
        [P, renamed[0]!.name],
        [C, `${renamed[0]!.name} (UAT)`],
      ].sort(),
    );
  });
});

describe("target tables from before records carried their organization", () => {
  const object: TargetObject = {
    name: "Legacy",
    label: "Legacy",
    standard: false,
    createdAt: "",
    fields: [
      { name: "DynamicsId", label: "DynamicsId", type: "id", required: true, unique: true },
      { name: "Name", label: "Name", type: "string", required: false },
    ],
  };
  const job = {
    id: "j",
    connectionId: "c",
    name: "j",
    enabled: true,
    source: { entity: "cr_thing", filter: null },
    target: { object: "Legacy" },
    mode: "upsert",
    deletes: "soft",
    identifiers: [{ source: "cr_thingid", target: "DynamicsId" }],
    mappings: [{ source: "cr_name", target: "Name", use: "value" }],
    lookups: [],
    schedule: null,
    dependsOn: null,
    notify: { onSuccess: [], onPartial: [], onFailure: [], webhook: null },
    createdAt: "",
    updatedAt: "",
  } as Job;
  const attributes = [
    { logicalName: "cr_thingid", type: "Uniqueidentifier", displayName: "Id" },
    { logicalName: "cr_name", type: "String", displayName: "Name" },
  ] as never;
  const A = "00000000-0000-4000-8000-00000000000a";
  const B = "00000000-0000-4000-8000-00000000000b";
  const id1 = "00000000-0000-4000-8000-000000000001";
  const id2 = "00000000-0000-4000-8000-000000000002";

  it("are migrated (the _org column, per-org unique indexes) and their rows adopted row by row by the org that writes them", async () => {
    const tenant = `t-${crypto.randomUUID()}`;
    const table = await objectTable(tenant, object.name);
    const tkey = await tenantKey(tenant);
    // The table as it was made before: no _org, a field-only unique index, two rows.
    await env.DATA.batch([
      env.DATA.prepare(
        `CREATE TABLE ${table} (_id TEXT PRIMARY KEY, _created_at TEXT NOT NULL, _updated_at TEXT NOT NULL, _deleted INTEGER NOT NULL DEFAULT 0, "f_DynamicsId" TEXT, "f_Name" TEXT)`,
      ),
      env.DATA.prepare(`CREATE UNIQUE INDEX "ux_${tkey}_legacy$dynamicsid" ON ${table} ("f_DynamicsId")`),
      env.DATA.prepare(
        `INSERT INTO ${table} (_id, _created_at, _updated_at, "f_DynamicsId", "f_Name") VALUES ('r1', 't', 't', '${id1}', 'one'), ('r2', 't', 't', '${id2}', 'two')`,
      ),
    ]);
    await ensureObjectTable(env, tenant, object);
    const indexes = await env.DATA.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?")
      .bind(await objectTableName(tenant, object.name))
      .all<{ name: string }>();
    expect(indexes.results.map((r) => r.name).filter((n) => n.startsWith("ux_"))).toEqual([uniqueIndexName(tkey, "Legacy", "DynamicsId")]);

    const write = async (org: string, names: Record<string, string>) => {
      const page = await preparePage(env, {
        tenant,
        org,
        job,
        object,
        lookupObjects: new Map(),
        attributes,
        rows: Object.entries(names).map(([cr_thingid, cr_name]) => ({ cr_thingid, cr_name })),
        deletedIds: [],
      });
      await env.DATA.batch(page.statements);
      return page.counts;
    };
    // Org A still has record 1: its write adopts the legacy row (same _id), it is not duplicated.
    expect(await write(A, { [id1]: "one (A)" })).toMatchObject({ inserted: 0, updated: 1 });
    // Org B has both: record 1 is A's now, so B gets its own; the legacy row 2 is adopted by B.
    expect(await write(B, { [id1]: "one (B)", [id2]: "two (B)" })).toMatchObject({ inserted: 1, updated: 1 });
    const all = await env.DATA.prepare(`SELECT _id, _org, "f_DynamicsId" AS k, "f_Name" AS name FROM ${table} ORDER BY k, _org`).all();
    expect(all.results).toEqual([
      { _id: "r1", _org: A, k: id1, name: "one (A)" },
      { _id: expect.any(String), _org: B, k: id1, name: "one (B)" },
      { _id: "r2", _org: B, k: id2, name: "two (B)" },
    ]);
  });
});

describe.skipIf(!sandbox)("fields through lookups (contact → parentcustomerid → account.name)", () => {
  const CONTACT_FIELDS: TargetObject["fields"] = [
    { name: "DynamicsId", label: "Id", type: "id", required: true, unique: true },
    { name: "FullName", label: "Name", type: "string", required: false },
    { name: "CompanyName", label: "Company", type: "string", required: false },
  ];
  /** A job into a custom object reading contoso-copy's contacts, the company name through the Customer lookup. */
  async function companyNameJob() {
    const copy = orgOf("contoso-copy");
    await control(copy, "POST", "reset");
    const tenant = `t-${crypto.randomUUID()}`;
    const jobs = await connectWithBuiltIns(tenant, copy);
    const { getObject, createObject } = await import("../../src/stores/objects");
    if (!(await getObject(env, tenant, "Contact"))) await createObject(env, tenant, { name: "Contact", label: "Contact", fields: CONTACT_FIELDS });
    const job: Job = {
      ...jobs.person,
      id: `job_${crypto.randomUUID().slice(0, 8)}`,
      name: "contacts with their company name",
      builtIn: undefined,
      target: { object: "Contact" },
      mappings: [
        { source: "fullname", target: "FullName", use: "value" },
        { source: "parentcustomerid", target: "CompanyName", use: "value", via: { entity: "account", attribute: "name" } },
      ],
      lookups: [],
      schedule: null,
    };
    await putJob(env, tenant, job);
    return { tenant, job, orgInfo: copy };
  }
  /** Contact id → the name of the account its Customer lookup points at (null: no account), as the source has it now. */
  async function expectedCompanyNames(o: SandboxOrg): Promise<Map<string, string | null>> {
    const accounts = new Map((await sourceRows(o, "accounts", "accountid,name")).map((a) => [String(a.accountid), String(a.name)]));
    return new Map(
      (await sourceRows(o, "contacts", "contactid,_parentcustomerid_value")).map((c) => [
        String(c.contactid),
        c[`_parentcustomerid_value${LLN}`] === "account" ? (accounts.get(String(c._parentcustomerid_value)) ?? null) : null,
      ]),
    );
  }
  async function companyNames(tenant: string): Promise<Map<string, string | null>> {
    return new Map((await rows(tenant, "Contact", ["DynamicsId", "CompanyName"])).map((r) => [String(r.DynamicsId), (r.CompanyName as string | null) ?? null]));
  }

  it("keeps change tracking, and after only accounts are renamed the next run re-reads and re-maps exactly their contacts", async () => {
    const fx = await companyNameJob();
    const first = await runToEnd(fx, { pageSize: 1000 });
    expect(first.error_message).toBeNull();
    expect(first).toMatchObject({ status: "succeeded", strategy: "full" });
    expect(await companyNames(fx.tenant)).toEqual(await expectedCompanyNames(fx.orgInfo));
    const state = await env.DATA.prepare("SELECT strategy FROM sync_state WHERE tenant = ? AND job_id = ?")
      .bind(fx.tenant, fx.job.id)
      .first<{ strategy: string }>();
    expect(state?.strategy).toBe("delta");

    // Only accounts change: 12 accounts that contacts point at are renamed.
    const contacts = await sourceRows(fx.orgInfo, "contacts", "contactid,_parentcustomerid_value");
    const referenced = [...new Set(contacts.filter((c) => c[`_parentcustomerid_value${LLN}`] === "account").map((c) => String(c._parentcustomerid_value)))];
    const renamed = new Set(referenced.slice(0, 12));
    for (const id of renamed) await control(fx.orgInfo, "PATCH", `rows/account/${id}`, { name: `Renamed ${id.slice(0, 8)}` });
    const affected = contacts.filter((c) => c[`_parentcustomerid_value${LLN}`] === "account" && renamed.has(String(c._parentcustomerid_value)));
    expect(affected.length).toBeGreaterThan(12);

    const second = await runToEnd(fx, { pageSize: 1000 });
    expect(second.error_message).toBeNull();
    expect(second).toMatchObject({ status: "succeeded", strategy: "delta", read_count: affected.length, updated_count: affected.length, inserted_count: 0 });
    expect(JSON.parse(second.notes)).toContainEqual(`freshness: re-read ${affected.length} contact rows whose account changed since the last run`);
    expect(await companyNames(fx.tenant)).toEqual(await expectedCompanyNames(fx.orgInfo));

    // Nothing changed since: no re-read at all.
    const third = await runToEnd(fx, { pageSize: 1000 });
    expect(third).toMatchObject({ status: "succeeded", strategy: "delta", read_count: 0 });
  });

  it("sees a deleted contact through change tracking (the job reads its looked-up fields separately)", async () => {
    const fx = await companyNameJob();
    const first = await runToEnd(fx, { pageSize: 1000 });
    expect(first.status).toBe("succeeded");
    const [gone] = await sourceRows(fx.orgInfo, "contacts", "contactid");
    await control(fx.orgInfo, "DELETE", `rows/contact/${gone!.contactid}`);
    const second = await runToEnd(fx, { pageSize: 1000 });
    expect(second).toMatchObject({ status: "succeeded", strategy: "delta", deleted_count: 1 });
    const row = await env.DATA.prepare(`SELECT _deleted FROM ${await objectTable(fx.tenant, "Contact")} WHERE f_DynamicsId = ?`)
      .bind(String(gone!.contactid))
      .first<{ _deleted: number }>();
    expect(row?._deleted).toBe(1);
  });
});
