import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import type { Job } from "#contract/job";
import type { AttributeInfo } from "#contract/metadata";
import type { TargetObject } from "#contract/object";
import { ensureObjectTable, getObject, uniqueIndexName } from "../src/stores/objects";
import { fieldColumn, objectTable, objectTableName, tenantKey } from "../src/stores/object-tables";
import { preparePage } from "../src/sync/writer";
import { actors, call, expectError, json } from "./helpers";

const custom = {
  name: "Ticket",
  label: "Ticket",
  fields: [
    { name: "ExternalId", label: "External id", type: "id", unique: true },
    { name: "Title", label: "Title", type: "string", required: true },
    { name: "Priority", label: "Priority", type: "integer" },
    { name: "Amount", label: "Amount", type: "currency" },
    { name: "Open", label: "Open", type: "boolean" },
    { name: "CompanyId", label: "Company", type: "reference", references: "Company" },
  ],
};

async function seed(tenant: string, object: string, rows: Array<Record<string, unknown>>) {
  const table = await objectTable(tenant, object);
  const now = new Date().toISOString();
  await env.DATA.batch(
    rows.map((r, i) => {
      const cols = Object.keys(r).map(fieldColumn);
      return env.DATA.prepare(
        `INSERT INTO ${table} (_id, _created_at, _updated_at, _deleted, ${cols.join(", ")}) VALUES (?, ?, ?, ?, ${cols.map(() => "?").join(", ")})`,
      ).bind(`rec-${String(i).padStart(4, "0")}`, now, now, r.__deleted ? 1 : 0, ...Object.values(r).map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : v)));
    }),
  );
}

describe("standard objects", () => {
  it("lists Company, Person, CompanyPerson and User for a new tenant", async () => {
    const { viewer } = await actors();
    const list = await json<any[]>(await call("GET", "/api/v1/objects", { token: viewer }));
    expect(
      list
        .filter((o) => o.standard)
        .map((o) => o.name)
        .sort(),
    ).toEqual(["Company", "CompanyPerson", "Person", "User"]);
  });

  it("gives every standard object a unique DynamicsId", async () => {
    const { viewer } = await actors();
    const list = await json<any[]>(await call("GET", "/api/v1/objects", { token: viewer }));
    for (const o of list) expect(o.fields.find((f: any) => f.name === "DynamicsId")).toMatchObject({ type: "id", unique: true });
  });

  it("creates the standard tables with the naming convention and a UNIQUE index on DynamicsId", async () => {
    const { viewer, tenant } = await actors();
    await call("GET", "/api/v1/objects/Company", { token: viewer });
    const table = await objectTable(tenant, "Company");
    const tkey = await tenantKey(tenant);
    const cols = (await env.DATA.prepare(`PRAGMA table_info(${table})`).all<{ name: string }>()).results.map((r) => r.name);
    expect(cols).toEqual(expect.arrayContaining(["_id", "_created_at", "_updated_at", "_deleted", "f_DynamicsId", "f_Name"]));
    const idx = await env.DATA.prepare(`PRAGMA index_list(${table})`).all<{ name: string; unique: number }>();
    expect(idx.results.some((i) => i.unique === 1 && i.name === uniqueIndexName(tkey, "Company", "DynamicsId"))).toBe(true);
  });

  it("finds an object case-insensitively", async () => {
    const { viewer } = await actors();
    expect((await json(await call("GET", "/api/v1/objects/company", { token: viewer }))).name).toBe("Company");
  });
});

