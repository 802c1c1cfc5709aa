/** Everything that talks to Dynamics, against the offline sandbox over loopback. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { env } from "cloudflare:test";
import { notChecked, readinessOf } from "../src/connections/authorize";
import { actors, call, createConnection, expectError, json, sandbox, tenantStorage } from "./helpers";
import { org, setPrivilege, userToken } from "./dynamics.helpers";

const sb = sandbox();

async function authorized(key: "contoso" | "fabrikam" = "contoso", upn = key === "contoso" ? "admin@contoso.example" : "admin@fabrikam.example") {
  const act = await actors();
  const o = org(key);
  const conn = await createConnection(act.admin, o.url, key);
  const token = await userToken(upn, o.url);
  const res = await call("POST", `/api/v1/connections/${conn.id}/authorize`, { token: act.admin, body: { accessToken: token } });
  return { ...act, o, conn, token, res, body: await json(res) };
}

describe.skipIf(!sb)("authorize", () => {
  it("authorizes contoso: records org, tenant and user, and is ready", async () => {
    const { res, body, o } = await authorized();
    expect(res.status).toBe(200);
    expect(body).toMatchObject({
      status: "authorized",
      organizationId: o.organizationId,
      tenantId: o.tenantId,
      authorizedBy: { upn: "admin@contoso.example" },
    });
    expect(body.readiness.ready).toBe(true);
    expect(body.readiness.checks.find((c: any) => c.id === "application_user")).toMatchObject({ ok: true });
    expect(body.readiness.checks.find((c: any) => c.id === "read:contact")).toMatchObject({ ok: true });
  });

  it("creates the four out-of-the-box jobs chained Company first", async () => {
    const { admin, conn } = await authorized();
    const jobs = await json<any[]>(await call("GET", `/api/v1/jobs?connectionId=${conn.id}`, { token: admin }));
    const byKey = Object.fromEntries(jobs.map((j) => [j.builtIn, j]));
    expect(Object.keys(byKey).sort()).toEqual(["company", "company_person", "person", "user"]);
    expect(byKey.company).toMatchObject({
      source: { entity: "account" },
      target: { object: "Company" },
      dependsOn: null,
      identifiers: [{ source: "accountid", target: "DynamicsId" }],
    });
    expect(byKey.person.dependsOn).toBe(byKey.company.id);
    expect(byKey.company_person.dependsOn).toBe(byKey.person.id);
    expect(byKey.company_person.lookups[0]).toMatchObject({ object: "Company", match: [{ source: "_parentcustomerid_value", field: "DynamicsId" }] });
    expect(byKey.user).toMatchObject({ source: { entity: "systemuser" }, target: { object: "User" } });
  });

  it("does not duplicate the out-of-the-box jobs on re-authorize", async () => {
    const { admin, conn, token } = await authorized();
    const again = await call("POST", `/api/v1/connections/${conn.id}/authorize`, { token: admin, body: { accessToken: token } });
    expect(again.status).toBe(200);
    expect(await json<any[]>(await call("GET", `/api/v1/jobs?connectionId=${conn.id}`, { token: admin }))).toHaveLength(4);
  });

  it("creates out-of-the-box jobs that pass job validation unchanged", async () => {
    const { admin, conn } = await authorized();
    const jobs = await json<any[]>(await call("GET", `/api/v1/jobs?connectionId=${conn.id}`, { token: admin }));
    for (const j of jobs) {
      const { id, createdAt: _c, updatedAt: _u, builtIn: _b, lastRun: _l, ...body } = j;
      const res = await call("PUT", `/api/v1/jobs/${id}`, { token: admin, body });
      if (res.status !== 200) throw new Error(`${j.builtIn}: ${await res.text()}`);
      expect((await json(res)).warnings).toBeUndefined();
    }
  });

  it("refuses re-pointing an authorized connection at another org (org_mismatch)", async () => {
    const { admin, conn } = await authorized();
    const other = await userToken("admin@fabrikam.example", org("fabrikam").url);
    // fabrikam's token is for another org: the connection's stored orgUrl (contoso) rejects it, or WhoAmI reports another org.
    const res = await call("POST", `/api/v1/connections/${conn.id}/authorize`, { token: admin, body: { accessToken: other } });
    expect([401, 409]).toContain(res.status);
    const stored = await json(await call("GET", `/api/v1/connections/${conn.id}`, { token: admin }));
    expect(stored.organizationId).toBe(org("contoso").organizationId);
  });

  it("answers org_mismatch when the stored organization differs from WhoAmI", async () => {
    const { admin, conn, token, tenant } = await authorized();
    const key = `t/${tenant}/conn/${conn.id}`;
    const stored = (await env.CONFIG.get<any>(key, "json"))!;
    await env.CONFIG.put(key, JSON.stringify({ ...stored, organizationId: "00000000-0000-0000-0000-000000000001" }));
    await expectError(await call("POST", `/api/v1/connections/${conn.id}/authorize`, { token: admin, body: { accessToken: token } }), 409, "org_mismatch");
  });

  it("rejects a token Dynamics does not accept with dynamics_token_invalid", async () => {
    const act = await actors();
    const conn = await createConnection(act.admin, org("contoso").url);
    const bogus = "eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2lnbmF0dXJlLWJvZ3VzLWJvZ3Vz";
    await expectError(
      await call("POST", `/api/v1/connections/${conn.id}/authorize`, { token: act.admin, body: { accessToken: bogus } }),
      401,
      "dynamics_token_invalid",
    );
  });

  it("reports the missing application user for fabrikam with the exact fix", async () => {
    const { body } = await authorized("fabrikam");
    expect(body.status).toBe("needs_attention");
    expect(body.readiness.ready).toBe(false);
    const check = body.readiness.checks.find((c: any) => c.id === "application_user");
    expect(check).toMatchObject({ ok: false, severity: "error" });
    expect(check.fix).toContain(`Create an application user for app ${env.DYNAMICS_CLIENT_ID} in ${org("fabrikam").url}`);
  });

  it("reports a missing read privilege of the application user, naming the privilege", async () => {
    const { admin, conn, token, o } = await authorized();
    // A job on lead, then revoke the app user's read on lead only (other suites use account/contact/systemuser).
    const job = await call("POST", "/api/v1/jobs", {
      token: admin,
      body: {
        connectionId: conn.id,
        name: "Leads",
        source: { entity: "lead" },
        target: { object: "Person" },
        identifiers: [{ source: "leadid", target: "DynamicsId" }],
        mappings: [{ source: "fullname", target: "FullName" }],
      },
    });
    expect(job.status).toBe(201);
    await setPrivilege(o.url, env.DYNAMICS_CLIENT_ID, "lead", false);
    try {
      const body = await json(await call("POST", `/api/v1/connections/${conn.id}/authorize`, { token: admin, body: { accessToken: token } }));
      const check = body.readiness.checks.find((c: any) => c.id === "read:lead");
      expect(check).toMatchObject({ ok: false, severity: "error" });
      expect(check.fix).toMatch(/prvReadLead/);
      expect(body.status).toBe("needs_attention");
    } finally {
      await setPrivilege(o.url, env.DYNAMICS_CLIENT_ID, "lead", true);
    }
  });

  it("warns when the signed-in admin lacks read on a synced table (limited user)", async () => {
    const { body } = await authorized("contoso", "limited@contoso.example");
    const check = body.readiness.checks.find((c: any) => c.id === "delegated_read:contact");
    expect(check).toMatchObject({ ok: false, severity: "warning" });
    expect(check.fix).toMatch(/prvReadContact/);
  });

  it("reports change tracking off for systemuser as a warning", async () => {
    const { body } = await authorized();
    expect(body.readiness.checks.find((c: any) => c.id === "change_tracking:systemuser")).toMatchObject({ ok: false, severity: "warning" });
    expect(body.readiness.checks.find((c: any) => c.id === "change_tracking:account")).toMatchObject({ ok: true });
  });

  it("marks every required check (credential, application user, read per synced table, the admin's Organization read per synced table) as required and passed", async () => {
    const { body } = await authorized();
    const required = body.readiness.checks.filter((c: any) => c.required);
    expect(required.map((c: any) => c.id).sort()).toEqual([
      "application_credential",
      "application_user",
      "privilege:account",
      "privilege:contact",
      "privilege:systemuser",
      "read:account",
      "read:contact",
      "read:systemuser",
    ]);
    expect(required.every((c: any) => c.ok && !c.notChecked)).toBe(true);
  });

  describe("when the table definitions can't be read", () => {
    afterEach(() => vi.restoreAllMocks());

    it("reports read access as not checked (warning, with the reason) and is not ready", async () => {
      const act = await actors();
      const o = org("contoso");
      const conn = await createConnection(act.admin, o.url, "contoso");
      const token = await userToken("admin@contoso.example", o.url);
      const realFetch = globalThis.fetch;
      vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
        const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
        if (/\/EntityDefinitions\?\$select=LogicalName,EntitySetName/.test(decodeURIComponent(url))) {
          return new Response(JSON.stringify({ error: { code: "0x80040220", message: "Principal user is missing prvReadEntity privilege" } }), {
            status: 403,
            headers: { "Content-Type": "application/json" },
          });
        }
        return realFetch(input, init);
      });
      const res = await call("POST", `/api/v1/connections/${conn.id}/authorize`, { token: act.admin, body: { accessToken: token } });
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(body.readiness.checks.find((c: any) => c.id === "application_user")).toMatchObject({ ok: true, required: true });
      expect(body.readiness.checks.find((c: any) => c.id === "metadata")).toMatchObject({
        ok: false,
        severity: "warning",
        fix: expect.stringContaining("prvReadEntity"),
      });
      for (const entity of ["account", "contact", "systemuser"]) {
        const read = body.readiness.checks.find((c: any) => c.id === `read:${entity}`);
        expect(read).toMatchObject({ ok: false, severity: "warning", required: true, notChecked: true });
        expect(read.label).toMatch(new RegExp(`Could not check whether the application user can read ${entity}`));
        expect(read.fix).toMatch(/table definitions could not be read \(403 0x80040220/);
        expect(body.readiness.checks.find((c: any) => c.id === `change_tracking:${entity}`)).toMatchObject({
          ok: false,
          notChecked: true,
          severity: "warning",
        });
      }
      expect(body.readiness.ready).toBe(false);
      expect(body.status).toBe("needs_attention");
    });
  });

  it("writes connection.authorize and job.create entries to the audit log", async () => {
    const { admin, conn } = await authorized();
    const log = await json<any>(await call("GET", `/api/v1/activity?limit=50`, { token: admin }));
    expect(log.items.filter((e: any) => e.action === "job.create")).toHaveLength(4);
    expect(log.items.some((e: any) => e.action === "connection.authorize" && e.resource.id === conn.id)).toBe(true);
  });

  it("never stores the delegated token", async () => {
    const { tenant, token } = await authorized();
    const keys = await env.CONFIG.list({ prefix: `t/${tenant}/` });
    for (const k of keys.keys) expect(await env.CONFIG.get(k.name)).not.toContain(token.slice(-40));
  });
});

describe.skipIf(!sb)("metadata", () => {
  it("lists entities normalised (entity set, primary attributes, change tracking)", async () => {
    const { admin, conn, token } = await authorized();
    const list = await json<any[]>(
      await call("GET", `/api/v1/connections/${conn.id}/entities?refresh=1`, { token: admin, headers: { "X-Dynamics-Token": token } }),
    );
    expect(list.find((e) => e.logicalName === "account")).toEqual({
      logicalName: "account",
      entitySetName: "accounts",
      displayName: "Account",
      primaryIdAttribute: "accountid",
      primaryNameAttribute: "name",
      isCustom: false,
      changeTracking: true,
    });
  });

  it("gives the Customer lookup parentcustomerid its targets account and contact", async () => {
    const { admin, conn, token } = await authorized();
    const attrs = await json<any[]>(
      await call("GET", `/api/v1/connections/${conn.id}/entities/contact/attributes?refresh=1`, { token: admin, headers: { "X-Dynamics-Token": token } }),
    );
    expect(attrs.find((a) => a.logicalName === "parentcustomerid")).toMatchObject({
      type: "Customer",
      targets: expect.arrayContaining(["account", "contact"]),
    });
  });

  it("gives option sets their labels", async () => {
    const { admin, conn, token } = await authorized();
    const attrs = await json<any[]>(
      await call("GET", `/api/v1/connections/${conn.id}/entities/account/attributes`, { token: admin, headers: { "X-Dynamics-Token": token } }),
    );
    const industry = attrs.find((a) => a.logicalName === "industrycode");
    expect(industry.type).toBe("Picklist");
    expect(industry.options.length).toBeGreaterThan(3);
    expect(industry.options[0]).toEqual({ value: expect.any(Number), label: expect.any(String) });
    const state = attrs.find((a) => a.logicalName === "statecode");
    expect(state.options.map((o: any) => o.label)).toEqual(expect.arrayContaining(["Active", "Inactive"]));
  });

  it("serves cached metadata without a Dynamics token", async () => {
    const { admin, conn } = await authorized();
    const res = await call("GET", `/api/v1/connections/${conn.id}/entities/account/attributes`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Metadata-Cache")).toBe("hit");
  });

  it("needs a Dynamics token to refresh", async () => {
    const { admin, conn } = await authorized();
    await expectError(await call("GET", `/api/v1/connections/${conn.id}/entities?refresh=1`, { token: admin }), 401, "dynamics_token_missing");
  });

  it("refuses a viewer's ?refresh=1 (403 forbidden) and leaves the tenant's cache as it was; a viewer reads the cache", async () => {
    const { admin, viewer, conn, token, tenant } = await authorized();
    await call("GET", `/api/v1/connections/${conn.id}/entities`, { token: admin, headers: { "X-Dynamics-Token": token } });
    await call("GET", `/api/v1/connections/${conn.id}/entities/account/attributes`, { token: admin, headers: { "X-Dynamics-Token": token } });
    const keys = [`t/${tenant}/meta/${conn.id}/entities`, `t/${tenant}/meta/${conn.id}/attrs/account`];
    const before = await Promise.all(keys.map((k) => env.CONFIG.get(k)));
    expect(before.every((v) => v !== null)).toBe(true);
    await expectError(
      await call("GET", `/api/v1/connections/${conn.id}/entities?refresh=1`, { token: viewer, headers: { "X-Dynamics-Token": token } }),
      403,
      "forbidden",
    );
    await expectError(
      await call("GET", `/api/v1/connections/${conn.id}/entities/account/attributes?refresh=1`, { token: viewer, headers: { "X-Dynamics-Token": token } }),
      403,
      "forbidden",
    );
    expect(await Promise.all(keys.map((k) => env.CONFIG.get(k)))).toEqual(before);
    const hit = await call("GET", `/api/v1/connections/${conn.id}/entities`, { token: viewer });
    expect(hit.status).toBe(200);
    expect(hit.headers.get("X-Metadata-Cache")).toBe("hit");
  });

  it("answers a viewer's cache miss live without storing it (only admins fill the cache)", async () => {
    const { admin, viewer, conn, token, tenant } = await authorized();
    const key = `t/${tenant}/meta/${conn.id}/attrs/cr123_project`;
    await env.CONFIG.delete(key);
    const miss = await call("GET", `/api/v1/connections/${conn.id}/entities/cr123_project/attributes`, {
      token: viewer,
      headers: { "X-Dynamics-Token": token },
    });
    expect(miss.status).toBe(200);
    expect(miss.headers.get("X-Metadata-Cache")).toBe("miss");
    expect((await json<any[]>(miss)).some((a) => a.logicalName === "cr123_name")).toBe(true);
    expect(await env.CONFIG.get(key)).toBeNull();
    expect(
      (
        await call("GET", `/api/v1/connections/${conn.id}/entities/cr123_project/attributes`, { token: admin, headers: { "X-Dynamics-Token": token } })
      ).headers.get("X-Metadata-Cache"),
    ).toBe("miss");
    expect(await env.CONFIG.get(key)).not.toBeNull();
  });

  it("answers 404 for an unknown table", async () => {
    const { admin, conn, token } = await authorized();
    await expectError(
      await call("GET", `/api/v1/connections/${conn.id}/entities/nosuchtable/attributes`, { token: admin, headers: { "X-Dynamics-Token": token } }),
      404,
      "not_found",
    );
  });
});

describe.skipIf(!sb)("proxy against the sandbox", () => {
  it("forwards a GET and returns Dataverse's JSON", async () => {
    const { admin, conn, token } = await authorized();
    const res = await call("GET", `/api/v1/connections/${conn.id}/dynamics/accounts?$select=name&$top=2`, {
      token: admin,
      headers: { "X-Dynamics-Token": token },
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.value).toHaveLength(2);
    expect(body.value[0].name).toEqual(expect.any(String));
  });

  it("forwards WhoAmI", async () => {
    const { admin, conn, token, o } = await authorized();
    const body = await json(await call("GET", `/api/v1/connections/${conn.id}/dynamics/WhoAmI`, { token: admin, headers: { "X-Dynamics-Token": token } }));
    expect(body.OrganizationId).toBe(o.organizationId);
  });

  it("passes a Dataverse 403 through in Dataverse's shape", async () => {
    const { admin, conn, o } = await authorized();
    const limited = await userToken("limited@contoso.example", o.url);
    const res = await call("GET", `/api/v1/connections/${conn.id}/dynamics/contacts?$top=1`, { token: admin, headers: { "X-Dynamics-Token": limited } });
    expect(res.status).toBe(403);
    expect((await json(res)).error).toMatchObject({ code: "0x80040220" });
  });

  it("does not forward the host token or cookies upstream (Dynamics sees only the X-Dynamics-Token)", async () => {
    const { admin, conn } = await authorized();
    // With a garbage Dynamics token the org answers 401 even though a valid host token and a cookie were sent.
    const res = await call("GET", `/api/v1/connections/${conn.id}/dynamics/WhoAmI`, {
      token: admin,
      headers: { "X-Dynamics-Token": "garbage.token.value", Cookie: "a=b" },
    });
    expect(res.status).toBe(401);
  });

  it("previews a job: maps live rows without writing", async () => {
    const { admin, conn, token, tenant } = await authorized();
    const jobs = await json<any[]>(await call("GET", `/api/v1/jobs?connectionId=${conn.id}`, { token: admin }));
    const company = jobs.find((j) => j.builtIn === "company");
    const res = await call("POST", `/api/v1/jobs/${company.id}/preview`, { token: admin, headers: { "X-Dynamics-Token": token } });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.rows.length).toBeGreaterThan(0);
    expect(body.rows.length).toBeLessThanOrEqual(10);
    expect(body.rows[0].fields).toMatchObject({ DynamicsId: expect.any(String), Name: expect.any(String) });
    const records = await json<any>(await call("GET", "/api/v1/objects/Company/records", { token: admin }));
    expect(records.items).toHaveLength(0);
    void tenant;
  });

  it("previews an unsaved draft: maps what the draft says, in the saved preview's shape, and writes nothing", async () => {
    const { admin, conn, token, tenant } = await authorized();
    const jobs = await json<any[]>(await call("GET", `/api/v1/jobs?connectionId=${conn.id}`, { token: admin }));
    const { id, createdAt: _c, updatedAt: _u, builtIn: _b, lastRun: _l, ...saved } = jobs.find((j) => j.builtIn === "company");
    const draft = { ...saved, name: "Companies without websites", mappings: saved.mappings.filter((m: any) => m.target !== "Website") };
    // The tenant's standard objects are created on its first touch of objects (any read): not part of what is measured.
    expect((await call("GET", "/api/v1/objects", { token: admin })).status).toBe(200);
    const before = await tenantStorage(tenant);
    const res = await call("POST", "/api/v1/jobs/preview", { token: admin, headers: { "X-Dynamics-Token": token }, body: draft });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(await tenantStorage(tenant)).toEqual(before);
    expect(body).toMatchObject({ jobId: null, entity: "account", object: "Company", errorCount: expect.any(Number) });
    expect(body.rows.length).toBeGreaterThan(0);
    expect(body.rows.length).toBeLessThanOrEqual(10);
    const ofSaved = await json(await call("POST", `/api/v1/jobs/${id}/preview`, { token: admin, headers: { "X-Dynamics-Token": token } }));
    expect(Object.keys(ofSaved).sort()).toEqual(Object.keys(body).sort());
    const savedRows = new Map<string, any>(ofSaved.rows.map((r: any) => [r.sourceId, r]));
    for (const row of body.rows) {
      expect(row.fields).not.toHaveProperty("Website");
      const { Website: _w, ...rest } = savedRows.get(row.sourceId).fields;
      expect(row.fields).toEqual(rest);
    }
  });
});

describe("readiness rule", () => {
  const check = (id: string, ok: boolean, severity: "error" | "warning" | "info", required = false) => ({
    id,
    ok,
    severity,
    label: id,
    ...(required ? { required } : {}),
  });

  it("is ready when every required check passed, whatever the warnings say", () => {
    expect(readinessOf([check("application_user", true, "info", true), check("change_tracking:x", false, "warning")], "t").ready).toBe(true);
  });

  it("is not ready when a required check was not performed, although nothing failed with severity error", () => {
    const r = readinessOf([check("application_user", true, "info", true), notChecked("read:x", true, "Could not check x", "why")], "t");
    expect(r.ready).toBe(false);
    expect(r.checks[1]).toMatchObject({ ok: false, severity: "warning", notChecked: true });
  });

  it("is not ready when a required check failed", () => {
    expect(readinessOf([check("read:x", false, "error", true)], "t").ready).toBe(false);
  });
});
