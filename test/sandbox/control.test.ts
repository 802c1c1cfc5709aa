import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSandbox, type SandboxInfo } from "../../demo/sandbox/index";
import { API, appToken, control, odataGet } from "./helpers";

let sb: SandboxInfo;
let token: string;
const org = (): SandboxInfo["orgs"][number] => sb.orgs[0]!;

const get = (path: string, prefer?: string) => odataGet(path.startsWith("http") ? path : API(org()) + path, token, prefer);

/** Full initial sync with change tracking; returns the rows and the deltaLink. */
async function initialSync(path: string, pageSize = 100): Promise<{ rows: any[]; deltaLink: string }> {
  const rows: any[] = [];
  let next: string | undefined = path;
  for (;;) {
    const r = await get(next!, `odata.track-changes, odata.maxpagesize=${pageSize}`);
    expect(r.status).toBe(200);
    rows.push(...r.body.value);
    if (r.body["@odata.nextLink"]) next = r.body["@odata.nextLink"];
    else return { rows, deltaLink: r.body["@odata.deltaLink"] };
  }
}

beforeAll(async () => {
  sb = await startSandbox({ rows: 300, quiet: true });
  token = await appToken(sb);
});
beforeEach(async () => {
  await control(org(), "POST", "reset");
});
afterAll(async () => {
  await sb?.stop();
});

describe("change tracking", () => {
  it("ends a tracked full sync with a deltaLink carrying $deltatoken", async () => {
    const { rows, deltaLink } = await initialSync("accounts?$select=name");
    expect(rows).toHaveLength(300);
    expect(deltaLink).toMatch(
      new RegExp(`^${API(org()).replace(/[.]/g, "\\.")}accounts\\?\\$select=name&\\$deltatoken=\\d+%21\\d\\d%2f\\d\\d%2f\\d{4}%20\\d\\d%3a\\d\\d%3a\\d\\d$`),
    );
  });

  it("returns created and updated rows, then $deletedEntity entries, in the delta", async () => {
    const { rows, deltaLink } = await initialSync("accounts?$select=name");
    const created = (await control(org(), "POST", "rows/account", { name: "Delta Newco Ltd" })).json;
    await control(org(), "PATCH", `rows/account/${rows[5].accountid}`, { name: "Renamed Inc." });
    await control(org(), "DELETE", `rows/account/${rows[7].accountid}`);
    const d = await get(deltaLink);
    expect(d.status).toBe(200);
    expect(d.body["@odata.context"]).toBe(`${API(org())}$metadata#accounts(name)/$delta`);
    const [a, b, c] = d.body.value;
    expect(a).toMatchObject({ accountid: created.accountid, name: "Delta Newco Ltd", "@odata.etag": expect.stringMatching(/^W\/"\d+"$/) });
    expect(b).toMatchObject({ accountid: rows[5].accountid, name: "Renamed Inc." });
    expect(c).toEqual({ "@odata.context": `${API(org())}$metadata#accounts/$deletedEntity`, id: rows[7].accountid, reason: "deleted" });
    expect(d.body.value).toHaveLength(3);
    const again = await get(d.body["@odata.deltaLink"]);
    expect(again.body.value).toEqual([]);
  });

  it("answers 0x80044352 to an expired delta token", async () => {
    const { deltaLink } = await initialSync("contacts?$select=fullname", 5000);
    expect((await control(org(), "POST", "delta/expire")).status).toBe(200);
    const r = await get(deltaLink);
    expect(r.status).toBe(400);
    expect(r.body.error).toEqual({ code: "0x80044352", message: "Version stamp associated with the client has expired. Please perform a full sync." });
  });

  it("refuses track-changes on an entity with change tracking off", async () => {
    const r = await get("systemusers?$select=fullname", "odata.track-changes");
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain("systemuser");
  });

  it("refuses $filter, $orderby, $expand and $top with track-changes", async () => {
    for (const q of ["$filter=statecode eq 0", "$orderby=name", "$expand=primarycontactid", "$top=5"]) {
      const r = await get(`accounts?$select=name&${q}`, "odata.track-changes");
      expect(r.status, q).toBe(400);
    }
  });

  it("bumps versionnumber monotonically across the org on every change", async () => {
    const a = (await control(org(), "POST", "rows/contact", { firstname: "Ann", lastname: "Lee", fullname: "Ann Lee" })).json;
    const b = (await control(org(), "POST", "rows/cr123_project", { cr123_name: "New project", cr123_accountid: "a0000000-0001-4000-8000-000000000001" })).json;
    expect(b.versionnumber).toBeGreaterThan(a.versionnumber);
    const p = await get(`cr123_projects(${b.cr123_projectid})?$select=cr123_name&$expand=cr123_accountid($select=name)`);
    expect(p.body.cr123_accountid.accountid).toBe("a0000000-0001-4000-8000-000000000001");
  });
});