describe("custom objects", () => {
  it("creates a custom object and its typed table", async () => {
    const { admin, tenant } = await actors();
    const res = await call("POST", "/api/v1/objects", { token: admin, body: custom });
    expect(res.status).toBe(201);
    const table = await objectTable(tenant, "Ticket");
    const info = (await env.DATA.prepare(`PRAGMA table_info(${table})`).all<{ name: string; type: string }>()).results;
    expect(Object.fromEntries(info.map((c) => [c.name, c.type]))).toMatchObject({
      f_ExternalId: "TEXT",
      f_Priority: "INTEGER",
      f_Amount: "REAL",
      f_Open: "INTEGER",
      f_CompanyId: "TEXT",
    });
  });

  it("refuses a duplicate object name (case-insensitive) with conflict", async () => {
    const { admin } = await actors();
    await call("POST", "/api/v1/objects", { token: admin, body: custom });
    await expectError(await call("POST", "/api/v1/objects", { token: admin, body: { ...custom, name: "TICKET" } }), 409, "conflict");
  });

  it("refuses a field name that is not an identifier, naming the field", async () => {
    const { admin } = await actors();
    const e = await expectError(
      await call("POST", "/api/v1/objects", {
        token: admin,
        body: { name: "X", label: "X", fields: [{ name: 'bad name"; DROP', label: "x", type: "string" }] },
      }),
      400,
      "validation_failed",
    );
    expect(e.details?.[0]?.path).toBe("fields.0.name");
  });

  it("refuses an unknown field type", async () => {
    const { admin } = await actors();
    const e = await expectError(
      await call("POST", "/api/v1/objects", { token: admin, body: { name: "X", label: "X", fields: [{ name: "A", label: "a", type: "blob" }] } }),
      400,
      "validation_failed",
    );
    expect(e.details?.[0]?.path).toBe("fields.0.type");
  });

  it("refuses two fields whose names differ only in case", async () => {
    const { admin } = await actors();
    const e = await expectError(
      await call("POST", "/api/v1/objects", {
        token: admin,
        body: {
          name: "X",
          label: "X",
          fields: [
            { name: "A", label: "a", type: "string" },
            { name: "a", label: "a", type: "string" },
          ],
        },
      }),
      400,
      "validation_failed",
    );
    expect(e.details?.[0]?.path).toBe("fields.1.name");
  });

  it("refuses a reference to an unknown object", async () => {
    const { admin } = await actors();
    const e = await expectError(
      await call("POST", "/api/v1/objects", {
        token: admin,
        body: { name: "X", label: "X", fields: [{ name: "R", label: "r", type: "reference", references: "Nope" }] },
      }),
      400,
      "validation_failed",
    );
    expect(e.details?.[0]?.path).toBe("fields.0.references");
  });

  it("adds a field to an existing object and its table", async () => {
    const { admin, tenant } = await actors();
    await call("POST", "/api/v1/objects", { token: admin, body: custom });
    const res = await call("PATCH", "/api/v1/objects/Ticket", { token: admin, body: { addFields: [{ name: "Notes", label: "Notes", type: "text" }] } });
    expect((await json(res)).fields.map((f: any) => f.name)).toContain("Notes");
    const cols = (await env.DATA.prepare(`PRAGMA table_info(${await objectTable(tenant, "Ticket")})`).all<{ name: string }>()).results.map((r) => r.name);
    expect(cols).toContain("f_Notes");
  });

  it("refuses retyping a field through PATCH (strict body)", async () => {
    const { admin } = await actors();
    await call("POST", "/api/v1/objects", { token: admin, body: custom });
    await expectError(await call("PATCH", "/api/v1/objects/Ticket", { token: admin, body: { fields: [] } }), 400, "validation_failed");
  });
});

/** The unique indexes of an object's table (not the primary key's): name → indexed columns. */
async function uniqueIndexes(tenant: string, object: string): Promise<Record<string, string[]>> {
  const table = await objectTable(tenant, object);
  const out: Record<string, string[]> = {};
  for (const i of (await env.DATA.prepare(`PRAGMA index_list(${table})`).all<{ name: string; unique: number }>()).results.filter(
    (x) => x.unique === 1 && !x.name.startsWith("sqlite_autoindex_"),
  )) {
    out[i.name] = (await env.DATA.prepare("SELECT name FROM pragma_index_info(?)").bind(i.name).all<{ name: string }>()).results.map((r) => r.name);
  }
  return out;
}

