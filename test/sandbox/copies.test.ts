/**
 * Org copies (startSandbox `copies`): a sandbox environment copied from production keeps the tables, the data and the
 * record GUIDs of its source, lives in the same Entra tenant, but is another organization (its own OrganizationId and
 * URL), and from then on its data is its own.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSandbox, type SandboxInfo } from "../../demo/sandbox/index";
import { BU_CONTOSO, copyOrganizationId, ORG_CONTOSO, ORG_FABRIKAM, rowGuid, TENANT_CONTOSO, TENANT_FABRIKAM } from "../../demo/sandbox/ids";
import { API, appToken, authorizeCode, control, decodeJwt, mintToken, odataGet, pkcePair, redeem } from "./helpers";

let sb: SandboxInfo;
const org = (key: string): SandboxInfo["orgs"][number] => {
  const o = sb.orgs.find((x) => x.key === key);
  if (!o) throw new Error(`no org ${key}`);
  return o;
};
const orgIndex = (key: string): number => sb.orgs.findIndex((x) => x.key === key);
const get = async (key: string, path: string, token?: string) => odataGet(API(org(key)) + path, token ?? (await appToken(sb, orgIndex(key))));

beforeAll(async () => {
  sb = await startSandbox({
    rows: 300,
    quiet: true,
    copies: [
      { key: "contoso-copy", from: "contoso" },
      { key: "contoso-2", from: "contoso", name: "Contoso UAT" },
      { key: "fabrikam-copy", from: "fabrikam" },
    ],
  });
});
beforeEach(async () => {
  for (const o of sb.orgs) await control(o, "POST", "reset");
});
afterAll(async () => {
  await sb?.stop();
});

describe("org copies: what is copied", () => {
  it("lists the copies after contoso and fabrikam, each with its own URL and OrganizationId, in the source's tenant", () => {
    expect(sb.orgs.map((o) => o.key)).toEqual(["contoso", "fabrikam", "contoso-copy", "contoso-2", "fabrikam-copy"]);
    expect(new Set(sb.orgs.map((o) => o.url)).size).toBe(5);
    expect(new Set(sb.orgs.map((o) => o.organizationId)).size).toBe(5);
    expect(org("contoso-copy")).toMatchObject({
      tenantId: TENANT_CONTOSO,
      organizationId: copyOrganizationId("contoso-copy"),
      copyOf: "contoso",
      name: "Contoso (sandbox) — copy contoso-copy",
    });
    expect(org("contoso-2")).toMatchObject({ tenantId: TENANT_CONTOSO, copyOf: "contoso", name: "Contoso UAT" });
    expect(org("fabrikam-copy")).toMatchObject({ tenantId: TENANT_FABRIKAM, copyOf: "fabrikam" });
    expect(org("contoso").copyOf).toBeUndefined();
    expect([ORG_CONTOSO, ORG_FABRIKAM]).not.toContain(org("contoso-copy").organizationId);
  });

  it("derives the copy's OrganizationId from its key (stable across restarts)", () => {
    expect(copyOrganizationId("contoso-copy")).toBe(copyOrganizationId("contoso-copy"));
    expect(copyOrganizationId("contoso-copy")).not.toBe(copyOrganizationId("contoso-2"));
    expect(copyOrganizationId("contoso-copy")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it("has the same records with the same GUIDs as its source (first accounts, a contact, the systemusers)", async () => {
    const q = "accounts?$select=name,accountnumber,revenue,_primarycontactid_value&$orderby=accountid&$top=20";
    const src = await get("contoso", q);
    const copy = await get("contoso-copy", q);
    expect(src.status).toBe(200);
    expect(copy.status).toBe(200);
    expect(copy.body.value.map((r: any) => r.accountid)).toEqual(src.body.value.map((r: any) => r.accountid));
    const strip = (rows: any[]) => rows.map(({ "@odata.etag": _e, ...r }) => r);
    expect(strip(copy.body.value)).toEqual(strip(src.body.value));
    const contactId = src.body.value.find((r: any) => r._primarycontactid_value)._primarycontactid_value;
    const [c1, c2] = await Promise.all([
      get("contoso", `contacts(${contactId})?$select=fullname`),
      get("contoso-copy", `contacts(${contactId})?$select=fullname`),
    ]);
    expect(c2.status).toBe(200);
    expect(c2.body.fullname).toBe(c1.body.fullname);
    const users = async (key: string) => (await get(key, "systemusers?$select=domainname&$orderby=systemuserid")).body.value;
    expect(await users("contoso-copy")).toEqual(await users("contoso"));
  });

  it("answers WhoAmI with its own OrganizationId, and the same user and business unit ids", async () => {
    const src = await get("contoso", "WhoAmI");
    const copy = await get("contoso-copy", "WhoAmI");
    expect(src.body.OrganizationId).toBe(ORG_CONTOSO);
    expect(copy.body.OrganizationId).toBe(org("contoso-copy").organizationId);
    expect(copy.body.OrganizationId).not.toBe(src.body.OrganizationId);
    expect(copy.body.UserId).toBe(src.body.UserId);
    expect(copy.body.BusinessUnitId).toBe(BU_CONTOSO);
    expect((await get("contoso-2", "WhoAmI")).body.OrganizationId).toBe(org("contoso-2").organizationId);
  });

  it("has the source's security roles (same role ids) and the same application user", async () => {
    for (const p of ["admin@contoso.example", "limited@contoso.example", "basic@contoso.example", sb.apps[0]!.clientId]) {
      const src = await control(org("contoso"), "GET", `privileges/${encodeURIComponent(p)}`);
      const copy = await control(org("contoso-copy"), "GET", `privileges/${encodeURIComponent(p)}`);
      expect(copy.status).toBe(200);
      expect(copy.json).toEqual(src.json);
    }
    // as in its source: the connector app has no application user in the fabrikam copy
    const r = await get("fabrikam-copy", "WhoAmI");
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("0x80072560");
  });

  it("reports copyOf and the OrganizationId on the control API", async () => {
    const info = await control(org("contoso-copy"), "GET", "");
    expect(info.json).toMatchObject({ org: "contoso-copy", organizationId: org("contoso-copy").organizationId, tenantId: TENANT_CONTOSO, copyOf: "contoso" });
    expect((await control(org("contoso"), "GET", "")).json.copyOf).toBeUndefined();
  });
});

describe("org copies: independent data", () => {
  it("keeps a write on the copy away from the source (and the other way round)", async () => {
    const first = (await get("contoso", "accounts?$select=name&$top=2")).body.value as Array<{ accountid: string; name: string }>;
    const [a, b] = first;
    await control(org("contoso-copy"), "PATCH", `rows/account/${a!.accountid}`, { name: "Renamed in the copy" });
    await control(org("contoso"), "DELETE", `rows/account/${b!.accountid}`);
    const created = (await control(org("contoso-copy"), "POST", "rows/account", { name: "Only in the copy" })).json;

    expect((await get("contoso-copy", `accounts(${a!.accountid})?$select=name`)).body.name).toBe("Renamed in the copy");
    expect((await get("contoso", `accounts(${a!.accountid})?$select=name`)).body.name).toBe(a!.name);
    expect((await get("contoso-2", `accounts(${a!.accountid})?$select=name`)).body.name).toBe(a!.name);
    expect((await get("contoso", `accounts(${b!.accountid})?$select=name`)).status).toBe(404);
    expect((await get("contoso-copy", `accounts(${b!.accountid})?$select=name`)).body.name).toBe(b!.name);
    expect((await get("contoso", `accounts(${created.accountid})?$select=name`)).status).toBe(404);
    const count = async (key: string) => (await get(key, `RetrieveTotalRecordCount(EntityNames=@p)?@p=["account"]`)).body.EntityRecordCountCollection.Values[0];
    expect(await count("contoso")).toBe(299);
    expect(await count("contoso-copy")).toBe(301);
    expect(await count("contoso-2")).toBe(300);
  });

  it("keeps faults, privilege changes and schema drift to the org they were set on", async () => {
    expect((await control(org("contoso-copy"), "POST", "faults", { kind: "503", path: "accounts" })).status).toBe(201);
    await control(org("contoso-copy"), "POST", "privileges", { principal: sb.apps[0]!.clientId, entity: "contact", depth: "None" });
    await control(org("contoso-copy"), "DELETE", "schema/account/revenue");

    expect((await get("contoso-copy", "accounts?$select=name&$top=1")).status).toBe(503);
    expect((await get("contoso-copy", "contacts?$select=fullname&$top=1")).status).toBe(403);
    const src = await get("contoso", "accounts?$select=name,revenue&$top=1");
    expect(src.status).toBe(200);
    expect(src.body.value[0].revenue).toEqual(expect.any(Number));
    expect((await get("contoso", "contacts?$select=fullname&$top=1")).status).toBe(200);
    expect((await control(org("contoso"), "GET", "faults")).json.faults).toEqual([]);

    await control(org("contoso-copy"), "POST", "reset");
    expect((await get("contoso-copy", "accounts?$select=name,revenue&$top=1")).status).toBe(200);
  });
});

describe("org copies: tokens", () => {
  it("issues client-credentials tokens for the copy's URL that the copy accepts and the source refuses", async () => {
    const t = await appToken(sb, orgIndex("contoso-copy"));
    expect(decodeJwt(t)).toMatchObject({ aud: org("contoso-copy").url, tid: TENANT_CONTOSO, idtyp: "app" });
    expect((await get("contoso-copy", "WhoAmI", t)).status).toBe(200);
    expect((await get("contoso", "WhoAmI", t)).status).toBe(401);
    expect((await get("contoso-copy", "WhoAmI", await appToken(sb, orgIndex("contoso")))).status).toBe(401);
  });

  it("issues user tokens (authorization code + PKCE) for the copy's resource, with the same users", async () => {
    const scope = `${org("contoso-copy").url}/user_impersonation openid profile offline_access`;
    const { verifier, challenge } = pkcePair();
    const r = await redeem(sb, await authorizeCode(sb, "admin@contoso.example", challenge, scope), verifier, scope);
    expect(r.status).toBe(200);
    const t = await r.json();
    expect(decodeJwt(t.access_token)).toMatchObject({ aud: org("contoso-copy").url, upn: "admin@contoso.example", tid: TENANT_CONTOSO });
    const who = await get("contoso-copy", "WhoAmI", t.access_token);
    expect(who.status).toBe(200);
    expect(who.body.OrganizationId).toBe(org("contoso-copy").organizationId);
    // the limited user of the source is limited in the copy too
    const limited = await mintToken(sb, { upn: "limited@contoso.example", audience: org("contoso-copy").url });
    expect((await get("contoso-copy", "contacts?$select=fullname&$top=1", limited)).status).toBe(403);
  });

  it("refuses a token of another tenant on a copy (tid must be the copy's tenant)", async () => {
    const other = await mintToken(sb, { upn: "admin@fabrikam.example", audience: org("contoso-copy").url });
    expect((await get("contoso-copy", "WhoAmI", other)).status).toBe(401);
    const own = await mintToken(sb, { upn: "admin@fabrikam.example", audience: org("fabrikam-copy").url });
    expect((await get("fabrikam-copy", "WhoAmI", own)).body.OrganizationId).toBe(copyOrganizationId("fabrikam-copy"));
  });
});

describe("org copies: options", () => {
  it("refuses a copy of an unknown org, a duplicate key and a bad key", async () => {
    await expect(startSandbox({ quiet: true, copies: [{ key: "x-copy", from: "nowhere" }] })).rejects.toThrow(/not an org/);
    await expect(startSandbox({ quiet: true, copies: [{ key: "fabrikam", from: "contoso" }] })).rejects.toThrow(/already an org/);
    await expect(startSandbox({ quiet: true, copies: [{ key: "Bad Key", from: "contoso" }] })).rejects.toThrow(/bad org copy key/);
  });

  it("copies of a 1,000,000-row org cost no memory per row (rows are regenerated from the shared seed)", async () => {
    const before = process.memoryUsage().heapUsed;
    const big = await startSandbox({ rows: 1_000_000, quiet: true, copies: [1, 2, 3, 4, 5, 6, 7, 8].map((i) => ({ key: `contoso-${i}`, from: "contoso" })) });
    try {
      const growthMb = (process.memoryUsage().heapUsed - before) / 1048576;
      expect(growthMb).toBeLessThan(64);
      const last = big.orgs.find((o) => o.key === "contoso-8")!;
      const t = await appToken(big, big.orgs.indexOf(last));
      const r = await odataGet(`${API(last)}accounts(${rowGuid("account", 0, 999_999)})?$select=accountnumber`, t);
      expect(r.body.accountnumber).toBe("AC-1000000");
    } finally {
      await big.stop();
    }
  });
});
