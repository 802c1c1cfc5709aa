import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type SandboxInfo } from "../../demo/sandbox/index";
import { API, appToken, odataGet } from "./helpers";

let sb: SandboxInfo;
let token: string;
let api: string;
const ROWS = 3000;
const LLN = "@Microsoft.Dynamics.CRM.lookuplogicalname";

const get = (path: string, prefer?: string) => odataGet(path.startsWith("http") ? path : api + path, token, prefer);

async function all(path: string, pageSize = 5000): Promise<any[]> {
  const out: any[] = [];
  let next: string | undefined = path;
  while (next) {
    const r = await get(next, `odata.maxpagesize=${pageSize}`);
    expect(r.status).toBe(200);
    out.push(...r.body.value);
    next = r.body["@odata.nextLink"];
  }
  return out;
}

beforeAll(async () => {
  sb = await startSandbox({ rows: ROWS, quiet: true });
  api = API(sb.orgs[0]!);
  token = await appToken(sb);
});
afterAll(async () => {
  await sb?.stop();
});

describe("service document and WhoAmI", () => {
  it("lists entity sets in the service document", async () => {
    const r = await get("");
    expect(r.status).toBe(200);
    const names = r.body.value.map((x: any) => x.name);
    expect(names).toEqual(expect.arrayContaining(["accounts", "contacts", "systemusers", "transactioncurrencies", "cr123_projects"]));
  });
  it("answers WhoAmI with the application user's ids", async () => {
    const r = await get("WhoAmI");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ BusinessUnitId: expect.any(String), UserId: expect.any(String), OrganizationId: sb.orgs[0]!.organizationId });
  });
});

describe("paging", () => {
  it("writes the $skiptoken paging cookie in Dataverse's format", async () => {
    const r = await get("accounts?$select=name", "odata.maxpagesize=10");
    expect(r.headers.get("preference-applied")).toBe("odata.maxpagesize=10");
    const next: string = r.body["@odata.nextLink"];
    expect(
      next.startsWith(
        `${api}accounts?$select=name&$skiptoken=%3Ccookie%20pagenumber=%222%22%20pagingcookie=%22%253ccookie%2520page%253d%25221%2522%253e%253caccountid%2520last%253d%2522%257b`,
      ),
    ).toBe(true);
    const token = decodeURIComponent(next.split("$skiptoken=")[1]!);
    const m = /^<cookie pagenumber="2" pagingcookie="([^"]+)" istracking="False" \/>$/.exec(token);
    expect(m).not.toBeNull();
    const inner = decodeURIComponent(m![1]!);
    const ids = r.body.value.map((x: any) => x.accountid.toUpperCase());
    expect(inner).toBe(`<cookie page="1"><accountid last="{${ids[9]}}" first="{${ids[0]}}" /></cookie>`);
  });

  it("round-trips nextLinks over every row without gaps or repeats", async () => {
    const rows = await all("accounts?$select=accountid", 500);
    expect(rows).toHaveLength(ROWS);
    const ids = rows.map((x) => x.accountid);
    expect(new Set(ids).size).toBe(ROWS);
    expect([...ids].sort()).toEqual(ids); // primary-key order is stable
  });

  it("pages a custom $orderby with a keyset cookie that matches a full sort", async () => {
    const paged = await all("accounts?$select=name,accountid&$orderby=name asc,createdon desc&$filter=statecode eq 0", 333);
    const full = (await all("accounts?$select=name,createdon,accountid&$filter=statecode eq 0")).sort((a, b) => {
      const n = a.name.toLowerCase() < b.name.toLowerCase() ? -1 : a.name.toLowerCase() > b.name.toLowerCase() ? 1 : 0;
      if (n) return n;
      const c = Date.parse(b.createdon) - Date.parse(a.createdon);
      return c || (a.accountid < b.accountid ? -1 : 1);
    });
    expect(paged.map((x) => x.accountid)).toEqual(full.map((x) => x.accountid));
  });

  it("returns at most $top rows and no nextLink when maxpagesize is absent", async () => {
    const r = await get("accounts?$select=name&$top=7");
    expect(r.body.value).toHaveLength(7);
    expect(r.body["@odata.nextLink"]).toBeUndefined();
  });

  it("caps @odata.count at 5000 and serves /$count as text", async () => {
    const r = await get("contacts?$select=fullname&$count=true", "odata.maxpagesize=1");
    expect(r.body["@odata.count"]).toBe(4500);
    const c = await get("accounts/$count");
    expect(c.status).toBe(200);
    expect(c.headers.get("content-type")).toMatch(/text\/plain/);
    expect(c.body).toBe(ROWS);
  });
});