/** One page upserted into `object` through the sync engine's writer (identifier `Key` ← cr_id, `Name` ← cr_name). */
async function upsertPage(tenant: string, object: TargetObject, key: string, rows: Array<{ id: string; name: string }>) {
  const attrs: AttributeInfo[] = [
    { logicalName: "cr_id", displayName: "id", type: "String", required: "none", readable: true },
    { logicalName: "cr_name", displayName: "name", type: "String", required: "none", readable: true },
  ];
  const job = {
    id: "job_x",
    connectionId: "c",
    name: "x",
    enabled: true,
    source: { entity: "cr_x", filter: null },
    target: { object: object.name },
    mode: "upsert",
    deletes: "ignore",
    identifiers: [{ source: "cr_id", target: key }],
    mappings: [{ source: "cr_name", target: "Name", use: "value" }],
    lookups: [],
    schedule: null,
    dependsOn: null,
    notify: { onSuccess: [], onPartial: [], onFailure: [], webhook: null },
    createdAt: "",
    updatedAt: "",
  } as Job;
  const page = await preparePage(env, {
    tenant,
    org: "org-1",
    job,
    object,
    lookupObjects: new Map([[object.name.toLowerCase(), object]]),
    attributes: attrs,
    rows: rows.map((r) => ({ cr_id: r.id, cr_name: r.name })),
    deletedIds: [],
  });
  await env.DATA.batch(page.statements);
  const table = await objectTable(tenant, object.name);
  return (await env.DATA.prepare(`SELECT ${fieldColumn(key)} AS k, f_Name AS name FROM ${table} ORDER BY 1`).all<{ k: string; name: string }>()).results;
}

