/**
 * Security roles, RetrieveUserPrivilegeByPrivilegeName / RetrieveUserPrivileges and Basic-depth reads.
 * Shapes: https://learn.microsoft.com/power-apps/developer/data-platform/security-access-coding,
 * https://learn.microsoft.com/power-apps/developer/data-platform/webapi/use-web-api-functions,
 * https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/roleprivilege,
 * https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/privilegedepth.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSandbox, type SandboxInfo } from "../../demo/sandbox/index";
import { BU_CONTOSO, BU_FABRIKAM } from "../../demo/sandbox/ids";
import { API, appToken, authorizeCode, control, mintToken, odataGet, pkcePair, redeem } from "./helpers";

let sb: SandboxInfo;
let app: string;
const contoso = (): SandboxInfo["orgs"][number] => sb.orgs[0]!;
const fabrikam = (): SandboxInfo["orgs"][number] => sb.orgs[1]!;

/** systemuserids of the demo users (docs/sandbox.md). */
const ADMIN = "5e000000-0001-4000-8000-000000000001";
const LIMITED = "5e000000-0001-4000-8000-000000000002";
const APP_USER = "5e000000-0001-4000-8000-000000000003";
const BASIC = "5e000000-0001-4000-8000-000000000004";
const FABRIKAM_ADMIN = "5e000000-0002-4000-8000-000000000001";
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DEPTHS = ["Basic", "Local", "Deep", "Global"];

const user = (upn: string, org = contoso()): Promise<string> => mintToken(sb, { upn, audience: org.url });
const get = (path: string, token: string, org = contoso()) => odataGet(API(org) + path, token);
const byName = (id: string, name: string, token: string, org = contoso()) =>
  get(`systemusers(${id})/Microsoft.Dynamics.CRM.RetrieveUserPrivilegeByPrivilegeName(PrivilegeName='${name}')`, token, org);
const all = (id: string, token: string, org = contoso()) => get(`systemusers(${id})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()`, token, org);

beforeAll(async () => {
  sb = await startSandbox({ rows: 300, quiet: true });
  app = await appToken(sb);
});
beforeEach(async () => {
  await control(contoso(), "POST", "reset");
});
afterAll(async () => {
  await sb?.stop();
});

