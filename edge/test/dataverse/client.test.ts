import { describe, expect, it } from "vitest";
import { resolveDataverseUrl } from "../../src/dataverse/client";

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
