import { describe, expect, it } from "vitest";
import { ODataPage, resolveDataverseUrl } from "../../src/dataverse/client";

const org = "https://contoso.crm4.dynamics.com";

describe("Dataverse client URL rules", () => {
  it("resolves a relative path under /api/data/v9.2/", () => {
    expect(resolveDataverseUrl(org, "accounts?$select=name").toString()).toBe("https://contoso.crm4.dynamics.com/api/data/v9.2/accounts?$select=name");
  });

  it("accepts a nextLink on the same org and API base unchanged", () => {
    const next = `${org}/api/data/v9.2/accounts?$select=name&$skiptoken=%3Ccookie%20pagenumber=%222%22%3E`;
    expect(resolveDataverseUrl(org, next).toString()).toBe(next);
  });

  it("refuses a link to another host", () => {
    expect(() => resolveDataverseUrl(org, "https://evil.example/api/data/v9.2/accounts")).toThrow(/outside/);
  });

  it("refuses a path that climbs out of the API base", () => {
    expect(() => resolveDataverseUrl(org, "../../../_sandbox/reset")).toThrow(/outside/);
  });
});

describe("ODataPage", () => {
  it("takes each row as it came (no copy) and refuses a row that is not a JSON object", () => {
    const row = { accountid: "a", "name@OData.Community.Display.V1.FormattedValue": "A" };
    const page = ODataPage.parse({ value: [row], "@odata.nextLink": "x" });
    expect(page.value[0]).toBe(row);
    for (const bad of [null, "row", 7, ["a"]]) {
      const r = ODataPage.safeParse({ value: [row, bad] });
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual(["value", 1]);
    }
  });
});