describe("RetrieveUserPrivilegeByPrivilegeName", () => {
  it("returns the documented response: @odata.context and RolePrivileges of {Depth, PrivilegeId, BusinessUnitId, PrivilegeName}", async () => {
    const r = await byName(ADMIN, "prvReadContact", await user("admin@contoso.example"));
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json; odata.metadata=minimal");
    expect(r.body["@odata.context"]).toBe(`${API(contoso())}$metadata#Microsoft.Dynamics.CRM.RetrieveUserPrivilegeByPrivilegeNameResponse`);
    expect(Object.keys(r.body)).toEqual(["@odata.context", "RolePrivileges"]);
    expect(r.body.RolePrivileges).toHaveLength(1);
    const p = r.body.RolePrivileges[0];
    expect(Object.keys(p)).toEqual(["Depth", "PrivilegeId", "BusinessUnitId", "PrivilegeName"]);
    expect(p).toEqual({ Depth: "Global", PrivilegeId: expect.stringMatching(GUID), BusinessUnitId: BU_CONTOSO, PrivilegeName: "prvReadContact" });
  });

  it("accepts the parameter-alias form and answers the same", async () => {
    const t = await user("admin@contoso.example");
    const inline = await byName(ADMIN, "prvReadAccount", t);
    const alias = await get(`systemusers(${ADMIN})/Microsoft.Dynamics.CRM.RetrieveUserPrivilegeByPrivilegeName(PrivilegeName=@p)?@p='prvReadAccount'`, t);
    expect(alias.status).toBe(200);
    expect(alias.body).toEqual(inline.body);
    const encoded = await get(
      `systemusers(${ADMIN})/Microsoft.Dynamics.CRM.RetrieveUserPrivilegeByPrivilegeName(PrivilegeName=@p)?%40p=%27prvReadAccount%27`,
      t,
    );
    expect(encoded.body).toEqual(inline.body);
  });

  it("gives the System Administrator Global on every table privilege, custom tables included (prv + verb + SchemaName)", async () => {
    const t = await user("admin@contoso.example");
    for (const name of [
      "prvReadAccount",
      "prvReadcr123_Project",
      "prvCreateContact",
      "prvWriteAccount",
      "prvAppendTocr123_Project",
      "prvShareContact",
      "prvReadTransactionCurrency",
      "prvReadUser",
    ]) {
      const r = await byName(ADMIN, name, t);
      expect(r.status, name).toBe(200);
      expect(
        r.body.RolePrivileges.map((p: any) => [p.PrivilegeName, p.Depth]),
        name,
      ).toEqual([[name, "Global"]]);
    }
  });

  it("shows basic@'s Basic (user-level) read on contact and Global on the other tables", async () => {
    const t = await user("basic@contoso.example");
    const contact = await byName(BASIC, "prvReadContact", t);
    expect(contact.body.RolePrivileges).toEqual([
      { Depth: "Basic", PrivilegeId: expect.stringMatching(GUID), BusinessUnitId: BU_CONTOSO, PrivilegeName: "prvReadContact" },
    ]);
    for (const name of ["prvReadAccount", "prvReadcr123_Project", "prvReadLead"])
      expect(
        (await byName(BASIC, name, t)).body.RolePrivileges.map((p: any) => p.Depth),
        name,
      ).toEqual(["Global"]);
    // a reader role: no other verbs
    expect((await byName(BASIC, "prvWriteContact", t)).body.RolePrivileges).toEqual([]);
  });

  it("returns an empty RolePrivileges when no role grants the privilege (limited@ on contact)", async () => {
    const r = await byName(LIMITED, "prvReadContact", await user("limited@contoso.example"));
    expect(r.status).toBe(200);
    expect(r.body.RolePrivileges).toEqual([]);
  });

  it("lets the application user (client credentials) query another user; its own read is Global", async () => {
    expect((await byName(BASIC, "prvReadContact", app)).body.RolePrivileges.map((p: any) => p.Depth)).toEqual(["Basic"]);
    expect((await byName(APP_USER, "prvReadContact", app)).body.RolePrivileges.map((p: any) => p.Depth)).toEqual(["Global"]);
  });

  it("matches the privilege name case-insensitively and answers with its canonical name", async () => {
    const r = await byName(ADMIN, "PRVREADCONTACT", app);
    expect(r.body.RolePrivileges.map((p: any) => p.PrivilegeName)).toEqual(["prvReadContact"]);
  });

  it("answers 404 with a Dataverse error body for an unknown user", async () => {
    const r = await byName("5e000000-0001-4000-8000-0000000000ff", "prvReadContact", app);
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error: { code: "0x80040217", message: "systemuser With Id = 5e000000-0001-4000-8000-0000000000ff Does Not Exist" } });
  });

  it("answers 404 for an unknown privilege name and 400 for a missing, empty or non-string PrivilegeName", async () => {
    const unknown = await byName(ADMIN, "prvReadNoSuchTable", app);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("0x80040217");
    for (const args of ["", "PrivilegeName=''", "PrivilegeName=42", "Privilege='prvReadContact'", "PrivilegeName=@p"]) {
      const r = await get(`systemusers(${ADMIN})/Microsoft.Dynamics.CRM.RetrieveUserPrivilegeByPrivilegeName(${args})`, app);
      expect(r.status, args).toBe(400);
      expect(Object.keys(r.body.error), args).toEqual(["code", "message"]);
    }
  });

  it("accepts the optional ExcludeTeamBasic parameter (no teams in the sandbox: same result)", async () => {
    const r = await get(
      `systemusers(${BASIC})/Microsoft.Dynamics.CRM.RetrieveUserPrivilegeByPrivilegeName(PrivilegeName='prvReadContact',ExcludeTeamBasic=true)`,
      app,
    );
    expect(r.status).toBe(200);
    expect(r.body.RolePrivileges.map((p: any) => p.Depth)).toEqual(["Basic"]);
  });

  it("answers 400 to a key that is not a GUID", async () => {
    const r = await get(
      `systemusers(domainname='admin@contoso.example')/Microsoft.Dynamics.CRM.RetrieveUserPrivilegeByPrivilegeName(PrivilegeName='prvReadContact')`,
      app,
    );
    expect(r.status).toBe(400);
  });

  it("needs the caller's prvReadUser (403 0x80040220 without it)", async () => {
    expect((await control(contoso(), "POST", "privileges", { principal: "limited@contoso.example", entity: "systemuser", depth: "None" })).status).toBe(200);
    const t = await user("limited@contoso.example");
    for (const target of [LIMITED, ADMIN]) {
      const r = await byName(target, "prvReadAccount", t);
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe("0x80040220");
      expect(r.body.error.message).toContain("is missing prvReadUser privilege");
    }
  });

  it("uses each org's business unit (fabrikam)", async () => {
    const r = await byName(FABRIKAM_ADMIN, "prvReadAccount", await user("admin@fabrikam.example", fabrikam()), fabrikam());
    expect(r.body.RolePrivileges).toEqual([
      { Depth: "Global", PrivilegeId: expect.stringMatching(GUID), BusinessUnitId: BU_FABRIKAM, PrivilegeName: "prvReadAccount" },
    ]);
  });
});