describe("unique index names", () => {
  const field = (name: string, unique = false) => ({ name, label: name, type: "string", ...(unique ? { unique: true } : {}) });

  it("can't collide: object a_b with unique c, then object a with unique b_c — both indexed, upserts into a work", async () => {
    const { admin, tenant } = await actors();
    expect(
      (await call("POST", "/api/v1/objects", { token: admin, body: { name: "a_b", label: "A B", fields: [field("c", true), field("Name")] } })).status,
    ).toBe(201);
    expect((await call("POST", "/api/v1/objects", { token: admin, body: { name: "a", label: "A", fields: [field("b_c", true), field("Name")] } })).status).toBe(
      201,
    );
    expect(Object.values(await uniqueIndexes(tenant, "a_b"))).toEqual([["_org", "f_c"]]);
    expect(Object.values(await uniqueIndexes(tenant, "a"))).toEqual([["_org", "f_b_c"]]);
    const a = (await getObject(env, tenant, "a"))!;
    await upsertPage(tenant, a, "b_c", [
      { id: "k1", name: "one" },
      { id: "k2", name: "two" },
    ]);
    expect(await upsertPage(tenant, a, "b_c", [{ id: "k1", name: "ONE" }])).toEqual([
      { k: "k1", name: "ONE" },
      { k: "k2", name: "two" },
    ]);
    const ab = (await getObject(env, tenant, "a_b"))!;
    await upsertPage(tenant, ab, "c", [{ id: "k1", name: "x" }]);
    expect(await upsertPage(tenant, ab, "c", [{ id: "k1", name: "y" }])).toEqual([{ k: "k1", name: "y" }]);
  });

  it("renames an old-named unique index (ux_<tenant>_<object>_<field>) when the table is ensured, in place and idempotently", async () => {
    const tenant = `t-${crypto.randomUUID()}`;
    const tkey = await tenantKey(tenant);
    const object: TargetObject = {
      name: "Ticket",
      label: "Ticket",
      standard: false,
      createdAt: "",
      fields: [field("ExternalId", true), field("Name")] as TargetObject["fields"],
    };
    const table = await objectTable(tenant, "Ticket");
    const old = `ux_${tkey}_ticket_externalid`;
    // The table as the previous code left it, with a record.
    await env.DATA.batch([
      env.DATA.prepare(
        `CREATE TABLE ${table} (_id TEXT PRIMARY KEY, _created_at TEXT NOT NULL, _updated_at TEXT NOT NULL, _deleted INTEGER NOT NULL DEFAULT 0, "f_ExternalId" TEXT, "f_Name" TEXT)`,
      ),
      env.DATA.prepare(`CREATE UNIQUE INDEX "${old}" ON ${table} ("f_ExternalId")`),
      env.DATA.prepare(`INSERT INTO ${table} (_id, _created_at, _updated_at, f_ExternalId, f_Name) VALUES ('r1', 'x', 'x', 'E1', 'kept')`),
    ]);
    await ensureObjectTable(env, tenant, object);
    const renamed = { [uniqueIndexName(tkey, "Ticket", "ExternalId")]: ["_org", "f_ExternalId"] };
    expect(await uniqueIndexes(tenant, "Ticket")).toEqual(renamed);
    await ensureObjectTable(env, tenant, object); // again: nothing changes
    expect(await uniqueIndexes(tenant, "Ticket")).toEqual(renamed);
    const names = await env.DATA.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?")
      .bind(await objectTableName(tenant, "Ticket"))
      .all<{ name: string }>();
    expect(names.results.map((r) => r.name)).not.toContain(old);
    expect(await upsertPage(tenant, object, "ExternalId", [{ id: "E1", name: "updated" }])).toEqual([{ k: "E1", name: "updated" }]);
  });

  it("repairs a tenant the old names broke: a's missing index is created when a's table is ensured (as every run's init does)", async () => {
    const tenant = `t-${crypto.randomUUID()}`;
    const tkey = await tenantKey(tenant);
    const ab: TargetObject = { name: "a_b", label: "A B", standard: false, createdAt: "", fields: [field("c", true), field("Name")] as TargetObject["fields"] };
    const a: TargetObject = { name: "a", label: "A", standard: false, createdAt: "", fields: [field("b_c", true), field("Name")] as TargetObject["fields"] };
    const tAb = await objectTable(tenant, "a_b");
    const tA = await objectTable(tenant, "a");
    const cols = `_id TEXT PRIMARY KEY, _created_at TEXT NOT NULL, _updated_at TEXT NOT NULL, _deleted INTEGER NOT NULL DEFAULT 0`;
    // Before: one index named ux_<tenant>_a_b_c on a_b, and none on a (its CREATE ... IF NOT EXISTS found the name taken).
    await env.DATA.batch([
      env.DATA.prepare(`CREATE TABLE ${tAb} (${cols}, "f_c" TEXT, "f_Name" TEXT)`),
      env.DATA.prepare(`CREATE UNIQUE INDEX "ux_${tkey}_a_b_c" ON ${tAb} ("f_c")`),
      env.DATA.prepare(`CREATE TABLE ${tA} (${cols}, "f_b_c" TEXT, "f_Name" TEXT)`),
    ]);
    await expect(upsertPage(tenant, a, "b_c", [{ id: "k1", name: "one" }])).rejects.toThrow(/ON CONFLICT clause does not match|no such column: _org/);
    await ensureObjectTable(env, tenant, a);
    await ensureObjectTable(env, tenant, ab);
    expect(await uniqueIndexes(tenant, "a")).toEqual({ [uniqueIndexName(tkey, "a", "b_c")]: ["_org", "f_b_c"] });
    expect(await uniqueIndexes(tenant, "a_b")).toEqual({ [uniqueIndexName(tkey, "a_b", "c")]: ["_org", "f_c"] });
    expect(await upsertPage(tenant, a, "b_c", [{ id: "k1", name: "one" }])).toEqual([{ k: "k1", name: "one" }]);
  });
});

