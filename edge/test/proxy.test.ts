import { describe, expect, it } from "vitest";
import { validateProxyPath } from "../src/security/proxy-path";
import { actors, call, createConnection, expectError } from "./helpers";

const DYN = { "X-Dynamics-Token": "eyJ0eXAiOiJKV1QifQ.eyJ4IjoxfQ.c2ln" };

async function conn() {
  const act = await actors();
  // A real Dataverse host name: every request below must be refused before any network call.
  const c = await createConnection(act.admin, "https://contoso.crm.dynamics.com");
  return { ...act, c };
}

/** SSRF and smuggling attempts: each must be refused by the edge (never forwarded). */
const ATTEMPTS: string[] = [
  "%2e%2e/%2e%2e/evil",
  "accounts%2f..%2f..%2fadmin",
  "accounts%2F%2E%2E",
  "accounts%5c..%5cadmin",
  "%2F%2Fevil.example/x",
  "%40evil.example",
  "accounts@evil.example",
  "http:%2F%2Fevil.example",
  "https:evil.example",
  "http://evil.example/",
  "accounts%00",
  "accounts%0d%0aHost:%20evil",
  "accounts%09",
  "accounts%252e%252e",
  "accounts/%2e",
  "accounts%3a8080",
  "accounts%3fx=1",
  "accounts%23frag",
  "accounts//x",
  "accounts/./x",
  "accounts<script>",
  'accounts"quoted"',
  "~root",
  "accounts%C0%AE%C0%AE",
];

describe("proxy path validation (unit)", () => {
  for (const p of ATTEMPTS) {
    it(`refuses the path ${p}`, () => {
      expect(validateProxyPath(p).ok).toBe(false);
    });
  }
  for (const p of [
    "accounts",
    "accounts(00000000-0000-0000-0000-000000000001)",
    "EntityDefinitions(LogicalName='account')/Attributes",
    "WhoAmI",
    "$batch",
    "contacts(0000)/parentcustomerid_account",
    "RetrieveTotalRecordCount(EntityNames=['account'])",
  ]) {
    it(`accepts the path ${p}`, () => {
      expect(validateProxyPath(p)).toMatchObject({ ok: true });
    });
  }
});

describe("proxy refusals over HTTP", () => {
  // `accounts/./x` is excluded here: the URL parser turns it into the legitimate `accounts/x` before the route sees it.
  for (const p of ATTEMPTS.filter((x) => x !== "accounts/./x")) {
    it(`refuses ${p} without forwarding`, async () => {
      const { admin, c } = await conn();
      const res = await call("GET", `/api/v1/connections/${c.id}/dynamics/${p}`, { token: admin, headers: DYN });
      expect(res.status).toBeGreaterThanOrEqual(400);
      const body: any = await res.json();
      // The URL parser collapses some forms before the route sees them; those no longer match the proxy route (404).
      expect(["proxy_refused", "not_found"]).toContain(body.error.code);
    });
  }

  it("refuses .. traversal that leaves the proxy prefix (never reaches another route)", async () => {
    const { admin, c } = await conn();
    const res = await call("GET", `/api/v1/connections/${c.id}/dynamics/../../../connections`, { token: admin, headers: DYN });
    // `/api/v1/connections/<id>/dynamics/../../../connections` normalises to /api/v1/connections: no proxy involved.
    expect(res.headers.get("content-type")).toMatch(/json/);
    expect(res.status).not.toBe(502);
  });

  it("refuses POST other than $batch", async () => {
    const { admin, c } = await conn();
    await expectError(
      await call("POST", `/api/v1/connections/${c.id}/dynamics/accounts`, { token: admin, headers: DYN, body: { name: "x" } }),
      405,
      "method_not_allowed",
    );
  });

  it("refuses PATCH", async () => {
    const { admin, c } = await conn();
    await expectError(
      await call("PATCH", `/api/v1/connections/${c.id}/dynamics/accounts(1)`, { token: admin, headers: DYN, body: { name: "x" } }),
      405,
      "method_not_allowed",
    );
  });

  it("refuses DELETE", async () => {
    const { admin, c } = await conn();
    await expectError(await call("DELETE", `/api/v1/connections/${c.id}/dynamics/accounts(1)`, { token: admin, headers: DYN }), 405, "method_not_allowed");
  });

  it("refuses GET of $batch", async () => {
    const { admin, c } = await conn();
    await expectError(await call("GET", `/api/v1/connections/${c.id}/dynamics/$batch`, { token: admin, headers: DYN }), 405, "method_not_allowed");
  });

  it("refuses $batch without a multipart content type", async () => {
    const { admin, c } = await conn();
    await expectError(await call("POST", `/api/v1/connections/${c.id}/dynamics/$batch`, { token: admin, headers: DYN, body: { x: 1 } }), 400, "proxy_refused");
  });

  it("refuses a $batch body over 1 MB", async () => {
    const { admin, c } = await conn();
    const res = await call("POST", `/api/v1/connections/${c.id}/dynamics/$batch`, {
      token: admin,
      headers: { ...DYN, "Content-Type": "multipart/mixed; boundary=batch_1" },
      rawBody: "x".repeat(1024 * 1024 + 10),
    });
    await expectError(res, 413, "payload_too_large");
  });

  it("refuses a $batch from a viewer", async () => {
    const { viewer, c } = await conn();
    await expectError(
      await call("POST", `/api/v1/connections/${c.id}/dynamics/$batch`, {
        token: viewer,
        headers: { ...DYN, "Content-Type": "multipart/mixed; boundary=b" },
        rawBody: "--b--",
      }),
      403,
      "forbidden",
    );
  });

  it("requires X-Dynamics-Token", async () => {
    const { admin, c } = await conn();
    await expectError(await call("GET", `/api/v1/connections/${c.id}/dynamics/accounts`, { token: admin }), 401, "dynamics_token_missing");
  });

  it("refuses an X-Dynamics-Token with header-breaking characters", async () => {
    const { admin, c } = await conn();
    await expectError(
      await call("GET", `/api/v1/connections/${c.id}/dynamics/accounts`, { token: admin, headers: { "X-Dynamics-Token": "a b;c" } }),
      401,
      "dynamics_token_invalid",
    );
  });

  it("refuses a query string with encoded CR/LF", async () => {
    const { admin, c } = await conn();
    await expectError(
      await call("GET", `/api/v1/connections/${c.id}/dynamics/accounts?$filter=x%0d%0aHost:evil`, { token: admin, headers: DYN }),
      400,
      "proxy_refused",
    );
  });

  it("answers 404 for an unknown connection", async () => {
    const { admin } = await conn();
    await expectError(await call("GET", `/api/v1/connections/conn_nope/dynamics/accounts`, { token: admin, headers: DYN }), 404, "not_found");
  });

  it("requires the host token", async () => {
    const { c } = await conn();
    await expectError(await call("GET", `/api/v1/connections/${c.id}/dynamics/accounts`, { headers: DYN }), 401, "unauthorized");
  });
});
