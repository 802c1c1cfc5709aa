import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { SignJWT, base64url, importJWK, type JWK } from "jose";
import { verifyHostToken } from "../src/http/auth";
import type { HostJwksInfo } from "./global-setup";
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
    // The test Worker has HOST_JWKS_URL set (see "RS256 host tokens" below); the unconfigured case is the verifier's.
    const good = await rsToken();
    await expect(verifyHostToken(good, { HOST_JWT_SECRET: env.HOST_JWT_SECRET, HOST_JWKS_URL: "" })).rejects.toMatchObject({ code: "unauthorized", message: expect.stringMatching(/algorithm "RS256" is not accepted/) });
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

// ---- RS256 via HOST_JWKS_URL: the global setup serves a JWKS with one public key (kid host-key-1) on loopback.

const jwks: HostJwksInfo = JSON.parse(env.HOST_JWKS);
const claims = (o: Record<string, unknown> = {}) => ({ tenant: "tenant-rs", role: "admin", email: "admin@host.example", ...o });

async function rsToken(o: { jwk?: JWK; kid?: string | null; alg?: "RS256" | "RS384"; claims?: Record<string, unknown>; expiresIn?: number } = {}): Promise<string> {
  const alg = o.alg ?? "RS256";
  const key = await importJWK({ ...(o.jwk ?? jwks.privateJwk), alg }, alg);
  const kid = o.kid === undefined ? jwks.kid : o.kid;
  return new SignJWT(o.claims ?? claims())
    .setProtectedHeader({ alg, typ: "JWT", ...(kid ? { kid } : {}) })
    .setSubject("rs-user")
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (o.expiresIn ?? 300))
    .sign(key);
}

/** An HS256 token whose HMAC key is `secret` (e.g. the host's *public* key: the algorithm-confusion attack). */
async function hsToken(secret: string): Promise<string> {
  return new SignJWT(claims()).setProtectedHeader({ alg: "HS256", typ: "JWT", kid: jwks.kid }).setSubject("attacker").setExpirationTime("5m").sign(new TextEncoder().encode(secret));
}

describe("RS256 host tokens (HOST_JWKS_URL)", () => {
  it("accepts a valid RS256 token signed with the published key", async () => {
    const res = await list(await rsToken());
    expect(res.status).toBe(200);
  });

  it("scopes an RS256 caller by its tenant claim like an HS256 one", async () => {
    const tenant = `rs-${crypto.randomUUID().slice(0, 8)}`;
    const token = await rsToken({ claims: claims({ tenant }) });
    const created = await call("POST", "/api/v1/connections", { token, body: { name: "RS", orgUrl: "https://contoso.crm.dynamics.com" } });
    expect(created.status).toBe(201);
    const mine = (await (await list(token)).json()) as Array<{ name: string }>;
    expect(mine.map((c) => c.name)).toEqual(["RS"]);
    expect(await (await list(await hostToken({ tenant }))).json()).toHaveLength(1); // same tenant through HS256
  });

  it("accepts a token without kid when the JWKS has a single matching key", async () => {
    expect((await list(await rsToken({ kid: null }))).status).toBe(200);
  });

  it("refuses a token whose kid is not in the JWKS", async () => {
    await expectError(await list(await rsToken({ kid: "host-key-unknown" })), 401, "unauthorized");
  });

  it("refuses a token signed with another key under the published kid", async () => {
    const e = await expectError(await list(await rsToken({ jwk: jwks.strangerJwk })), 401, "unauthorized");
    expect(e.message).toMatch(/signature/);
  });

  it("refuses HS256 tokens signed with the public key (algorithm confusion), whatever its encoding", async () => {
    const { kty, n, e } = jwks.publicJwk;
    const pem = await (async () => {
      const key = await crypto.subtle.importKey("jwk", { kty: kty as string, n, e, alg: "RS256", ext: true }, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["verify"]);
      const der = new Uint8Array((await crypto.subtle.exportKey("spki", key)) as ArrayBuffer);
      const b64 = btoa(String.fromCharCode(...der)).replace(/(.{64})/g, "$1\n");
      return `-----BEGIN PUBLIC KEY-----\n${b64}\n-----END PUBLIC KEY-----\n`;
    })();
    for (const secret of [pem, JSON.stringify(jwks.publicJwk), n!]) {
      const err = await expectError(await list(await hsToken(secret)), 401, "unauthorized");
      expect(err.message).toMatch(/signature/);
    }
  });

  it("refuses an RS256-family algorithm outside the allow-list (RS384) even with the right key", async () => {
    const e = await expectError(await list(await rsToken({ alg: "RS384" })), 401, "unauthorized");
    expect(e.message).toMatch(/algorithm/);
  });

  it("refuses an expired RS256 token and one without a valid role", async () => {
    await expectError(await list(await rsToken({ expiresIn: -120 })), 401, "unauthorized");
    await expectError(await list(await rsToken({ claims: claims({ role: "owner" }) })), 401, "unauthorized");
  });
});
