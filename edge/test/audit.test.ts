import { describe, expect, it } from "vitest";
import { actors, call, createConnection, expectError, json } from "./helpers";

describe("audit log", () => {
  it("records who created a connection", async () => {
    const { admin } = await actors();
    const c = await createConnection(admin);
    const log = await json<any>(await call("GET", "/api/v1/activity", { token: admin }));
    expect(log.items[0]).toMatchObject({ action: "connection.create", actor: { sub: "admin-1", email: "admin@host.example" }, resource: { type: "connection", id: c.id }, at: expect.any(String) });
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
    await call("POST", "/api/v1/objects", { token: admin, body: { name: "Deal", label: "Deal", fields: [{ name: "Amount", label: "Amount", type: "currency" }] } });
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
});