describe("RetrieveUserPrivileges", () => {
  it("returns every privilege of the user's roles in the documented shape, with or without ()", async () => {
    const t = await user("basic@contoso.example");
    const r = await all(BASIC, t);
    expect(r.status).toBe(200);
    expect(r.body["@odata.context"]).toBe(`${API(contoso())}$metadata#Microsoft.Dynamics.CRM.RetrieveUserPrivilegesResponse`);
    expect(Object.keys(r.body)).toEqual(["@odata.context", "RolePrivileges"]);
    const list: any[] = r.body.RolePrivileges;
    expect(list.length).toBeGreaterThan(800); // read on every table of EntityDefinitions
    for (const p of list) {
      expect(Object.keys(p)).toEqual(["Depth", "PrivilegeId", "BusinessUnitId", "PrivilegeName"]);
      expect(DEPTHS).toContain(p.Depth);
      expect(p.BusinessUnitId).toBe(BU_CONTOSO);
      expect(p.PrivilegeName).toMatch(/^prvRead/);
    }
    const find = (n: string) => list.find((p) => p.PrivilegeName === n);
    expect(find("prvReadContact").Depth).toBe("Basic");
    expect(find("prvReadAccount").Depth).toBe("Global");
    expect(find("prvReadcr123_Project").Depth).toBe("Global");
    // the same PrivilegeId as the by-name function
    expect(find("prvReadContact").PrivilegeId).toBe((await byName(BASIC, "prvReadContact", t)).body.RolePrivileges[0].PrivilegeId);
    const bare = await get(`systemusers(${BASIC})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges`, t);
    expect(bare.status).toBe(200);
    expect(bare.body).toEqual(r.body);
  });

  it("lists all verbs at Global for the System Administrator and no prvReadContact for limited@", async () => {
    const admin: any[] = (await all(ADMIN, app)).body.RolePrivileges;
    for (const n of [
      "prvCreateAccount",
      "prvReadAccount",
      "prvWriteAccount",
      "prvDeleteAccount",
      "prvAppendAccount",
      "prvAppendToAccount",
      "prvAssignAccount",
      "prvShareAccount",
      "prvReadContact",
    ])
      expect(admin.find((p) => p.PrivilegeName === n)?.Depth, n).toBe("Global");
    const limited: any[] = (await all(LIMITED, app)).body.RolePrivileges;
    expect(limited.find((p) => p.PrivilegeName === "prvReadContact")).toBeUndefined();
    expect(limited.find((p) => p.PrivilegeName === "prvReadAccount")?.Depth).toBe("Global");
  });

  it("answers 404 for an unknown user and an empty list for a user without roles", async () => {
    const missing = await all("5e000000-0001-4000-8000-0000000000ff", app);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("0x80040217");
    const noRoles = await all("5e000000-0001-4000-8000-000000000010", app); // a generated systemuser
    expect(noRoles.status).toBe(200);
    expect(noRoles.body.RolePrivileges).toEqual([]);
  });

  it("refuses parameters (the function has none)", async () => {
    expect((await get(`systemusers(${ADMIN})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges(PrivilegeName='prvReadAccount')`, app)).status).toBe(400);
  });
});