describe("records and annotations", () => {
  it('returns @odata.context and a W/"versionnumber" etag on each record', async () => {
    const r = await get("accounts?$select=name,versionnumber&$top=2");
    expect(r.body["@odata.context"]).toBe(`${api}$metadata#accounts(name,versionnumber)`);
    for (const x of r.body.value) expect(x["@odata.etag"]).toBe(`W/"${x.versionnumber}"`);
  });

  it("adds FormattedValue, lookuplogicalname and associatednavigationproperty with include-annotations", async () => {
    const r = await get(
      "contacts?$select=fullname,gendercode,birthdate,annualincome,donotemail,parentcustomerid,createdon&$filter=annualincome ne null and birthdate ne null&$top=1",
      'odata.include-annotations="*"',
    );
    const x = r.body.value[0];
    expect(x["gendercode@OData.Community.Display.V1.FormattedValue"]).toMatch(/^(Male|Female)$/);
    expect(x["birthdate"]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(x["birthdate@OData.Community.Display.V1.FormattedValue"]).toMatch(/^\d{1,2}\/\d{1,2}\/\d{4}$/);
    expect(x["annualincome@OData.Community.Display.V1.FormattedValue"]).toMatch(/^[$€][\d,]+\.\d\d$/);
    expect(typeof x["donotemail@OData.Community.Display.V1.FormattedValue"]).toBe("string");
    expect(x["_transactioncurrencyid_value"]).toMatch(/^[0-9a-f-]{36}$/); // money brings its currency
    expect(x["createdon@OData.Community.Display.V1.FormattedValue"]).toMatch(/ (AM|PM)$/);
    if (x._parentcustomerid_value) {
      const type = x["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"];
      expect(["account", "contact"]).toContain(type);
      expect(x["_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"]).toBe(`parentcustomerid_${type}`);
      const keys = Object.keys(x);
      expect(keys.indexOf("_parentcustomerid_value@OData.Community.Display.V1.FormattedValue")).toBeLessThan(keys.indexOf("_parentcustomerid_value"));
    }
  });

  it("omits annotations without the Prefer header", async () => {
    const r = await get("accounts?$select=industrycode&$top=1");
    expect(Object.keys(r.body.value[0]).some((k) => k.includes("@OData.Community"))).toBe(false);
  });

  it("reads a single record by key and 404s an unknown one", async () => {
    const first = (await get("accounts?$select=name&$top=1")).body.value[0];
    const one = await get(`accounts(${first.accountid})?$select=name`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ name: first.name, accountid: first.accountid, "@odata.context": `${api}$metadata#accounts(name)/$entity` });
    const missing = await get("accounts(00000000-0000-4000-8000-000000000000)");
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("0x80040217");
  });
});

