/** Fixtures for sync tests against the sandbox: a fresh host tenant per test, a connection, a job, and readers. */
import { env } from "cloudflare:test";
import type { Job } from "#contract/job";
import type { ObjectField } from "#contract/object";
import { dataverseJson, getAppToken, ODataPage } from "../../src/dataverse/client";
import { tablesReadBy } from "../../src/connections/read-scope";
import { putConnection } from "../../src/stores/connections";
import { userToken } from "../dynamics.helpers";
import { putJob } from "../../src/stores/jobs";
import { createObject, getObject } from "../../src/stores/objects";
import { fieldColumn, objectTable } from "../../src/stores/object-tables";
import { runSlice, type SliceOptions } from "../../src/sync/engine";
import { createRun, getRunRow, type RunRow } from "../../src/stores/runs";

export interface SandboxOrg {
  key: string;
  url: string;
  tenantId: string;
  organizationId: string;
}
export const sandbox: { orgs: SandboxOrg[] } | null = env.SANDBOX ? JSON.parse(env.SANDBOX) : null;
/**
 * contoso-shards: a copy of contoso whose projects only edge/test/shards.test.ts changes; contoso-partitions: one whose
 * projects and settings only edge/test/sync/partitions.test.ts changes (global-setup.ts).
 */
export type OrgKey = "contoso" | "fabrikam" | "contoso-shards" | "contoso-partitions";
export const org = (key: OrgKey): SandboxOrg => {
  const o = sandbox?.orgs.find((x) => x.key === key);
  if (!o) throw new Error(`sandbox org ${key} missing`);
  return o;
};

