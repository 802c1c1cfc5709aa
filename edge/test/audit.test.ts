import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { actors, call, createConnection, expectError, json } from "./helpers";

const SLACK = "https://hooks.slack.com/services/T000/B000/XXXX";
const SLACK_2 = "https://hooks.slack.com/services/T111/B111/YYYY";
const job = (connectionId: string, webhook: string | null) => ({
  connectionId,
  name: "Accounts",
  source: { entity: "account", filter: null },
  target: { object: "Company" },
  identifiers: [{ source: "accountid", target: "DynamicsId" }],
  mappings: [{ source: "name", target: "Name" }],
  notify: { onSuccess: [], onPartial: [], onFailure: [], webhook },
});

describe("audit log", () => {
  it("records who created a connection", async () => {
    const { admin } = await actors();
    const c = await createConnection(admin);
    const log = await json<any>(await call("GET", "/api/v1/activity", { token: admin }));
    expect(log.items[0]).toMatchObject({
      action: "connection.create",
      actor: { sub: "admin-1", email: "admin@host.example" },
      resource: { type: "connection", id: c.id },
      at: expect.any(String),
    });
  });

  it("records a rename as a diff of the name", async () => {
    const { admin } = await actors();
    const c = await createConnection(admin);
    await call("PATCH", `/api/v1/connections/${c.id}`, { token: admin, body: { name: "New name" } });
    const log = await json<any>(await call("GET", "/api/v1/activity", { token: admin }));
    expect(log.items[0].action).toBe("connection.update");
    expect(log.items[0].changes).toEqual([{ path: "name", before: "Contoso", after: "New name" }]);
  });

  it("records object creation and field additions", async () => {
    const { admin } = await actors();
    await call("POST", "/api/v1/objects", {
      token: admin,
      body: { name: "Deal", label: "Deal", fields: [{ name: "Amount", label: "Amount", type: "currency" }] },
    });
    await call("PATCH", "/api/v1/objects/Deal", { token: admin, body: { addFields: [{ name: "Stage", label: "Stage", type: "string" }] } });
    const log = await json<any>(await call("GET", "/api/v1/activity?resourceType=object", { token: admin }));
    expect(log.items.map((e: any) => e.action)).toEqual(["object.update", "object.create"]);
    expect(log.items[0].changes.some((c: any) => c.path === "fields.1" && c.after?.name === "Stage" && c.before === undefined)).toBe(true);
  });

  it("records connection deletion", async () => {
    const { admin } = await actors();
    const c = await createConnection(admin);
    await call("DELETE", `/api/v1/connections/${c.id}`, { token: admin });
    const log = await json<any>(await call("GET", `/api/v1/activity?resourceId=${c.id}`, { token: admin }));
    expect(log.items[0].action).toBe("connection.delete");
  });

  it("shows only the caller tenant's entries", async () => {
    const a = await actors();
    const b = await actors();
    await createConnection(a.admin);
    const log = await json<any>(await call("GET", "/api/v1/activity", { token: b.viewer }));
    expect(log.items).toEqual([]);
  });

  it("pages with a cursor", async () => {
    const { admin } = await actors();
    for (let i = 0; i < 3; i++) await createConnection(admin, undefined, `C${i}`);
    const p1 = await json<any>(await call("GET", "/api/v1/activity?limit=2", { token: admin }));
    expect(p1.items).toHaveLength(2);
    const p2 = await json<any>(await call("GET", `/api/v1/activity?limit=2&cursor=${p1.nextCursor}`, { token: admin }));
    expect(p2.items).toHaveLength(1);
    expect(p2.nextCursor).toBeNull();
  });

  it("refuses a malformed cursor", async () => {
    const { admin } = await actors();
    await expectError(await call("GET", "/api/v1/activity?cursor=abc", { token: admin }), 400, "validation_failed");
  });

  it("never keeps the path of a webhook URL (job create and update), for admins and viewers alike", async () => {
    const { admin, viewer, tenant } = await actors();
    const c = await createConnection(admin);
    const created = await json(await call("POST", "/api/v1/jobs", { token: admin, body: job(c.id, SLACK) }));
    expect((await call("PUT", `/api/v1/jobs/${created.id}`, { token: admin, body: job(c.id, SLACK_2) })).status).toBe(200);
    expect((await call("PUT", `/api/v1/jobs/${created.id}`, { token: admin, body: job(c.id, null) })).status).toBe(200);
    // Stored redacted: the audit rows themselves never held the path.
    const rows = await env.DATA.prepare("SELECT changes FROM audit_log WHERE tenant = ?").bind(tenant).all<{ changes: string }>();
    for (const r of rows.results) for (const secret of ["/services/", "XXXX", "YYYY", "T000", "B111"]) expect(r.changes).not.toContain(secret);
    for (const token of [admin, viewer]) {
      const log = await json<any>(await call("GET", `/api/v1/activity?resourceId=${created.id}`, { token }));
      const text = JSON.stringify(log);
      for (const secret of ["/services/", "XXXX", "YYYY"]) expect(text).not.toContain(secret);
      expect(log.items.map((e: any) => e.action)).toEqual(["job.update", "job.update", "job.create"]);
      expect(log.items[2].changes[0].after.notify.webhook).toBe("https://hooks.slack.com/…");
      expect(log.items[1].changes).toContainEqual({ path: "notify.webhook", before: "https://hooks.slack.com/…", after: "https://hooks.slack.com/…" });
      expect(log.items[0].changes).toContainEqual({ path: "notify.webhook", before: "https://hooks.slack.com/…", after: null });
    }
  });

  it("redacts webhook URLs and secrets in entries written before the rule, when they are read", async () => {
    const { viewer, tenant } = await actors();
    const changes = [
      { path: "(root)", after: { name: "x", notify: { webhook: SLACK }, auth: { accessToken: "tok" } } },
      { path: "notify.webhook", before: SLACK, after: SLACK_2 },
    ];
    await env.DATA.prepare(
      "INSERT INTO audit_log (tenant, at, actor_sub, actor_email, action, resource_type, resource_id, changes) VALUES (?, ?, 'a', NULL, 'job.update', 'job', 'job_old', ?)",
    )
      .bind(tenant, new Date().toISOString(), JSON.stringify(changes))
      .run();
    const log = await json<any>(await call("GET", "/api/v1/activity", { token: viewer }));
    expect(log.items[0].changes).toEqual([
      { path: "(root)", after: { name: "x", notify: { webhook: "https://hooks.slack.com/…" }, auth: { accessToken: "[redacted]" } } },
      { path: "notify.webhook", before: "https://hooks.slack.com/…", after: "https://hooks.slack.com/…" },
    ]);
  });
});