describe("$expand", () => {
  it("nests the Customer lookup target and nulls the nav property of the other type", async () => {
    const rows = await all(
      "contacts?$select=fullname,_parentcustomerid_value&$expand=parentcustomerid_account($select=name),parentcustomerid_contact($select=fullname)",
    );
    const toContact = rows.find((x) => x.parentcustomerid_contact !== null);
    const toAccount = rows.find((x) => x.parentcustomerid_account !== null);
    const toNothing = rows.find((x) => x._parentcustomerid_value === null);
    expect(toContact.parentcustomerid_account).toBeNull();
    expect(toContact.parentcustomerid_contact).toEqual({ fullname: expect.any(String), contactid: toContact._parentcustomerid_value });
    expect(toAccount.parentcustomerid_contact).toBeNull();
    expect(toAccount.parentcustomerid_account.accountid).toBe(toAccount._parentcustomerid_value);
    expect(toAccount.parentcustomerid_account["@odata.etag"]).toBeUndefined();
    expect(toNothing.parentcustomerid_account).toBeNull();
  });

  it("expands the custom table's lookup to account", async () => {
    const r = await get(
      "cr123_projects?$select=cr123_name,cr123_budget,cr123_stage,cr123_duedate&$expand=cr123_accountid($select=name)&$filter=_cr123_accountid_value ne null&$top=1",
      'odata.include-annotations="*"',
    );
    const x = r.body.value[0];
    expect(x.cr123_accountid.name).toEqual(expect.any(String));
    expect(x["cr123_stage@OData.Community.Display.V1.FormattedValue"]).toMatch(/Proposed|Planning|In Progress|On Hold|Completed/);
    expect(x.cr123_duedate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("rejects an unknown navigation property", async () => {
    const r = await get("accounts?$expand=nothing_here");
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain("nothing_here");
  });
});

describe("$filter", () => {
  let accounts: any[];
  beforeAll(async () => {
    accounts = await all("accounts?$select=name,revenue,industrycode,statecode,createdon,_parentaccountid_value,lastusedincampaign");
  });
  const ids = (rows: any[]): string[] => rows.map((x) => x.accountid);
  const cases: Array<[string, (x: any) => boolean]> = [
    ["(industrycode eq 1 or industrycode eq 2) and not (statecode eq 1)", (x) => (x.industrycode === 1 || x.industrycode === 2) && x.statecode !== 1],
    ["contains(name,'labs') and revenue gt 1000000", (x) => x.name.toLowerCase().includes("labs") && x.revenue > 1000000],
    ["startswith(name,'North') or endswith(name,'GmbH')", (x) => x.name.startsWith("North") || x.name.endsWith("GmbH")],
    [
      "createdon ge 2021-01-01T00:00:00Z and createdon lt 2022-01-01T00:00:00Z",
      (x) => x.createdon >= "2021-01-01T00:00:00Z" && x.createdon < "2022-01-01T00:00:00Z",
    ],
    ["_parentaccountid_value ne null", (x) => x._parentaccountid_value !== null],
    ["lastusedincampaign eq null", (x) => x.lastusedincampaign === null],
    ["lastusedincampaign le 2020-06-30", (x) => x.lastusedincampaign !== null && x.lastusedincampaign <= "2020-06-30"],
    ["accountid eq A0000000-0001-4000-8000-000000000005", (x) => x.accountid === "a0000000-0001-4000-8000-000000000005"],
    ["revenue ge 100.5 and revenue le 2000000.75", (x) => x.revenue >= 100.5 && x.revenue <= 2000000.75],
  ];
  for (const [filter, pred] of cases) {
    it(`evaluates ${filter}`, async () => {
      const got = await all(`accounts?$select=name&$filter=${encodeURIComponent(filter)}`);
      const want = accounts.filter(pred);
      expect(want.length).toBeGreaterThan(0);
      expect(ids(got)).toEqual(ids(want));
    });
  }

  it("matches strings case-insensitively with '' escaping", async () => {
    const r = await all(`contacts?$select=lastname&$filter=${encodeURIComponent("lastname eq 'o''brien'")}`);
    expect(r.length).toBeGreaterThan(0);
    for (const x of r) expect(x.lastname).toBe("O'Brien");
  });

  it("answers a syntax error with 400 and code 0x80060888", async () => {
    const r = await get(`accounts?$filter=${encodeURIComponent("name eqq 'x'")}`);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("0x80060888");
    expect(r.body.error.message).toMatch(/Syntax error/);
  });

  it("names an unknown property in the error", async () => {
    const r = await get(`accounts?$select=nope`);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe("Could not find a property named 'nope' on type 'Microsoft.Dynamics.CRM.account'.");
  });
});

// Microsoft.Dynamics.CRM.In (Web API query function reference) and "Filter using lookup column property values"
// (`<single-valued navigation property>/<property name>`, Query data: filter rows) — what a through-lookup read uses.
describe("$filter: the In query function and lookup column property values", () => {
  let contacts: any[];
  let accounts: any[];
  beforeAll(async () => {
    // With the lookuplogicalname annotation: which table each Customer lookup points at.
    contacts = [];
    let next: string | undefined = "contacts?$select=fullname,_parentcustomerid_value";
    while (next) {
      const r = await get(next, 'odata.include-annotations="*",odata.maxpagesize=5000');
      contacts.push(...r.body.value);
      next = r.body["@odata.nextLink"];
    }
    accounts = await all("accounts?$select=name,modifiedon");
  });
  const inFilter = (prop: string, values: string[]) =>
    `Microsoft.Dynamics.CRM.In(PropertyName='${prop}',PropertyValues=[${values.map((v) => `'${v}'`).join(",")}])`;

  it("In returns the rows whose property is one of the values (GUIDs given as strings, any case), nothing else", async () => {
    const want = accounts.slice(0, 7).map((a) => a.accountid);
    const r = await get(
      `accounts?$select=name&$filter=${encodeURIComponent(inFilter("accountid", [...want.slice(0, 6), want[6].toUpperCase(), "00000000-0000-4000-8000-000000000000"]))}`,
    );
    expect(r.status).toBe(200);
    expect(r.body.value.map((x: any) => x.accountid).sort()).toEqual([...want].sort());
  });

  it("In on a lookup's _x_value finds the rows that point at the given records", async () => {
    const parents = [...new Set(contacts.map((c) => c._parentcustomerid_value).filter(Boolean))].slice(0, 5) as string[];
    const got = await all(`contacts?$select=fullname,_parentcustomerid_value&$filter=${encodeURIComponent(inFilter("_parentcustomerid_value", parents))}`);
    const want = contacts.filter((c) => parents.includes(c._parentcustomerid_value));
    expect(want.length).toBeGreaterThan(0);
    expect(got.map((x) => x.contactid).sort()).toEqual(want.map((x) => x.contactid).sort());
  });

  it("In needs its two named parameters", async () => {
    const r = await get(`accounts?$filter=${encodeURIComponent("Microsoft.Dynamics.CRM.In(PropertyValues=['x'])")}`);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("0x80060888");
  });

  it("filters on a property of the record a Customer lookup points at (nav/property), null when it points at another table", async () => {
    const since = [...accounts.map((a) => a.modifiedon)].sort()[Math.floor(accounts.length / 2)];
    const recent = new Set(accounts.filter((a) => a.modifiedon >= since).map((a) => a.accountid));
    const got = await all(`contacts?$select=fullname&$filter=${encodeURIComponent(`parentcustomerid_account/modifiedon ge ${since}`)}`);
    const want = contacts.filter((c) => c[`_parentcustomerid_value${LLN}`] === "account" && recent.has(c._parentcustomerid_value));
    expect(want.length).toBeGreaterThan(0);
    expect(got.map((x) => x.contactid).sort()).toEqual(want.map((x) => x.contactid).sort());
  });

  it("names an unknown navigation property in a filter", async () => {
    const r = await get(`contacts?$filter=${encodeURIComponent("nope_account/name eq 'x'")}`);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe("Could not find a property named 'nope_account' on type 'Microsoft.Dynamics.CRM.contact'.");
  });
});

describe("rejected query options", () => {
  for (const opt of ["$skip=10", "$search=contoso", "$format=json", "$foo=1", "$SELECT=name"]) {
    it(`rejects ${opt.split("=")[0]} with a Dataverse error`, async () => {
      const r = await get(`accounts?${opt}`);
      expect(r.status).toBe(400);
      expect(r.body.error).toEqual({ code: "0x80060888", message: `The query parameter ${opt.split("=")[0]} is not supported` });
    });
  }
});

describe("metadata", () => {
  it("lists 800+ EntityDefinitions with change tracking on account/contact/cr123_project and off on systemuser", async () => {
    const r = await get(
      "EntityDefinitions?$select=LogicalName,EntitySetName,DisplayName,PrimaryIdAttribute,PrimaryNameAttribute,IsCustomEntity,ChangeTrackingEnabled",
    );
    expect(r.body.value.length).toBeGreaterThanOrEqual(800);
    const by = new Map(r.body.value.map((e: any) => [e.LogicalName, e]));
    expect(by.get("account")).toMatchObject({
      EntitySetName: "accounts",
      PrimaryIdAttribute: "accountid",
      PrimaryNameAttribute: "name",
      ChangeTrackingEnabled: true,
      IsCustomEntity: false,
      DisplayName: { UserLocalizedLabel: { Label: "Account" } },
    });
    expect(by.get("contact")).toMatchObject({ ChangeTrackingEnabled: true });
    expect(by.get("cr123_project")).toMatchObject({ ChangeTrackingEnabled: true, IsCustomEntity: true, EntitySetName: "cr123_projects" });
    expect(by.get("systemuser")).toMatchObject({ ChangeTrackingEnabled: false });
  });

  it("returns attributes in Dataverse's metadata shape", async () => {
    const r = await get(
      "EntityDefinitions(LogicalName='account')/Attributes?$select=LogicalName,SchemaName,AttributeType,AttributeTypeName,DisplayName,RequiredLevel,IsValidForRead&$filter=LogicalName eq 'name'",
    );
    expect(r.body.value).toHaveLength(1);
    expect(r.body.value[0]).toMatchObject({
      "@odata.type": "#Microsoft.Dynamics.CRM.StringAttributeMetadata",
      MetadataId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      LogicalName: "name",
      SchemaName: "Name",
      AttributeType: "String",
      AttributeTypeName: { Value: "StringType" },
      DisplayName: { UserLocalizedLabel: { Label: "Account Name" }, LocalizedLabels: [expect.objectContaining({ Label: "Account Name", LanguageCode: 1033 })] },
      RequiredLevel: { Value: "ApplicationRequired" },
      IsValidForRead: true,
    });
  });

  it("casts to LookupAttributeMetadata with Targets (Customer → account, contact)", async () => {
    const r = await get("EntityDefinitions(LogicalName='contact')/Attributes/Microsoft.Dynamics.CRM.LookupAttributeMetadata?$select=LogicalName,Targets");
    const pc = r.body.value.find((a: any) => a.LogicalName === "parentcustomerid");
    expect(pc.Targets).toEqual(["account", "contact"]);
    expect(r.body.value.every((a: any) => a["@odata.type"] === "#Microsoft.Dynamics.CRM.LookupAttributeMetadata")).toBe(true);
  });

  it("casts to PicklistAttributeMetadata with OptionSet and GlobalOptionSet expanded", async () => {
    const r = await get(
      "EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options),GlobalOptionSet($select=Options)",
    );
    const ind = r.body.value.find((a: any) => a.LogicalName === "industrycode");
    expect(ind.GlobalOptionSet).toBeNull();
    expect(ind.OptionSet.Options[0]).toMatchObject({ Value: 1, Label: { UserLocalizedLabel: { Label: "Accounting" } } });
  });

  it("casts to Boolean, State, Status and MultiSelectPicklist metadata", async () => {
    const b = await get(
      "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='donotemail')/Microsoft.Dynamics.CRM.BooleanAttributeMetadata?$select=LogicalName&$expand=OptionSet",
    );
    expect(b.body.OptionSet.TrueOption).toMatchObject({ Value: 1, Label: { UserLocalizedLabel: { Label: "Do Not Allow" } } });
    const s = await get(
      "EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.StatusAttributeMetadata?$select=LogicalName&$expand=OptionSet",
    );
    expect(s.body.value[0].OptionSet.Options[0]).toMatchObject({ Value: 1, State: 0 });
    const st = await get(
      "EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.StateAttributeMetadata?$select=LogicalName&$expand=OptionSet",
    );
    expect(st.body.value[0].OptionSet.Options.map((o: any) => o.Value)).toEqual([0, 1]);
    const ms = await get(
      "EntityDefinitions(LogicalName='cr123_project')/Attributes/Microsoft.Dynamics.CRM.MultiSelectPicklistAttributeMetadata?$select=LogicalName,AttributeType,AttributeTypeName&$expand=OptionSet",
    );
    expect(ms.body.value[0]).toMatchObject({ LogicalName: "cr123_tags", AttributeType: "Virtual", AttributeTypeName: { Value: "MultiSelectPicklistType" } });
  });
});

describe("$batch", () => {
  it("answers GET parts of a multipart/mixed batch", async () => {
    const body = [
      "--batch_abc",
      "Content-Type: application/http",
      "Content-Transfer-Encoding: binary",
      "",
      "GET /api/data/v9.2/accounts?$select=name&$top=2 HTTP/1.1",
      "Accept: application/json",
      "",
      "--batch_abc",
      "Content-Type: application/http",
      "Content-Transfer-Encoding: binary",
      "",
      "GET /api/data/v9.2/WhoAmI HTTP/1.1",
      "",
      "--batch_abc--",
      "",
    ].join("\r\n");
    const r = await fetch(api + "$batch", {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "multipart/mixed; boundary=batch_abc" },
      body,
    });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^multipart\/mixed; boundary=batchresponse_/);
    const text = await r.text();
    expect(text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
    expect(text).toContain('"UserId"');
  });
});
