import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { actors, call, createConnection, expectError, json } from "./helpers";

describe("connections", () => {
  it("creates a connection as not_authorized", async () => {
    const { admin } = await actors();
    const c = await createConnection(admin);
    expect(c).toMatchObject({
      id: expect.stringMatching(/^conn_/),
      name: "Contoso",
      orgUrl: "https://contoso.crm.dynamics.com",
      status: "not_authorized",
      jobCount: 0,
    });
  });

  it("stores the connection under t/{tenant}/conn/{id}", async () => {
    const { admin, tenant } = await actors();
    const c = await createConnection(admin);
    expect(await env.CONFIG.get(`t/${tenant}/conn/${c.id}`, "json")).toMatchObject({ id: c.id, tenant });
  });

  it("lists only the tenant's connections", async () => {
    const a = await actors();
    const b = await actors();
    await createConnection(a.admin, undefined, "A1");
    await createConnection(b.admin, undefined, "B1");
    const list = await json<any[]>(await call("GET", "/api/v1/connections", { token: a.viewer }));
    expect(list.map((c) => c.name)).toEqual(["A1"]);
  });

  it("renames a connection", async () => {
    const { admin } = await actors();
    const c = await createConnection(admin);
    const res = await call("PATCH", `/api/v1/connections/${c.id}`, { token: admin, body: { name: "Renamed" } });
    expect((await json(res)).name).toBe("Renamed");
  });

  it("refuses changing the orgUrl through rename (strict body)", async () => {
    const { admin } = await actors();
    const c = await createConnection(admin);
    const e = await expectError(
      await call("PATCH", `/api/v1/connections/${c.id}`, { token: admin, body: { name: "x", orgUrl: "https://other.crm.dynamics.com" } }),
      400,
      "validation_failed",
    );
    expect(e.details?.[0]?.path).toBe("orgUrl");
  });

  it("refuses a blank name with the field named", async () => {
    const { admin } = await actors();
    const e = await expectError(
      await call("POST", "/api/v1/connections", { token: admin, body: { name: " ", orgUrl: "https://contoso.crm.dynamics.com" } }),
      400,
      "validation_failed",
    );
    expect(e.details?.[0]?.path).toBe("name");
  });

  it("deletes a connection and then answers 404", async () => {
    const { admin } = await actors();
    const c = await createConnection(admin);
    expect((await call("DELETE", `/api/v1/connections/${c.id}`, { token: admin })).status).toBe(200);
    await expectError(await call("GET", `/api/v1/connections/${c.id}`, { token: admin }), 404, "not_found");
  });

  it("disables the connection's jobs when the connection is deleted", async () => {
    const { admin, tenant } = await actors();
    const c = await createConnection(admin);
    const res = await call("POST", "/api/v1/jobs", {
      token: admin,
      body: {
        connectionId: c.id,
        name: "J",
        source: { entity: "account" },
        target: { object: "Company" },
        identifiers: [{ source: "accountid", target: "DynamicsId" }],
        mappings: [{ source: "name", target: "Name" }],
      },
    });
    const job = await json(res);
    const del = await json(await call("DELETE", `/api/v1/connections/${c.id}`, { token: admin }));
    expect(del.disabledJobs).toEqual([job.id]);
    expect((await env.CONFIG.get<any>(`t/${tenant}/job/${job.id}`, "json")).enabled).toBe(false);
  });

  it("answers 404 for a malformed id", async () => {
    const { admin } = await actors();
    await expectError(await call("GET", `/api/v1/connections/${encodeURIComponent("../x")}`, { token: admin }), 404, "not_found");
  });

  it("answers authorize with 404 for an unknown connection", async () => {
    const { admin } = await actors();
    await expectError(await call("POST", "/api/v1/connections/conn_nope/authorize", { token: admin, body: { accessToken: "x".repeat(40) } }), 404, "not_found");
  });
});
