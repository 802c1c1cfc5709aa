import { describe, expect, it, vi } from "vitest";
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { SignJWT, base64url, importJWK, type JWK } from "jose";
import { app } from "../src/app";
import { MIN_HS256_SECRET_BYTES, verifyHostToken } from "../src/http/auth";
import type { HostJwksInfo } from "./global-setup";
import { apiRequest, call, expectError, hostToken, type CallOptions } from "./helpers";

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
    await expect(verifyHostToken(good, { HOST_JWT_SECRET: env.HOST_JWT_SECRET, HOST_JWKS_URL: "" })).rejects.toMatchObject({
      code: "unauthorized",
      message: expect.stringMatching(/algorithm "RS256" is not accepted/),
    });
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
    const res = await call("POST", "/api/v1/connections", {
      token: await hostToken({ role: "viewer" }),
      body: { name: "x", orgUrl: "https://contoso.crm.dynamics.com" },
    });
    await expectError(res, 403, "forbidden");
  });

  it("refuses a viewer creating an object", async () => {
    const res = await call("POST", "/api/v1/objects", {
      token: await hostToken({ role: "viewer" }),
      body: { name: "Thing", label: "Thing", fields: [{ name: "A", label: "A", type: "string" }] },
    });
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
    const res = await call("POST", "/api/v1/connections", {
      token: await hostToken(),
      body: { name: "x".repeat(300 * 1024), orgUrl: "https://a.crm.dynamics.com" },
    });
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

async function rsToken(
  o: { jwk?: JWK; kid?: string | null; alg?: "RS256" | "RS384"; claims?: Record<string, unknown>; expiresIn?: number } = {},
): Promise<string> {
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
  return new SignJWT(claims())
    .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: jwks.kid })
    .setSubject("attacker")
    .setExpirationTime("5m")
    .sign(new TextEncoder().encode(secret));
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
      const key = await crypto.subtle.importKey(
        "jwk",
        { kty: kty as string, n, e, alg: "RS256", ext: true },
        { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
        true,
        ["verify"],
      );
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

// ---- audience, issuer, lifetime and secret strength. The workerd test env has fixed bindings (wrangler.toml + the
// vitest config); a test that needs other values calls the app directly with a modified copy of the env.

/** The app called directly (not through SELF) with `overrides` on top of the test Worker's env. */
async function callWith(overrides: Record<string, string>, method: string, path: string, o: CallOptions = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(apiRequest(method, path, o), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}
const listWith = (overrides: Record<string, string>, token?: string) => callWith(overrides, "GET", "/api/v1/connections", token ? { token } : {});

/** An HS256 host token with full control over `aud`, `iss`, `iat` and `exp` (seconds from now; null = none). */
async function tokenWith(o: { aud?: string | string[]; iss?: string; exp?: number | null; iat?: number | null; secret?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = { tenant: "tenant-a", role: "admin", sub: "user-1" };
  if (o.aud !== undefined) payload.aud = o.aud;
  if (o.iss !== undefined) payload.iss = o.iss;
  if (o.iat !== null) payload.iat = now + (o.iat ?? 0);
  if (o.exp !== null) payload.exp = now + (o.exp ?? 300);
  return new SignJWT(payload).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(o.secret ?? env.HOST_JWT_SECRET));
}

describe("host token audience and issuer (HOST_JWT_AUDIENCE, HOST_JWT_ISSUER)", () => {
  const AUD = { HOST_JWT_AUDIENCE: "https://edge.example/api" };
  const ISS = { HOST_JWT_ISSUER: "https://host.example" };

  it("checks neither when they are not configured (the default)", async () => {
    expect(env.HOST_JWT_AUDIENCE).toBe("");
    expect(env.HOST_JWT_ISSUER).toBe("");
    expect((await list(await tokenWith({ aud: "anything", iss: "anyone" }))).status).toBe(200);
    expect((await list(await tokenWith())).status).toBe(200);
  });

  it("accepts a token for the configured audience (alone or in a list)", async () => {
    expect((await listWith(AUD, await tokenWith({ aud: "https://edge.example/api" }))).status).toBe(200);
    expect((await listWith(AUD, await tokenWith({ aud: ["other", "https://edge.example/api"] }))).status).toBe(200);
  });

  it("refuses a token for another audience, or without aud, with 401", async () => {
    const wrong = await expectError(await listWith(AUD, await tokenWith({ aud: "https://other-edge.example/api" })), 401, "unauthorized");
    expect(wrong.message).toMatch(/audience \(aud\)/);
    expect(wrong.message).not.toContain("https://edge.example/api"); // the expected value is not echoed
    const missing = await expectError(await listWith(AUD, await tokenWith()), 401, "unauthorized");
    expect(missing.message).toMatch(/no audience \(aud\)/);
  });

  it("accepts a token from the configured issuer", async () => {
    expect((await listWith(ISS, await tokenWith({ iss: "https://host.example" }))).status).toBe(200);
  });

  it("refuses a token from another issuer, or without iss, with 401", async () => {
    const wrong = await expectError(await listWith(ISS, await tokenWith({ iss: "https://evil.example" })), 401, "unauthorized");
    expect(wrong.message).toMatch(/issuer \(iss\)/);
    await expectError(await listWith(ISS, await tokenWith()), 401, "unauthorized");
  });

  it("checks both together, for RS256 tokens too", async () => {
    const both = { ...AUD, ...ISS };
    expect((await listWith(both, await tokenWith({ aud: "https://edge.example/api", iss: "https://host.example" }))).status).toBe(200);
    await expectError(await listWith(both, await tokenWith({ aud: "https://edge.example/api", iss: "https://evil.example" })), 401, "unauthorized");
    await expectError(await listWith(both, await tokenWith({ aud: "nope", iss: "https://host.example" })), 401, "unauthorized");
    expect((await listWith(both, await rsToken({ claims: claims({ aud: "https://edge.example/api", iss: "https://host.example" }) }))).status).toBe(200);
    await expectError(await listWith(both, await rsToken()), 401, "unauthorized");
  });
});

describe("host token lifetime (HOST_JWT_MAX_TTL_S, default 3600)", () => {
  it("is 3600 seconds by default", () => {
    expect(env.HOST_JWT_MAX_TTL_S).toBe("3600");
  });

  it("refuses a token valid for 30 days, saying it lives too long", async () => {
    const e = await expectError(await list(await hostToken({ expiresIn: 30 * 86400 })), 401, "unauthorized");
    expect(e.message).toMatch(/lives too long/);
    expect(e.message).toMatch(/3600 s/);
  });

  it("refuses a 2-hour token, and an RS256 one valid for 30 days", async () => {
    await expectError(await list(await hostToken({ expiresIn: 7200 })), 401, "unauthorized");
    const e = await expectError(await list(await rsToken({ expiresIn: 30 * 86400 })), 401, "unauthorized");
    expect(e.message).toMatch(/lives too long/);
  });

  it("accepts a token of exactly the maximum lifetime", async () => {
    expect((await list(await tokenWith({ iat: 0, exp: 3600 }))).status).toBe(200);
    expect((await list(await tokenWith({ iat: null, exp: 3600 }))).status).toBe(200);
  });

  it("tolerates a host clock up to 60 s ahead (exp - now), but not exp - iat beyond the maximum", async () => {
    expect((await list(await tokenWith({ iat: 30, exp: 3630 }))).status).toBe(200);
    expect((await list(await tokenWith({ iat: null, exp: 3650 }))).status).toBe(200);
    await expectError(await list(await tokenWith({ iat: null, exp: 3700 })), 401, "unauthorized");
  });

  it("refuses a token whose exp - iat exceeds the maximum even when little of it is left", async () => {
    const e = await expectError(await list(await tokenWith({ iat: -7000, exp: 600 })), 401, "unauthorized");
    expect(e.message).toMatch(/lives too long: exp - iat/);
  });

  it("refuses a token without exp", async () => {
    const e = await expectError(await list(await tokenWith({ exp: null })), 401, "unauthorized");
    expect(e.message).toMatch(/\bexp\b/);
  });

  it("follows HOST_JWT_MAX_TTL_S", async () => {
    expect((await listWith({ HOST_JWT_MAX_TTL_S: "86400" }, await hostToken({ expiresIn: 7200 }))).status).toBe(200);
    await expectError(await listWith({ HOST_JWT_MAX_TTL_S: "86400" }, await hostToken({ expiresIn: 30 * 86400 })), 401, "unauthorized");
    await expectError(await listWith({ HOST_JWT_MAX_TTL_S: "120" }, await hostToken({ expiresIn: 300 })), 401, "unauthorized");
    expect((await listWith({ HOST_JWT_MAX_TTL_S: "" }, await hostToken({ expiresIn: 3600 }))).status).toBe(200); // empty = default
  });

  it("answers 500 misconfigured to an invalid HOST_JWT_MAX_TTL_S", async () => {
    for (const value of ["abc", "0", "-5", "1.5", "1e9"]) {
      const e = await expectError(await listWith({ HOST_JWT_MAX_TTL_S: value }, await hostToken()), 500, "misconfigured");
      expect(e.message).toMatch(/HOST_JWT_MAX_TTL_S/);
    }
  });
});

describe("HOST_JWT_SECRET strength", () => {
  it("the test secret is at least 32 bytes", () => {
    expect(new TextEncoder().encode(env.HOST_JWT_SECRET).byteLength).toBeGreaterThanOrEqual(MIN_HS256_SECRET_BYTES);
  });

  it("a secret shorter than 32 bytes answers every request 500 misconfigured, logged once, never echoed", async () => {
    const short = "only-31-bytes-of-host-jwt-secre";
    expect(short).toHaveLength(31);
    const logged: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    try {
      const responses = [
        await listWith({ HOST_JWT_SECRET: short }, await hostToken({ secret: short })), // a token signed with it
        await listWith({ HOST_JWT_SECRET: short }, await hostToken()),
        await listWith({ HOST_JWT_SECRET: short }), // no token at all
        await callWith({ HOST_JWT_SECRET: short }, "POST", "/api/v1/connections", {
          token: await rsToken(),
          body: { name: "x", orgUrl: "https://contoso.crm.dynamics.com" },
        }),
      ];
      for (const res of responses) {
        const text = await res.clone().text();
        const e = await expectError(res, 500, "misconfigured");
        expect(e.message).toMatch(/HOST_JWT_SECRET is shorter than 32 bytes/);
        expect(text).not.toContain(short);
      }
    } finally {
      spy.mockRestore();
    }
    const lines = logged.filter((l) => l.includes("HOST_JWT_SECRET"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/misconfigured/);
    expect(logged.join("\n")).not.toContain(short);
  });

  it("a secret of exactly 32 bytes is accepted", async () => {
    const secret = "exactly-32-bytes-host-jwt-secret";
    expect(new TextEncoder().encode(secret).byteLength).toBe(32);
    expect((await listWith({ HOST_JWT_SECRET: secret }, await hostToken({ secret }))).status).toBe(200);
  });

  it("no HS256 secret (RS256 only) is not a misconfiguration", async () => {
    expect((await listWith({ HOST_JWT_SECRET: "" }, await rsToken())).status).toBe(200);
    await expectError(await listWith({ HOST_JWT_SECRET: "" }, await hostToken()), 401, "unauthorized");
  });
});