describe("schema drift", () => {
  it("removes an attribute from metadata and from queries", async () => {
    await control(org(), "DELETE", "schema/account/telephone1");
    const r = await get("accounts?$select=telephone1");
    expect(r.status).toBe(400);
    const m = await get("EntityDefinitions(LogicalName='account')/Attributes?$select=LogicalName");
    expect(m.body.value.map((a: any) => a.LogicalName)).not.toContain("telephone1");
  });
  it("retypes an attribute and converts its values", async () => {
    await control(org(), "PATCH", "schema/account/numberofemployees", { type: "String", maxLength: 20, format: "Text" });
    const r = await get("accounts?$select=numberofemployees&$top=1");
    expect(typeof r.body.value[0].numberofemployees).toBe("string");
    const m = await get("EntityDefinitions(LogicalName='account')/Attributes(LogicalName='numberofemployees')?$select=AttributeType");
    expect(m.body.AttributeType).toBe("String");
  });
});

describe("faults", () => {
  it("injects 429 with Retry-After, rate-limit headers and the 0x80072322 body", async () => {
    await control(org(), "POST", "faults", { kind: "429", nth: 2, retryAfter: 7 });
    expect((await get("accounts?$top=1")).status).toBe(200);
    const r = await get("accounts?$top=1");
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("7");
    expect(r.headers.get("x-ms-ratelimit-burst-remaining-xrm-requests")).toBe("0");
    expect(r.body.error.code).toBe("0x80072322");
    expect((await get("accounts?$top=1")).status).toBe(200);
    const stats = (await control(org(), "GET", "stats")).json;
    expect(stats.byStatus["429"]).toBe(1);
    expect(stats.faults["429"]).toBe(1);
  });

  it("fires rate-based faults deterministically for a given seed", async () => {
    const run = async (): Promise<number[]> => {
      await control(org(), "POST", "reset");
      await control(org(), "POST", "faults", { kind: "503", rate: 0.3, path: "/accounts" });
      const out: number[] = [];
      for (let i = 0; i < 20; i++) out.push((await get("accounts?$top=1")).status);
      return out;
    };
    const a = await run();
    expect(a).toContain(503);
    expect(a).toContain(200);
    expect(await run()).toEqual(a);
  });

  it("drops the connection for a drop fault", async () => {
    await control(org(), "POST", "faults", { kind: "drop", nth: 1 });
    await expect(fetch(API(org()) + "WhoAmI", { headers: { Authorization: `Bearer ${token}` } })).rejects.toThrow();
    expect((await get("WhoAmI")).status).toBe(200);
  });

  it("delays a response for a slow fault", async () => {
    await control(org(), "POST", "faults", { kind: "slow", nth: 1, delayMs: 300 });
    const t0 = Date.now();
    expect((await get("WhoAmI")).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
  });

  it("answers 401 mid-run for a 401 fault and clears faults on DELETE", async () => {
    await control(org(), "POST", "faults", { kind: "401", rate: 1 });
    const r = await get("accounts?$top=1");
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toMatch(/^Bearer authorization_uri=/);
    await control(org(), "DELETE", "faults");
    expect((await get("accounts?$top=1")).status).toBe(200);
  });

  it("removes one fault by id and leaves the others (tests sharing an org remove only their own)", async () => {
    const { ids } = (
      await control(org(), "POST", "faults", [
        { kind: "503", rate: 1, path: "/accounts" },
        { kind: "429", rate: 1, path: "/contacts" },
      ])
    ).json;
    expect((await control(org(), "DELETE", `faults/${ids[0]}`)).status).toBe(200);
    expect((await get("accounts?$top=1")).status).toBe(200);
    expect((await get("contacts?$top=1")).status).toBe(429);
    expect((await control(org(), "DELETE", `faults/${ids[0]}`)).status).toBe(404);
    await control(org(), "DELETE", "faults");
  });
});
