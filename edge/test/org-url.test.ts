import { describe, expect, it } from "vitest";
import { normalizeOrgUrl } from "../src/security/org-url";
import { call, expectError, hostToken, json } from "./helpers";

const DEV = "127.0.0.1:8123,localhost:9000";

describe("orgUrl accepted", () => {
  const accepted: Array<[string, string]> = [
    ["https://contoso.crm.dynamics.com", "https://contoso.crm.dynamics.com"],
    ["https://Contoso.CRM.Dynamics.com/", "https://contoso.crm.dynamics.com"],
    ["contoso.crm4.dynamics.com", "https://contoso.crm4.dynamics.com"],
    ["https://contoso.crm2.dynamics.com", "https://contoso.crm2.dynamics.com"],
    ["https://contoso.crm11.dynamics.com", "https://contoso.crm11.dynamics.com"],
    ["https://contoso.crm22.dynamics.com", "https://contoso.crm22.dynamics.com"],
    ["https://contoso.api.crm.dynamics.com", "https://contoso.api.crm.dynamics.com"],
    ["https://contoso.api.crm4.dynamics.com", "https://contoso.api.crm4.dynamics.com"],
    ["https://agency.crm.microsoftdynamics.us", "https://agency.crm.microsoftdynamics.us"],
    ["https://dod-org.crm.appsplatform.us", "https://dod-org.crm.appsplatform.us"],
    ["https://contoso.crm.dynamics.cn", "https://contoso.crm.dynamics.cn"],
    ["https://org-with-dash1.crm5.dynamics.com", "https://org-with-dash1.crm5.dynamics.com"],
    ["http://127.0.0.1:8123", "http://127.0.0.1:8123"],
    ["http://localhost:9000/", "http://localhost:9000"],
  ];
  for (const [input, expected] of accepted) {
    it(`accepts ${input}`, () => {
      const r = normalizeOrgUrl(input, DEV);
      expect(r).toMatchObject({ ok: true, orgUrl: expected });
    });
  }
  it("trims a pasted path and says so", () => {
    const r = normalizeOrgUrl("https://contoso.crm.dynamics.com/main.aspx?appid=123#x", DEV);
    expect(r.ok && r.orgUrl).toBe("https://contoso.crm.dynamics.com");
    expect(r.ok && r.notes[0]).toMatch(/main\.aspx/);
  });
});

describe("orgUrl refused", () => {
  const refused: Array<[string, RegExp]> = [
    ["http://contoso.crm.dynamics.com", /https/],
    ["https://contoso.crm.dynamics.com:8443", /port/],
    ["https://user:pw@contoso.crm.dynamics.com", /user name/],
    ["https://evil.com@contoso.crm.dynamics.com", /user name/],
    ["https://contoso.crm23.dynamics.com", /Dataverse/],
    ["https://contoso.crm1.dynamics.com", /Dataverse/],
    ["https://contoso.dynamics.com", /Dataverse/],
    ["https://crm.dynamics.com", /Dataverse/],
    ["https://contoso.crm.dynamics.com.evil.com", /Dataverse/],
    ["https://evil.com/contoso.crm.dynamics.com", /Dataverse/],
    ["https://contoso.crm.dynamics.us", /Dataverse/],
    ["https://10.0.0.1", /IP/],
    ["https://127.0.0.1", /IP/],
    ["https://[::1]", /IP/],
    ["https://2130706433", /IP/],
    ["https://localhost", /local/],
    ["http://127.0.0.1:8124", /https/],
    ["https://127.0.0.1:8124", /port/],
    ["ftp://contoso.crm.dynamics.com", /https/],
    ["javascript:alert(1)", /https|URL/],
    ["https://contoso.crm.dynamics.com\\@evil.com", /backslash/],
    ["https://a..crm.dynamics.com", /URL|Dataverse/],
  ];
  for (const [input, reason] of refused) {
    it(`refuses ${input}`, () => {
      const r = normalizeOrgUrl(input, DEV);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(reason);
    });
  }
});

describe("orgUrl through the API", () => {
  it("stores the normalised orgUrl and reports the trimmed path in notes", async () => {
    const res = await call("POST", "/api/v1/connections", {
      token: await hostToken(),
      body: { name: "C", orgUrl: "https://CONTOSO.crm.dynamics.com/main.aspx" },
    });
    expect(res.status).toBe(201);
    const body = await json(res);
    expect(body.orgUrl).toBe("https://contoso.crm.dynamics.com");
    expect(body.notes?.[0]).toMatch(/removed/);
  });

  it("refuses a loopback orgUrl not named in DEV_INSECURE_ORG_HOSTS with validation_failed on orgUrl", async () => {
    const e = await expectError(
      await call("POST", "/api/v1/connections", { token: await hostToken(), body: { name: "C", orgUrl: "http://127.0.0.1:1" } }),
      400,
      "validation_failed",
    );
    expect(e.details?.[0]?.path).toBe("orgUrl");
  });
});
