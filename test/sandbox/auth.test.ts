import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type SandboxInfo } from "../../demo/sandbox/index";
import { API, appToken, authorizeCode, control, decodeJwt, mintToken, pkcePair, redeem, REDIRECT, SPA_ORIGIN } from "./helpers";

let sb: SandboxInfo;
let scope: string;
const contoso = (): SandboxInfo["orgs"][number] => sb.orgs[0]!;
const fabrikam = (): SandboxInfo["orgs"][number] => sb.orgs[1]!;

async function call(org: { url: string }, path: string, token?: string): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await fetch(API(org) + path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined, headers: r.headers };
}

beforeAll(async () => {
  sb = await startSandbox({ rows: 200, quiet: true });
  scope = `${contoso().url}/user_impersonation openid profile offline_access`;
});
afterAll(async () => {
  await sb?.stop();
});

describe("OIDC discovery and keys", () => {
  it("serves discovery over https with the certificate it reports", async () => {
    const tenant = contoso().tenantId;
    const body = await new Promise<string>((resolve, reject) => {
      request(`${sb.identity.httpsUrl}/${tenant}/v2.0/.well-known/openid-configuration`, { ca: sb.caCertPem }, (res) => {
        let s = "";
        res.on("data", (c) => (s += c));
        res.on("end", () => resolve(s));
      })
        .on("error", reject)
        .end();
    });
    const d = JSON.parse(body);
    expect(d.issuer).toBe(`${sb.identity.httpsUrl}/${tenant}/v2.0`);
    expect(d.authorization_endpoint).toBe(`${sb.identity.httpsUrl}/${tenant}/oauth2/v2.0/authorize`);
    expect(d.token_endpoint).toBe(`${sb.identity.httpsUrl}/${tenant}/oauth2/v2.0/token`);
    expect(d.jwks_uri).toBe(`${sb.identity.httpsUrl}/discovery/v2.0/keys`);
  });

  it("serves the same discovery on http for the Worker, also without /v2.0 and for organizations", async () => {
    for (const p of [`${contoso().tenantId}/.well-known/openid-configuration`, "organizations/v2.0/.well-known/openid-configuration"]) {
      const r = await fetch(`${sb.identity.httpUrl}/${p}`);
      expect(r.status).toBe(200);
      expect((await r.json()).token_endpoint).toMatch(new RegExp(`^${sb.identity.httpUrl}/`));
    }
  });

  it("publishes an RS256 JWKS", async () => {
    const r = await fetch(`${sb.identity.httpUrl}/discovery/v2.0/keys`);
    const { keys } = await r.json();
    expect(keys[0]).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig", kid: expect.any(String) });
  });
});

describe("authorization code with PKCE", () => {
  it("refuses a code redeemed with the wrong code_verifier", async () => {
    const { challenge } = pkcePair();
    const code = await authorizeCode(sb, "admin@contoso.example", challenge, scope);
    const r = await redeem(sb, code, pkcePair().verifier, scope);
    expect(r.status).toBe(400);
    const body = await r.json();
    expect(body.error).toBe("invalid_grant");
    expect(body.error_description).toMatch(/^AADSTS501481/);
  });

  it("issues tokens for the right code_verifier that Dataverse accepts", async () => {
    const { verifier, challenge } = pkcePair();
    const code = await authorizeCode(sb, "admin@contoso.example", challenge, scope, "nonce-42");
    const r = await redeem(sb, code, verifier, scope);
    expect(r.status).toBe(200);
    expect(r.headers.get("access-control-allow-origin")).toBe(SPA_ORIGIN);
    const t = await r.json();
    expect(t).toMatchObject({ token_type: "Bearer", scope: expect.stringContaining(`${contoso().url}/user_impersonation`), refresh_token: expect.any(String) });
    expect(JSON.parse(Buffer.from(t.client_info, "base64url").toString())).toEqual({ uid: expect.any(String), utid: contoso().tenantId });
    expect(decodeJwt(t.id_token)).toMatchObject({ nonce: "nonce-42", aud: sb.spaClientId, tid: contoso().tenantId });
    expect(decodeJwt(t.access_token)).toMatchObject({
      aud: contoso().url,
      upn: "admin@contoso.example",
      scp: "user_impersonation",
      tid: contoso().tenantId,
      iss: `${sb.identity.httpsUrl}/${contoso().tenantId}/v2.0`,
    });
    const who = await call(contoso(), "WhoAmI", t.access_token);
    expect(who.status).toBe(200);
  });

  it("requires Origin to redeem an SPA code", async () => {
    const { verifier, challenge } = pkcePair();
    const code = await authorizeCode(sb, "admin@contoso.example", challenge, scope);
    const r = await redeem(sb, code, verifier, scope, null);
    expect(r.status).toBe(400);
    expect((await r.json()).error_description).toMatch(/^AADSTS9002327/);
  });

  it("redeems a refresh token for a new access token and rotates it", async () => {
    const { verifier, challenge } = pkcePair();
    const t = await (await redeem(sb, await authorizeCode(sb, "admin@contoso.example", challenge, scope), verifier, scope)).json();
    const body = new URLSearchParams({ grant_type: "refresh_token", client_id: sb.spaClientId, refresh_token: t.refresh_token, scope });
    const url = `${sb.identity.httpUrl}/organizations/oauth2/v2.0/token`;
    const r = await fetch(url, { method: "POST", headers: { Origin: SPA_ORIGIN }, body });
    expect(r.status).toBe(200);
    expect((await r.json()).refresh_token).not.toBe(t.refresh_token);
    const again = await fetch(url, { method: "POST", headers: { Origin: SPA_ORIGIN }, body });
    expect(again.status).toBe(400);
  });

  it("redirects with the code in the query for response_mode=query", async () => {
    const { challenge } = pkcePair();
    const base = `${sb.identity.httpUrl}/organizations/oauth2/v2.0/authorize`;
    const params = {
      client_id: sb.spaClientId,
      response_type: "code",
      redirect_uri: REDIRECT,
      scope,
      state: "q",
      code_challenge: challenge,
      code_challenge_method: "S256",
      response_mode: "query",
      sandbox_user: "admin@fabrikam.example",
      sandbox_action: "accept",
    };
    const r = await fetch(base, { method: "POST", body: new URLSearchParams(params), redirect: "manual" });
    expect(r.status).toBe(302);
    expect(r.headers.get("location")).toMatch(new RegExp(`^${REDIRECT.replace(/\./g, "\\.")}\\?code=`));
  });
});

