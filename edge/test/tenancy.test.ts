import { describe, it } from "vitest";
import { env } from "cloudflare:test";
import { actors, call, createConnection, expectError } from "./helpers";

/** Tenant B's admin must not read, change or even detect tenant A's resources: always 404, never 403. */
describe("tenant isolation", async () => {
  const setup = async () => {
    const a = await actors();
    const b = await actors();
    const conn = await createConnection(a.admin);
    const now = new Date().toISOString();
    const job = {
      id: "job_tenant_a",
      connectionId: conn.id,
      name: "A job",
      enabled: true,
      source: { entity: "account", filter: null },
      target: { object: "Company" },
      mode: "upsert",
      deletes: "ignore",
      identifiers: [{ source: "accountid", target: "DynamicsId" }],
      mappings: [{ source: "name", target: "Name", use: "value" }],
      lookups: [],
      schedule: null,
      dependsOn: null,
      notify: { onSuccess: [], onPartial: [], onFailure: [], webhook: null },
      createdAt: now,
      updatedAt: now,
      tenant: a.tenant,
    };
    await env.CONFIG.put(`t/${a.tenant}/job/${job.id}`, JSON.stringify(job));
    const obj = await call("POST", "/api/v1/objects", {
      token: a.admin,
      body: { name: "Secret", label: "Secret", fields: [{ name: "X", label: "X", type: "string" }] },
    });
    if (obj.status !== 201) throw new Error(await obj.text());
    return { a, b, conn, job };
  };

  const cases: Array<[string, string, (ids: { conn: string; job: string }) => string, unknown?]> = [
    ["reads a connection", "GET", (i) => `/api/v1/connections/${i.conn}`],
    ["renames a connection", "PATCH", (i) => `/api/v1/connections/${i.conn}`, { name: "pwned" }],
    ["deletes a connection", "DELETE", (i) => `/api/v1/connections/${i.conn}`],
    ["authorizes a connection", "POST", (i) => `/api/v1/connections/${i.conn}/authorize`, { accessToken: "x".repeat(40) }],
    ["proxies through a connection", "GET", (i) => `/api/v1/connections/${i.conn}/dynamics/accounts`],
    ["lists entities of a connection", "GET", (i) => `/api/v1/connections/${i.conn}/entities`],
    ["lists attributes of a connection", "GET", (i) => `/api/v1/connections/${i.conn}/entities/account/attributes`],
    ["reads a job", "GET", (i) => `/api/v1/jobs/${i.job}`],
    [
      "replaces a job",
      "PUT",
      (i) => `/api/v1/jobs/${i.job}`,
      { connectionId: "x", name: "x", source: { entity: "account" }, target: { object: "Company" }, mappings: [{ source: "name", target: "Name" }] },
    ],
    ["deletes a job", "DELETE", (i) => `/api/v1/jobs/${i.job}`],
    ["previews a job", "POST", (i) => `/api/v1/jobs/${i.job}/preview`],
    ["reads a custom object", "GET", () => `/api/v1/objects/Secret`],
    ["changes a custom object", "PATCH", () => `/api/v1/objects/Secret`, { label: "pwned" }],
    ["lists records of a custom object", "GET", () => `/api/v1/objects/Secret/records`],
  ];

  for (const [what, method, path, body] of cases) {
    it(`answers 404 when another tenant ${what}`, async () => {
      const { b, conn, job } = await setup();
      const res = await call(method, path({ conn: conn.id, job: job.id }), {
        token: b.admin,
        ...(body !== undefined ? { body } : {}),
        headers: { "X-Dynamics-Token": "eyJ0eXAiOiJKV1QifQ.e30.sig" },
      });
      await expectError(res, 404, "not_found");
    });
  }

  it("refuses a job that names another tenant's connection (as if it did not exist)", async () => {
    const { b, conn } = await setup();
    const res = await call("POST", "/api/v1/jobs", {
      token: b.admin,
      body: {
        connectionId: conn.id,
        name: "x",
        source: { entity: "account" },
        target: { object: "Company" },
        identifiers: [{ source: "accountid", target: "DynamicsId" }],
        mappings: [{ source: "name", target: "Name" }],
      },
    });
    const e = await expectError(res, 400, "validation_failed");
    if (!e.details?.some((d) => d.path === "connectionId" && /no such connection/.test(d.message))) throw new Error(JSON.stringify(e));
  });
});