describe("control API: roles and depths", () => {
  it("sets a user's read depth per table and reports it (POST /_sandbox/privileges, GET /_sandbox/privileges/{principal})", async () => {
    const set = await control(contoso(), "POST", "privileges", { principal: "admin@contoso.example", entity: "contact", depth: "Basic" });
    expect(set).toEqual({ status: 200, json: { ok: true, principal: "admin@contoso.example", entity: "contact", depth: "Basic" } });
    expect((await byName(ADMIN, "prvReadContact", app)).body.RolePrivileges.map((p: any) => p.Depth)).toEqual(["Basic"]);
    const view = await control(contoso(), "GET", "privileges/admin@contoso.example");
    expect(view.status).toBe(200);
    expect(view.json).toMatchObject({
      systemuserid: ADMIN,
      read: { contact: "Basic", account: "Global" },
      roles: [{ name: "System Administrator", allTables: true, read: { contact: "Basic" } }],
    });
    await control(contoso(), "POST", "privileges", { principal: BASIC, entity: "contacts", depth: "Local" });
    expect((await byName(BASIC, "prvReadContact", app)).body.RolePrivileges.map((p: any) => p.Depth)).toEqual(["Local"]);
    // reset restores the seeded roles
    await control(contoso(), "POST", "reset");
    expect((await byName(ADMIN, "prvReadContact", app)).body.RolePrivileges.map((p: any) => p.Depth)).toEqual(["Global"]);
    expect((await byName(BASIC, "prvReadContact", app)).body.RolePrivileges.map((p: any) => p.Depth)).toEqual(["Basic"]);
  });

  it("keeps the older {read: boolean} form (true = Global, false = None)", async () => {
    await control(contoso(), "POST", "privileges", { principal: "limited@contoso.example", entity: "contact", read: true });
    expect((await byName(LIMITED, "prvReadContact", app)).body.RolePrivileges.map((p: any) => p.Depth)).toEqual(["Global"]);
    await control(contoso(), "POST", "privileges", { principal: "basic@contoso.example", entity: "account", read: false });
    expect((await byName(BASIC, "prvReadAccount", app)).body.RolePrivileges).toEqual([]);
  });

  it("replaces a user's roles (PUT /_sandbox/privileges/{principal}); one RolePrivilege per granting role", async () => {
    const roles = [
      { name: "Reader A", read: { contact: "Basic" } },
      { name: "Reader B", read: { contact: "Deep", account: "Local" } },
    ];
    const r = await control(contoso(), "PUT", "privileges/basic@contoso.example", { roles });
    expect(r.status).toBe(200);
    expect(r.json.read).toMatchObject({ contact: "Deep", account: "Local", cr123_project: "None" });
    const contact = await byName(BASIC, "prvReadContact", app);
    expect(contact.body.RolePrivileges.map((p: any) => p.Depth)).toEqual(["Basic", "Deep"]);
    expect(new Set(contact.body.RolePrivileges.map((p: any) => p.PrivilegeId)).size).toBe(1);
    expect((await byName(BASIC, "prvReadLead", app)).body.RolePrivileges).toEqual([]);
    // the effective (least restrictive) depth governs reads: Deep → every contact
    const t = await user("basic@contoso.example");
    const count = await get("contacts/$count", t);
    expect(Number(count.body)).toBe(Number((await get("contacts/$count", app)).body));
  });

  it("refuses depths a table can't have and unknown principals, tables or depths", async () => {
    expect((await control(contoso(), "POST", "privileges", { principal: "basic@contoso.example", entity: "transactioncurrency", depth: "Basic" })).status).toBe(
      400,
    ); // organization-owned: Global or None
    expect((await control(contoso(), "POST", "privileges", { principal: "basic@contoso.example", entity: "transactioncurrency", depth: "None" })).status).toBe(
      200,
    );
    expect((await control(contoso(), "POST", "privileges", { principal: "basic@contoso.example", entity: "contact", depth: "Everything" })).status).toBe(400);
    expect((await control(contoso(), "POST", "privileges", { principal: "nobody@contoso.example", entity: "contact", depth: "Basic" })).status).toBe(404);
    expect((await control(contoso(), "POST", "privileges", { principal: "basic@contoso.example", entity: "nosuchtable", depth: "Basic" })).status).toBe(404);
    expect((await control(contoso(), "PUT", "privileges/basic@contoso.example", { roles: [{ name: "x", read: { contact: "Sometimes" } }] })).status).toBe(400);
  });
});

