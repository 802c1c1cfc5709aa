import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { SignJWT, base64url } from "jose";
import { call, expectError, hostToken } from "./helpers";

const list = (token?: string, headers: Record<string, string> = {}) => call("GET", "/api/v1/connections", { ...(token ? { token } : {}), headers });

describe("host token", () => {
  it("serves /health without a token", async () => {
    const res = await call("GET", "/api/v1/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, version: expect.any(String) });
  });

  it("accepts a valid HS256 token", async () => {
    expect((await list(await hostToken())).status).toBe(200);
  });

  it("refuses a request without Authorization", async () => {
    const e = await expectError(await list(), 401, "unauthorized");
    expect(e.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("refuses a non-Bearer Authorization header", async () => {
    await expectError(await list(undefined, { Authorization: `Basic ${btoa("a:b")}` }), 401, "unauthorized");
  });

  it("refuses a token that is not a JWT", async () => {
    await expectError(await list("not-a-jwt"), 401, "unauthorized");
  });

  it("refuses an expired token", async () => {
    const e = await expectError(await list(await hostToken({ expiresIn: -120 })), 401, "unauthorized");
    expect(e.message).toMatch(/expired/);
  });

  it("tolerates clock skew up to 60 seconds", async () => {
    expect((await list(await hostToken({ expiresIn: -30 }))).status).toBe(200);
  });

  it("refuses a token signed with another secret", async () => {
    const e = await expectError(await list(await hostToken({ secret: "some-other-secret-that-is-long-enough" })), 401, "unauthorized");
    expect(e.message).toMatch(/signature/);
  });

  it("refuses alg none", async () => {
    const header = base64url.encode(JSON.stringify({ alg: "none", typ: "JWT" }));
    const payload = base64url.encode(JSON.stringify({ tenant: "tenant-a", sub: "u", role: "admin", exp: Math.floor(Date.now() / 1000) + 300 }));
    const e = await expectError(await list(`${header}.${payload}.`), 401, "unauthorized");
    expect(e.message).toMatch(/algorithm/);
  });

  it("refuses a wrong algorithm (HS512)", async () => {
    const t = await new SignJWT({ tenant: "tenant-a", role: "admin" })
      .setProtectedHeader({ alg: "HS512" })
      .setSubject("u")
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(env.HOST_JWT_SECRET));
    await expectError(await list(t), 401, "unauthorized");
  });

  it("refuses RS256 when no JWKS URL is configured", async () => {
    const header = base64url.encode(JSON.stringify({ alg: "RS256", typ: "JWT" }));
    const payload = base64url.encode(JSON.stringify({ tenant: "tenant-a", sub: "u", role: "admin", exp: Math.floor(Date.now() / 1000) + 300 }));
    await expectError(await list(`${header}.${payload}.${base64url.encode("sig")}`), 401, "unauthorized");
  });

  for (const claim of ["tenant", "sub", "role", "exp"] as const) {
    it(`refuses a token without the ${claim} claim`, async () => {
      await expectError(await list(await hostToken({ omit: [claim] })), 401, "unauthorized");
    });
  }

  it("refuses an unknown role", async () => {
    await expectError(await list(await hostToken({ role: "owner" })), 401, "unauthorized");
  });

  it("refuses a tenant claim with a key separator", async () => {
    await expectError(await list(await hostToken({ tenant: "a/conn/b" })), 401, "unauthorized");
  });
});

describe("roles", () => {
  it("lets a viewer read", async () => {
    expect((await list(await hostToken({ role: "viewer" }))).status).toBe(200);
  });

  it("refuses a viewer creating a connection (403 forbidden)", async () => {
    const res = await call("POST", "/api/v1/connections", { token: await hostToken({ role: "viewer" }), body: { name: "x", orgUrl: "https://contoso.crm.dynamics.com" } });
    await expectError(res, 403, "forbidden");
  });

  it("refuses a viewer creating an object", async () => {
    const res = await call("POST", "/api/v1/objects", { token: await hostToken({ role: "viewer" }), body: { name: "Thing", label: "Thing", fields: [{ name: "A", label: "A", type: "string" }] } });
    await expectError(res, 403, "forbidden");
  });

  it("refuses a viewer deleting a job", async () => {
    await expectError(await call("DELETE", "/api/v1/jobs/job_x", { token: await hostToken({ role: "viewer" }) }), 403, "forbidden");
  });
});

describe("http envelope", () => {
  it("answers an unknown route with the not_found envelope", async () => {
    await expectError(await call("GET", "/api/v1/nope", { token: await hostToken() }), 404, "not_found");
  });

  it("refuses a non-JSON body with invalid_json", async () => {
    const res = await call("POST", "/api/v1/connections", { token: await hostToken(), rawBody: "{oops", headers: { "Content-Type": "application/json" } });
    await expectError(res, 400, "invalid_json");
  });

  it("refuses a body over the size limit with payload_too_large", async () => {
    const res = await call("POST", "/api/v1/connections", { token: await hostToken(), body: { name: "x".repeat(300 * 1024), orgUrl: "https://a.crm.dynamics.com" } });
    await expectError(res, 413, "payload_too_large");
  });

  it("allows CORS for a configured origin only", async () => {
    const ok = await call("OPTIONS", "/api/v1/connections", { headers: { Origin: "https://host.example", "Access-Control-Request-Method": "POST" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://host.example");
    const bad = await call("OPTIONS", "/api/v1/connections", { headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" } });
    expect(bad.headers.get("access-control-allow-origin")).toBeNull();
  });
});