describe("client credentials", () => {
  it("issues an app token with aud = org URL", async () => {
    const t = decodeJwt(await appToken(sb));
    expect(t).toMatchObject({ aud: contoso().url, tid: contoso().tenantId, appid: sb.apps[0]!.clientId, idtyp: "app" });
    expect(t.scp).toBeUndefined();
  });
  it("rejects a wrong client secret with invalid_client", async () => {
    const r = await fetch(`${sb.identity.httpUrl}/${contoso().tenantId}/oauth2/v2.0/token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: sb.apps[0]!.clientId,
        client_secret: "nope",
        scope: `${contoso().url}/.default`,
      }),
    });
    expect(r.status).toBe(401);
    expect((await r.json()).error).toBe("invalid_client");
  });
  it("rejects a scope that is not {resource}/.default", async () => {
    const r = await fetch(`${sb.identity.httpUrl}/${contoso().tenantId}/oauth2/v2.0/token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: sb.apps[0]!.clientId,
        client_secret: sb.apps[0]!.clientSecret,
        scope: `${contoso().url}/user_impersonation`,
      }),
    });
    expect(r.status).toBe(400);
  });
  it("answers 403 'not a member' in an org without the application user (fabrikam)", async () => {
    const r = await call(fabrikam(), "WhoAmI", await appToken(sb, 1));
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("0x80072560");
  });
});

describe("Dataverse token validation", () => {
  it("answers 401 with WWW-Authenticate when the token is missing", async () => {
    const r = await call(contoso(), "accounts");
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toBe(
      `Bearer authorization_uri=${sb.identity.httpsUrl}/${contoso().tenantId}/oauth2/authorize, resource_id=${contoso().url}/`,
    );
  });
  it("answers 401 to an expired token", async () => {
    const t = await mintToken(sb, { upn: "admin@contoso.example", audience: contoso().url, expiresIn: -120 });
    const r = await call(contoso(), "accounts?$top=1", t);
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toMatch(/^Bearer authorization_uri=/);
  });
  it("answers 401 to a token for another org (wrong audience)", async () => {
    const t = await mintToken(sb, { upn: "admin@contoso.example", audience: fabrikam().url });
    expect((await call(contoso(), "WhoAmI", t)).status).toBe(401);
  });
  it("answers 401 to a tampered token", async () => {
    const t = await appToken(sb);
    const [h, p, s] = t.split(".");
    const forged = Buffer.from(JSON.stringify({ ...decodeJwt(t), upn: "x" })).toString("base64url");
    expect((await call(contoso(), "WhoAmI", `${h}.${forged}.${s}`)).status).toBe(401);
    expect(p).toBeDefined();
  });
});

describe("privileges", () => {
  it("answers 403 prvReadContact to the limited user on contacts but serves accounts", async () => {
    const t = await mintToken(sb, { upn: "limited@contoso.example", audience: contoso().url });
    const r = await call(contoso(), "contacts?$select=fullname", t);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("0x80040220");
    expect(r.body.error.message).toContain("is missing prvReadContact privilege");
    expect((await call(contoso(), "accounts?$select=name&$top=1", t)).status).toBe(200);
    expect((await call(contoso(), "accounts?$select=name&$top=1&$expand=primarycontactid($select=fullname)", t)).status).toBe(403);
  });
  it("revokes and grants an app's read privilege through the control API", async () => {
    const t = await appToken(sb);
    expect((await control(contoso(), "POST", "privileges", { principal: sb.apps[0]!.clientId, entity: "account", read: false })).status).toBe(200);
    const denied = await call(contoso(), "accounts?$top=1", t);
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain("prvReadAccount");
    await control(contoso(), "POST", "privileges", { principal: sb.apps[0]!.clientId, entity: "account", read: true });
    expect((await call(contoso(), "accounts?$top=1", t)).status).toBe(200);
  });
});