describe("Basic-depth reads (basic@contoso.example on contact)", () => {
  async function ownContact(): Promise<string> {
    const r = await control(contoso(), "POST", "rows/contact", {
      firstname: "Own",
      lastname: "Contact",
      fullname: "Own Contact",
      ownerid: { id: BASIC, type: "systemuser" },
    });
    expect(r.status).toBe(201);
    return r.json.contactid;
  }

  it("returns only the contacts the user owns; the application user keeps organization-wide reads", async () => {
    const mine = await ownContact();
    const t = await user("basic@contoso.example");
    const r = await get(`contacts?$select=fullname,_ownerid_value&$count=true`, t);
    expect(r.status).toBe(200);
    const expected = await get(`contacts?$select=fullname&$filter=_ownerid_value eq ${BASIC}`, app);
    expect(r.body.value.map((c: any) => c.contactid)).toEqual(expected.body.value.map((c: any) => c.contactid));
    expect(r.body.value.map((c: any) => c.contactid)).toContain(mine);
    expect(r.body["@odata.count"]).toBe(r.body.value.length);
    for (const c of r.body.value) expect(c._ownerid_value).toBe(BASIC);
    const appCount = Number((await get("contacts/$count", app)).body);
    expect(Number((await get("contacts/$count", t)).body)).toBe(r.body.value.length);
    expect(appCount).toBeGreaterThan(r.body.value.length);
    // other tables stay Global for basic@
    expect(Number((await get("accounts/$count", t)).body)).toBe(Number((await get("accounts/$count", app)).body));
  });

  it("answers 403 0x80048306 for a contact the user doesn't own and 200 for one they do", async () => {
    const mine = await ownContact();
    const t = await user("basic@contoso.example");
    const others = await get(`contacts?$select=contactid&$filter=_ownerid_value ne ${BASIC}&$top=1`, app);
    const other = others.body.value[0].contactid;
    const r = await get(`contacts(${other})?$select=fullname`, t);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("0x80048306");
    expect(r.body.error.message).toContain("does not have ReadAccess right(s) for record with ID");
    expect((await get(`contacts(${mine})?$select=fullname`, t)).status).toBe(200);
  });

  it("pages the filtered set with nextLinks", async () => {
    for (let i = 0; i < 5; i++) await ownContact();
    const t = await user("basic@contoso.example");
    const seen: string[] = [];
    let next: string | undefined = API(contoso()) + "contacts?$select=fullname";
    while (next) {
      const r = await odataGet(next, t, "odata.maxpagesize=2");
      expect(r.status).toBe(200);
      seen.push(...r.body.value.map((c: any) => c.contactid));
      next = r.body["@odata.nextLink"];
    }
    const expected = await get(`contacts?$select=fullname&$filter=_ownerid_value eq ${BASIC}`, app);
    expect(seen).toEqual(expected.body.value.map((c: any) => c.contactid));
  });

  it("doesn't join contacts outside the user's depth in $expand", async () => {
    const t = await user("basic@contoso.example");
    const r = await get(
      "accounts?$select=name,_primarycontactid_value&$expand=primarycontactid($select=fullname,_ownerid_value)&$filter=_primarycontactid_value ne null&$top=50",
      t,
    );
    expect(r.status).toBe(200);
    expect(r.body.value.length).toBeGreaterThan(0);
    for (const a of r.body.value) if (a.primarycontactid !== null) expect(a.primarycontactid._ownerid_value).toBe(BASIC);
    expect(r.body.value.some((a: any) => a.primarycontactid === null)).toBe(true);
  });

  it("puts only the user's own changed rows in a delta", async () => {
    const t = await user("basic@contoso.example");
    let next: string | undefined = API(contoso()) + "contacts?$select=fullname";
    let delta = "";
    while (next) {
      const r = await odataGet(next, t, "odata.track-changes");
      expect(r.status).toBe(200);
      next = r.body["@odata.nextLink"];
      delta = r.body["@odata.deltaLink"] ?? delta;
    }
    const mine = await ownContact();
    await control(contoso(), "POST", "rows/contact", { fullname: "Someone Else's", ownerid: { id: ADMIN, type: "systemuser" } });
    const d = await odataGet(delta, t);
    expect(d.status).toBe(200);
    expect(d.body.value.map((c: any) => c.contactid)).toEqual([mine]);
  });
});

describe("basic@ signs in like the other demo users", () => {
  it("gets a code on the authorize page (PKCE) and a token Dataverse maps to its systemuser", async () => {
    expect(sb.users.map((u) => u.upn)).toContain("basic@contoso.example");
    const scope = `${contoso().url}/user_impersonation openid profile offline_access`;
    const { verifier, challenge } = pkcePair();
    const code = await authorizeCode(sb, "basic@contoso.example", challenge, scope);
    const tok = await redeem(sb, code, verifier, scope);
    expect(tok.status).toBe(200);
    const { access_token } = (await tok.json()) as { access_token: string };
    const who = await get("WhoAmI", access_token);
    expect(who.body).toMatchObject({ UserId: BASIC, BusinessUnitId: BU_CONTOSO });
  });
});
