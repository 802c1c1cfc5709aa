import { describe, expect, it } from "vitest";
import { checkOrgUrl } from "./org-url";

describe("checkOrgUrl", () => {
  it("accepts a Dynamics 365 environment address as is", () => {
    expect(checkOrgUrl("https://contoso.crm.dynamics.com")).toEqual({ ok: true, url: "https://contoso.crm.dynamics.com", notes: [], local: false });
  });

  it("accepts regional and sovereign clouds", () => {
    for (const host of [
      "contoso.crm4.dynamics.com",
      "contoso.crm11.dynamics.com",
      "contoso.crm.microsoftdynamics.us",
      "contoso.crm.dynamics.cn",
      "contoso.crm.appsplatform.us",
    ]) {
      expect(checkOrgUrl(`https://${host}`)).toMatchObject({ ok: true, url: `https://${host}` });
    }
  });

  it("normalises the .api. form and says so", () => {
    const r = checkOrgUrl("https://contoso.api.crm4.dynamics.com");
    expect(r).toMatchObject({ ok: true, url: "https://contoso.crm4.dynamics.com" });
    expect(r.ok && r.notes.join(" ")).toContain(".api.");
  });

  it("trims a pasted browser URL's path and query and shows what was removed", () => {
    const r = checkOrgUrl("https://contoso.crm.dynamics.com/main.aspx?appid=42#x");
    expect(r).toMatchObject({ ok: true, url: "https://contoso.crm.dynamics.com" });
    expect(r.ok && r.notes[0]).toContain("/main.aspx?appid=42#x");
  });

  it("adds a missing https://", () => {
    expect(checkOrgUrl("contoso.crm.dynamics.com")).toMatchObject({ ok: true, url: "https://contoso.crm.dynamics.com" });
  });

  it("refuses http, ports, user info, IP literals and other domains", () => {
    expect(checkOrgUrl("http://contoso.crm.dynamics.com").ok).toBe(false);
    expect(checkOrgUrl("https://contoso.crm.dynamics.com:8443").ok).toBe(false);
    expect(checkOrgUrl("https://user:pw@contoso.crm.dynamics.com").ok).toBe(false);
    expect(checkOrgUrl("https://10.0.0.1").ok).toBe(false);
    expect(checkOrgUrl("https://contoso.crm.dynamics.com.evil.example").ok).toBe(false);
    expect(checkOrgUrl("https://crm.dynamics.com").ok).toBe(false);
    expect(checkOrgUrl("").ok).toBe(false);
  });

  it("lets a loopback sandbox through as local, keeping its port", () => {
    expect(checkOrgUrl("http://127.0.0.1:7002")).toMatchObject({ ok: true, url: "http://127.0.0.1:7002", local: true });
  });
});

describe("the same host rule as the edge (#contract/org-url)", () => {
  it.each([
    "contoso.crm0.dynamics.com",
    "contoso.crm1.dynamics.com",
    "contoso.crm23.dynamics.com",
    "contoso.crm99.dynamics.com",
    "contoso.crm.microsoftdynamics.de",
  ])("refuses %s, which the edge refuses too", (host) => {
    expect(checkOrgUrl(`https://${host}`).ok).toBe(false);
  });
});
