/**
 * Least privilege: a sync never copies more than its authorizer may read. The authorizing user's read depth per table
 * is proven at authorize (readiness), at job save, and again at every run start with the app token.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { getConnection } from "../../src/stores/connections";
import { getJob, putJob } from "../../src/stores/jobs";
import { actors, call, createConnection, expectError, json, sandbox } from "../helpers";
import { org, userToken } from "../dynamics.helpers";
import { runToEnd } from "../sync/helpers";

const sb = sandbox();
const BASIC = "basic@contoso.example";

async function setDepth(principal: string, entity: string, depth: string): Promise<void> {
  const res = await fetch(`${org("contoso").url}/_sandbox/privileges`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ principal, entity, depth }),
  });
  if (!res.ok) throw new Error(`sandbox privileges: ${res.status} ${await res.text()}`);
}

async function authorizedAs(upn: string) {
  const act = await actors();
  const conn = await createConnection(act.admin, org("contoso").url, "Contoso");
  const token = await userToken(upn, org("contoso").url);
  const res = await call("POST", `/api/v1/connections/${conn.id}/authorize`, { token: act.admin, body: { accessToken: token } });
  expect(res.status).toBe(200);
  return { ...act, conn, token, body: await json(res) };
}

describe.skipIf(!sb)("least privilege", () => {
  afterEach(async () => {
    await setDepth(BASIC, "contact", "Basic");
    await setDepth(BASIC, "account", "Global");
  });

  it("a user with Basic (user-level) read on contact: readiness names prvReadContact and the depth, and the connection is not ready", async () => {
    const { body } = await authorizedAs(BASIC);
    const check = body.readiness.checks.find((c: { id: string }) => c.id === "privilege:contact");
    expect(check).toMatchObject({ ok: false, required: true, severity: "error" });
    expect(check.label).toContain("prvReadContact: User (Basic)");
    expect(check.fix).toContain("Organization-level Read");
    expect(body.readiness.checks.find((c: { id: string }) => c.id === "privilege:account")).toMatchObject({ ok: true });
    expect(body.readiness.ready).toBe(false);
    expect(body.status).toBe("needs_attention");
    expect(body.readScope).toMatchObject({ tables: { contact: { privilege: "prvReadContact", depth: "Basic" }, account: { depth: "Global" } } });
  });

  it("the admin with Organization read passes every privilege check", async () => {
    const { body } = await authorizedAs("admin@contoso.example");
    const privileges = body.readiness.checks.filter((c: { id: string }) => c.id.startsWith("privilege:"));
    expect(privileges.length).toBeGreaterThanOrEqual(3);
    expect(privileges.every((c: { ok: boolean }) => c.ok)).toBe(true);
  });

  it("a background run of a job on a table read at Basic depth fails with insufficient_privilege before reading a record", async () => {
    const { tenant, admin, conn } = await authorizedAs(BASIC);
    const jobs = await json<Array<{ id: string; builtIn?: string; source: { entity: string } }>>(
      await call("GET", `/api/v1/jobs?connectionId=${conn.id}`, { token: admin }),
    );
    const person = jobs.find((j) => j.builtIn === "person")!;
    const run = await runToEnd({ tenant, job: (await getJob(env, tenant, person.id))!, orgInfo: org("contoso") });
    expect(run.status).toBe("failed");
    expect(run.error_code).toBe("insufficient_privilege");
    expect(run.error_message).toContain("prvReadContact: User (Basic)");
    expect(run.pages).toBe(0);
    expect(run.read_count).toBe(0);
  });

  it("saving or enabling a job on a table the authorizing user reads at Basic depth is refused on source.entity", async () => {
    const { admin, conn, token } = await authorizedAs(BASIC);
    const jobs = await json<Array<Record<string, unknown> & { id: string; builtIn?: string }>>(
      await call("GET", `/api/v1/jobs?connectionId=${conn.id}`, { token: admin }),
    );
    const { id, createdAt: _c, updatedAt: _u, builtIn: _b, lastRun: _l, ...person } = jobs.find((j) => j.builtIn === "person")!;
    const err = await expectError(
      await call("PUT", `/api/v1/jobs/${id}`, { token: admin, body: { ...person, enabled: true }, headers: { "X-Dynamics-Token": token } }),
      400,
      "validation_failed",
    );
    expect(err.details).toEqual([expect.objectContaining({ path: "source.entity" })]);
    expect(err.details![0]!.message).toContain("prvReadContact");
    // Disabled, it may be kept.
    expect((await call("PUT", `/api/v1/jobs/${id}`, { token: admin, body: { ...person, enabled: false } })).status).toBe(200);
  });

  it("a field read through a lookup counts as a read of its table: save refused on the mapping, run refused before a record", async () => {
    // basic@ reads account Organization-wide but contact only at Basic depth: a Company field through primarycontactid
    // would copy every account's primary contact name, contacts this user may not read.
    const { tenant, admin, conn, token } = await authorizedAs(BASIC);
    const jobs = await json<Array<Record<string, unknown> & { id: string; builtIn?: string; mappings: Array<Record<string, unknown>> }>>(
      await call("GET", `/api/v1/jobs?connectionId=${conn.id}`, { token: admin }),
    );
    const { id, createdAt: _c, updatedAt: _u, builtIn: _b, lastRun: _l, ...company } = jobs.find((j) => j.builtIn === "company")!;
    const viaContact = { source: "primarycontactid", target: "Description", use: "value", via: { entity: "contact", attribute: "fullname" } };
    const mappings = [...company.mappings.filter((m) => m.target !== "Description"), viaContact];
    const err = await expectError(
      await call("PUT", `/api/v1/jobs/${id}`, { token: admin, body: { ...company, mappings }, headers: { "X-Dynamics-Token": token } }),
      400,
      "validation_failed",
    );
    expect(err.details).toEqual([expect.objectContaining({ path: `mappings.${mappings.length - 1}.via.entity` })]);
    expect(err.details![0]!.message).toContain("prvReadContact");

    // Stored past the API (as a job saved before this check existed): its run reads nothing.
    const stored = (await getJob(env, tenant, id))!;
    await putJob(env, tenant, {
      ...stored,
      mappings: [...stored.mappings.filter((m) => m.target !== "Description"), viaContact as (typeof stored.mappings)[number]],
    });
    const run = await runToEnd({ tenant, job: (await getJob(env, tenant, id))!, orgInfo: org("contoso") });
    expect(run.status).toBe("failed");
    expect(run.error_code).toBe("insufficient_privilege");
    expect(run.error_message).toContain("contact");
    expect(run.read_count).toBe(0);
  });

  it("a table added later is checked at save with the admin's token and the proven scope is recorded", async () => {
    const { tenant, admin, conn, token } = await authorizedAs("admin@contoso.example");
    expect((await getConnection(env, tenant, conn.id))!.readScope!.tables.lead).toBeUndefined();
    await call("POST", "/api/v1/objects", {
      token: admin,
      body: {
        name: "Lead",
        label: "Lead",
        fields: [
          { name: "DynamicsId", label: "Id", type: "id", unique: true, required: true },
          { name: "Topic", label: "Topic", type: "string" },
        ],
      },
    });
    const res = await call("POST", "/api/v1/jobs", {
      token: admin,
      headers: { "X-Dynamics-Token": token },
      body: {
        connectionId: conn.id,
        name: "Leads",
        enabled: true,
        source: { entity: "lead", filter: null },
        target: { object: "Lead" },
        mode: "upsert",
        deletes: "soft",
        identifiers: [{ source: "leadid", target: "DynamicsId" }],
        mappings: [{ source: "subject", target: "Topic", use: "value" }],
        lookups: [],
        schedule: null,
        dependsOn: null,
        notify: { onSuccess: [], onPartial: [], onFailure: [], webhook: null },
      },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    expect((await getConnection(env, tenant, conn.id))!.readScope!.tables.lead).toEqual({ privilege: "prvReadLead", depth: "Global" });
  });

  it("a run re-checks the depth with the app token: a user whose role was narrowed since authorize stops the run", async () => {
    const { tenant, admin, conn } = await authorizedAs(BASIC);
    const jobs = await json<Array<{ id: string; builtIn?: string }>>(await call("GET", `/api/v1/jobs?connectionId=${conn.id}`, { token: admin }));
    const company = jobs.find((j) => j.builtIn === "company")!;
    await setDepth(BASIC, "account", "Local");
    const run = await runToEnd({ tenant, job: (await getJob(env, tenant, company.id))!, orgInfo: org("contoso") });
    expect(run.status).toBe("failed");
    expect(run.error_code).toBe("insufficient_privilege");
    expect(run.error_message).toContain("prvReadAccount: Business Unit (Local)");
    expect(run.pages).toBe(0);
    expect((await getConnection(env, tenant, conn.id))!.readScope!.tables.account).toMatchObject({ depth: "Local" });
  });
});