export async function control(o: SandboxOrg, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${o.url}/_sandbox/${path}`, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`sandbox ${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const f = (name: string, type: ObjectField["type"], extra: Partial<ObjectField> = {}): ObjectField => ({ name, label: name, type, required: false, ...extra });
export const PROJECT_FIELDS: ObjectField[] = [
  f("DynamicsId", "id", { required: true, unique: true }),
  f("Name", "string"),
  f("Stage", "string"),
  f("Tags", "string_list"),
  f("Budget", "currency"),
  f("DueDate", "date"),
  f("Hours", "integer"),
  f("Billable", "boolean"),
  f("AccountDynamicsId", "id"),
];
export const PROJECT_MAPPINGS: Job["mappings"] = [
  { source: "cr123_name", target: "Name", use: "value" },
  { source: "cr123_stage", target: "Stage", use: "label" },
  { source: "cr123_tags", target: "Tags", use: "label" },
  { source: "cr123_budget", target: "Budget", use: "value" },
  { source: "cr123_duedate", target: "DueDate", use: "value" },
  { source: "cr123_hours", target: "Hours", use: "value" },
  { source: "cr123_billable", target: "Billable", use: "value" },
  { source: "cr123_accountid", target: "AccountDynamicsId", use: "value" },
];

export interface Fixture {
  tenant: string;
  job: Job;
  orgInfo: SandboxOrg;
}

/** The org's admin: a copy (contoso-shards) shares its source org's users (same Entra tenant). */
const adminUpn = (key: string): string => `admin@${key.replace(/-.*$/, "")}.example`;

/** The org admin's systemuser id, from WhoAmI with their delegated token. */
export async function adminUserId(o: SandboxOrg): Promise<string> {
  const token = await userToken(adminUpn(o.key), o.url);
  return (await dataverseJson<{ UserId: string }>(o.url, "WhoAmI", { token })).UserId;
}

/** A fresh tenant with an authorized connection to `orgKey`, the target object, and the job (stored through the jobs store). */
export async function fixture(orgKey: OrgKey, jobOver: Partial<Job> & { object?: { name: string; fields: ObjectField[] } }): Promise<Fixture> {
  const o = org(orgKey);
  const tenant = `t-${crypto.randomUUID()}`;
  const now = new Date().toISOString();
  const connId = `conn_${crypto.randomUUID().slice(0, 8)}`;
  const { object, ...over } = jobOver;
  // As an authorize by the org's admin leaves it: the admin's Organization-wide read of every table the job reads proven.
  const entity = over.source?.entity ?? "cr123_project";
  const readTables = tablesReadBy({ source: { entity, filter: null }, mappings: over.mappings ?? PROJECT_MAPPINGS }).map((t) => t.entity);
  const adminId = await adminUserId(o);
  await putConnection(env, {
    id: connId,
    tenant,
    name: orgKey,
    orgUrl: o.url,
    status: "authorized",
    tenantId: o.tenantId,
    organizationId: o.organizationId,
    createdAt: now,
    updatedAt: now,
    authorizedBy: { userId: adminId, upn: adminUpn(orgKey) },
    readScope: { userId: adminId, checkedAt: now, tables: Object.fromEntries(readTables.map((t) => [t, { privilege: `prvRead${t}`, depth: "Global" }])) },
  });
  // …and the organization claimed for this tenant, as that authorize would have claimed it. Taken over from an earlier
  // test's tenant: runs that test left in a Durable Object then stop at their next gate instead of racing this test.
  await env.DATA.prepare(
    "INSERT INTO org_claims (organization_id, tenant, claimed_at, claimed_by) VALUES (?, ?, ?, 'test') ON CONFLICT (organization_id) DO UPDATE SET tenant = excluded.tenant",
  )
    .bind(o.organizationId.toLowerCase(), tenant, now)
    .run();
  if (object && !(await getObject(env, tenant, object.name))) await createObject(env, tenant, { name: object.name, label: object.name, fields: object.fields });
  const job: Job = {
    id: `job_${crypto.randomUUID().slice(0, 8)}`,
    connectionId: connId,
    name: "test job",
    enabled: true,
    source: { entity: "cr123_project", filter: null },
    target: { object: object?.name ?? "Project" },
    mode: "upsert",
    deletes: "soft",
    identifiers: [{ source: "cr123_projectid", target: "DynamicsId" }],
    mappings: PROJECT_MAPPINGS,
    lookups: [],
    schedule: null,
    dependsOn: null,
    notify: { onSuccess: [], onPartial: [], onFailure: [], webhook: null },
    createdAt: now,
    updatedAt: now,
    ...over,
  };
  await putJob(env, tenant, job);
  return { tenant, job, orgInfo: o };
}

/** Runs a job to its end in-process (the same runSlice the Durable Object calls), slice by slice. */
export async function runToEnd(fx: Fixture, opts: SliceOptions = {}, trigger: "manual" | "schedule" = "manual"): Promise<RunRow> {
  const run = await createRun(env, fx.tenant, fx.job.id, trigger);
  const ref = { tenant: fx.tenant, jobId: fx.job.id, runId: run.id };
  for (let i = 0; i < 500; i++) {
    const r = await runSlice(env, ref, opts);
    if (r.kind === "done") break;
    if (r.kind === "wait") await new Promise((res) => setTimeout(res, Math.min(r.ms, 1500)));
  }
  return (await getRunRow(env, fx.tenant, run.id))!;
}

/** Every row of an entity set straight from the sandbox (the expectation side). */
export async function sourceRows(o: SandboxOrg, entitySet: string, select: string): Promise<Array<Record<string, unknown>>> {
  const token = await getAppToken(env, o.tenantId, o.url);
  const out: Array<Record<string, unknown>> = [];
  let path: string | undefined = `${entitySet}?$select=${select}`;
  while (path) {
    const page: ODataPage = await dataverseJson(o.url, path, { token, prefer: ["odata.maxpagesize=5000", 'odata.include-annotations="*"'] }, ODataPage);
    out.push(...page.value);
    path = page["@odata.nextLink"];
  }
  return out;
}

/** Target rows (non-system columns by field name + _deleted), ordered by DynamicsId. */
export async function targetRows(tenant: string, objectName: string, fields: string[]): Promise<Array<Record<string, unknown>>> {
  const table = await objectTable(tenant, objectName);
  const cols = fields.map((n) => `${fieldColumn(n)} AS "${n}"`).join(", ");
  const { results } = await env.DATA.prepare(`SELECT ${cols}, _deleted FROM ${table} ORDER BY f_DynamicsId`).all<Record<string, unknown>>();
  return results;
}

export async function countRows(tenant: string, objectName: string): Promise<number> {
  const table = await objectTable(tenant, objectName);
  return (await env.DATA.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n;
}

const FORMATTED = "@OData.Community.Display.V1.FormattedValue";

/** An org's live projects from the sandbox, as a Project target should hold them (active rows only, by DynamicsId). */
export async function sandboxProjects(orgKey: OrgKey): Promise<Array<Record<string, unknown>>> {
  const src = await sourceRows(org(orgKey), "cr123_projects", "cr123_projectid,cr123_name,cr123_hours,cr123_billable,cr123_stage,_cr123_accountid_value");
  return src
    .map((r) => ({
      DynamicsId: String(r.cr123_projectid).toLowerCase(),
      Name: r.cr123_name ?? null,
      Hours: r.cr123_hours ?? null,
      Billable: r.cr123_billable === null || r.cr123_billable === undefined ? null : r.cr123_billable ? 1 : 0,
      Stage: r[`cr123_stage${FORMATTED}`] ?? null,
      AccountDynamicsId: r._cr123_accountid_value ?? null,
    }))
    .sort((a, b) => (a.DynamicsId < b.DynamicsId ? -1 : 1));
}

/** The fixture's Project target as sandboxProjects shows the source: live rows, the same columns. */
export async function liveTarget(fx: Fixture): Promise<Array<Record<string, unknown>>> {
  const rows = await targetRows(fx.tenant, "Project", ["DynamicsId", "Name", "Hours", "Billable", "Stage", "AccountDynamicsId"]);
  return rows.filter((r) => r._deleted === 0).map(({ _deleted, ...r }) => r);
}