describe("records", () => {
  it("pages records with an opaque keyset cursor and no overlap", async () => {
    const { admin, tenant } = await actors();
    await call("GET", "/api/v1/objects", { token: admin });
    await seed(
      tenant,
      "Company",
      Array.from({ length: 25 }, (_, i) => ({ DynamicsId: `d-${i}`, Name: `Company ${i}` })),
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: any = await json(await call("GET", `/api/v1/objects/Company/records?limit=10${cursor ? `&cursor=${cursor}` : ""}`, { token: admin }));
      seen.push(...page.items.map((r: any) => r.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(25);
  });

  it("returns typed fields (booleans as booleans)", async () => {
    const { admin, tenant } = await actors();
    await call("POST", "/api/v1/objects", { token: admin, body: custom });
    await seed(tenant, "Ticket", [{ ExternalId: "t1", Title: "A", Open: true, Priority: 2 }]);
    const page: any = await json(await call("GET", "/api/v1/objects/Ticket/records", { token: admin }));
    expect(page.items[0].fields).toMatchObject({ ExternalId: "t1", Title: "A", Open: true, Priority: 2 });
  });

  it("filters records with field eq value", async () => {
    const { admin, tenant } = await actors();
    await call("GET", "/api/v1/objects", { token: admin });
    await seed(tenant, "Company", [
      { DynamicsId: "1", Name: "Contoso", City: "Seattle" },
      { DynamicsId: "2", Name: "Fabrikam", City: "Berlin" },
    ]);
    const page: any = await json(await call("GET", `/api/v1/objects/Company/records?filter=${encodeURIComponent("City eq 'Berlin'")}`, { token: admin }));
    expect(page.items.map((r: any) => r.fields.Name)).toEqual(["Fabrikam"]);
  });

  it("filters with contains and treats % literally", async () => {
    const { admin, tenant } = await actors();
    await call("GET", "/api/v1/objects", { token: admin });
    await seed(tenant, "Company", [
      { DynamicsId: "1", Name: "100% Cotton" },
      { DynamicsId: "2", Name: "100 Acres" },
    ]);
    const page: any = await json(await call("GET", `/api/v1/objects/Company/records?filter=${encodeURIComponent("Name contains '0%'")}`, { token: admin }));
    expect(page.items.map((r: any) => r.fields.Name)).toEqual(["100% Cotton"]);
  });

  it("hides soft-deleted records unless includeDeleted=1", async () => {
    const { admin, tenant } = await actors();
    await call("GET", "/api/v1/objects", { token: admin });
    await seed(
      tenant,
      "Company",
      [
        { DynamicsId: "1", Name: "Live" },
        { DynamicsId: "2", Name: "Gone", __deleted: true },
      ].map(({ __deleted, ...r }) => ({ ...r, ...(__deleted ? {} : {}) })),
    );
    await env.DATA.prepare(`UPDATE ${await objectTable(tenant, "Company")} SET _deleted = 1 WHERE f_Name = 'Gone'`).run();
    expect((await json<any>(await call("GET", "/api/v1/objects/Company/records", { token: admin }))).items).toHaveLength(1);
    expect((await json<any>(await call("GET", "/api/v1/objects/Company/records?includeDeleted=1", { token: admin }))).items).toHaveLength(2);
  });

  it("refuses a filter on an unknown field", async () => {
    const { admin } = await actors();
    const e = await expectError(
      await call("GET", `/api/v1/objects/Company/records?filter=${encodeURIComponent("Nope eq 1")}`, { token: admin }),
      400,
      "validation_failed",
    );
    expect(e.details?.[0]?.path).toBe("filter");
  });

  it("refuses a filter that tries SQL", async () => {
    const { admin } = await actors();
    await expectError(
      await call("GET", `/api/v1/objects/Company/records?filter=${encodeURIComponent("Name eq 'a' or 1=1 --")}`, { token: admin }),
      400,
      "validation_failed",
    );
  });

  it("refuses a forged cursor", async () => {
    const { admin } = await actors();
    const e = await expectError(await call("GET", "/api/v1/objects/Company/records?cursor=garbage", { token: admin }), 400, "validation_failed");
    expect(e.details?.[0]?.path).toBe("cursor");
  });

  it("refuses limit over 500", async () => {
    const { admin } = await actors();
    const e = await expectError(await call("GET", "/api/v1/objects/Company/records?limit=501", { token: admin }), 400, "validation_failed");
    expect(e.details?.[0]?.path).toBe("limit");
  });

  it("answers 404 for records of an unknown object", async () => {
    const { admin } = await actors();
    await expectError(await call("GET", "/api/v1/objects/Nope/records", { token: admin }), 404, "not_found");
  });
});
