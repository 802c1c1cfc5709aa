/**
 * Microsoft identity platform (v2.0 endpoints) simulator: OIDC discovery, JWKS, an authorize page, and the token
 * endpoint (authorization_code + PKCE S256, refresh_token, client_credentials). Same routes on https and http.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createHash } from "node:crypto";
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK, type JWTPayload } from "jose";

type JoseKey = CryptoKey;
import {
  APP_CONNECTOR_ID,
  APP_CONNECTOR_SECRET,
  APP_OTHER_ID,
  APP_OTHER_SECRET,
  OID_CONTOSO_ADMIN,
  OID_CONTOSO_BASIC,
  OID_CONTOSO_LIMITED,
  OID_FABRIKAM_ADMIN,
  SPA_CLIENT_ID,
  SP_CONNECTOR,
  SP_OTHER,
  TENANT_CONTOSO,
  TENANT_FABRIKAM,
} from "./ids";
import { GUID_RE, htmlEscape, randomToken } from "./util";

export interface DemoUser {
  upn: string;
  displayName: string;
  oid: string;
  tenantId: string;
  description: string;
}
export interface App {
  clientId: string;
  clientSecret?: string;
  kind: "confidential" | "spa";
  name: string;
  description: string;
}

export const USERS: DemoUser[] = [
  {
    upn: "admin@contoso.example",
    displayName: "Avery Admin",
    oid: OID_CONTOSO_ADMIN,
    tenantId: TENANT_CONTOSO,
    description: "contoso System Administrator: reads every entity",
  },
  {
    upn: "limited@contoso.example",
    displayName: "Lee Limited",
    oid: OID_CONTOSO_LIMITED,
    tenantId: TENANT_CONTOSO,
    description: "contoso user without read privilege on contact (403 prvReadContact)",
  },
  {
    upn: "basic@contoso.example",
    displayName: "Blair Basic",
    oid: OID_CONTOSO_BASIC,
    tenantId: TENANT_CONTOSO,
    description: "contoso user with Basic (user-level) read on contact — sees only the contacts they own — and Global read elsewhere",
  },
  {
    upn: "admin@fabrikam.example",
    displayName: "Frankie Fabrikam",
    oid: OID_FABRIKAM_ADMIN,
    tenantId: TENANT_FABRIKAM,
    description: "fabrikam System Administrator (tenant B)",
  },
];
export const APPS: App[] = [
  {
    clientId: APP_CONNECTOR_ID,
    clientSecret: APP_CONNECTOR_SECRET,
    kind: "confidential",
    name: "Dynamics Connector (edge)",
    description: "The edge's DYNAMICS_CLIENT_ID/SECRET. Multi-tenant; application user exists in contoso only (fabrikam: 'application user missing').",
  },
  {
    clientId: APP_OTHER_ID,
    clientSecret: APP_OTHER_SECRET,
    kind: "confidential",
    name: "Unprivileged app",
    description: "Registered app with no application user in any org (Dataverse answers 403).",
  },
  {
    clientId: SPA_CLIENT_ID,
    kind: "spa",
    name: "Dynamics Connector (widget)",
    description: "Public SPA client for msal-browser (PKCE S256, redirect URIs on localhost/127.0.0.1).",
  },
];
const TENANTS = [TENANT_CONTOSO, TENANT_FABRIKAM];
const SERVICE_PRINCIPALS: Record<string, Record<string, string>> = { [APP_CONNECTOR_ID]: SP_CONNECTOR, [APP_OTHER_ID]: SP_OTHER };

const ACCESS_TTL = 3600;
const SPA_RT_TTL = 24 * 3600;
const CODE_TTL = 600;

interface CodeGrant {
  clientId: string;
  redirectUri: string;
  challenge?: string;
  method?: string;
  user: DemoUser;
  scope: string;
  nonce?: string;
  exp: number;
}
interface RefreshGrant {
  clientId: string;
  user: DemoUser;
  scope: string;
  exp: number;
}

export interface IdentityOptions {
  httpsUrl: string;
  httpUrl: string;
  /** Known resources (org URLs, no trailing slash). */
  resources: () => string[];
}

type Claims = JWTPayload & { tid?: string; oid?: string; appid?: string; idtyp?: string; upn?: string; scp?: string };

export class Identity {
  private _privateKey!: JoseKey;
  private _publicKey!: JoseKey;
  private _jwk!: JWK;
  readonly kid = "sandbox-key-1";
  private _codes = new Map<string, CodeGrant>();
  private _refresh = new Map<string, RefreshGrant>();

  constructor(readonly opts: IdentityOptions) {}

  async init(): Promise<void> {
    const kp = await generateKeyPair("RS256", { extractable: true });
    this._privateKey = kp.privateKey;
    this._publicKey = kp.publicKey;
    this._jwk = { ...(await exportJWK(kp.publicKey)), kid: this.kid, use: "sig", alg: "RS256" };
  }
  reset(): void {
    this._codes.clear();
    this._refresh.clear();
  }
  issuer(tid: string): string {
    return `${this.opts.httpsUrl}/${tid}/v2.0`;
  }

  async sign(claims: Record<string, unknown>, expiresIn: number): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ ...claims, iat: now, nbf: Math.min(now, now + expiresIn), exp: now + expiresIn })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: this.kid })
      .sign(this._privateKey);
  }

  async userAccessToken(user: DemoUser, clientId: string, resource: string, scopes: string[], expiresIn = ACCESS_TTL): Promise<string> {
    return this.sign(
      {
        aud: resource,
        iss: this.issuer(user.tenantId),
        tid: user.tenantId,
        oid: user.oid,
        sub: user.oid,
        upn: user.upn,
        preferred_username: user.upn,
        name: user.displayName,
        scp: scopes.join(" "),
        appid: clientId,
        azp: clientId,
        idtyp: "user",
        ver: "2.0",
      },
      expiresIn,
    );
  }
  async appAccessToken(clientId: string, tid: string, resource: string, expiresIn = ACCESS_TTL): Promise<string> {
    const sp = SERVICE_PRINCIPALS[clientId]?.[tid] ?? clientId;
    return this.sign(
      { aud: resource, iss: this.issuer(tid), tid, oid: sp, sub: sp, appid: clientId, azp: clientId, idtyp: "app", roles: [], ver: "2.0" },
      expiresIn,
    );
  }

  /** Used by the Dataverse side. Throws with a reason on any problem. */
  async verify(token: string, audiences: string[]): Promise<Claims> {
    const { payload } = await jwtVerify(token, this._publicKey, { algorithms: ["RS256"], audience: audiences, clockTolerance: 0 });
    const p = payload as Claims;
    if (!p.tid || p.iss !== this.issuer(p.tid)) throw new Error("issuer mismatch");
    return p;
  }

  // ---------------------------------------------------------------- HTTP

  async handle(req: IncomingMessage, res: ServerResponse, base: string): Promise<void> {
    const url = new URL(req.url ?? "/", base);
    const origin = req.headers.origin;
    const cors: Record<string, string> = origin
      ? {
          "Access-Control-Allow-Origin": origin,
          Vary: "Origin",
          "Access-Control-Allow-Headers": "*",
          "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
          "Access-Control-Max-Age": "600",
        }
      : { "Access-Control-Allow-Origin": "*" };
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      const text = typeof body === "string" ? body : JSON.stringify(body);
      res.writeHead(status, {
        "Content-Type": typeof body === "string" ? "text/html; charset=utf-8" : "application/json; charset=utf-8",
        "Cache-Control": "no-store",
        ...cors,
        ...headers,
      });
      res.end(text);
    };
    if (req.method === "OPTIONS") {
      res.writeHead(204, cors);
      res.end();
      return;
    }
    const p = url.pathname;
    try {
      if (p === "/discovery/v2.0/keys" || /^\/[^/]+\/discovery\/v2\.0\/keys$/.test(p)) return send(200, { keys: [this._jwk] });
      const disc = /^\/([^/]+)(\/v2\.0)?\/\.well-known\/openid-configuration$/.exec(p);
      if (disc) {
        const t = disc[1]!;
        if (!this._knownTenant(t)) return send(400, aadError("invalid_tenant", `AADSTS90002: Tenant '${t}' not found.`, 90002));
        return send(200, this.discovery(t, base));
      }
      const auth = /^\/([^/]+)\/oauth2\/v2\.0\/authorize$/.exec(p);
      if (auth) return await this._authorize(req, res, url, auth[1]!, send);
      const tok = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(p);
      if (tok && req.method === "POST") return await this._token(req, tok[1]!, send);
      if (p === "/_sandbox/token" && req.method === "POST") return await this._mintForTests(req, send);
      if (p === "/_sandbox/reset" && req.method === "POST") {
        this.reset();
        return send(200, { ok: true });
      }
      if (p === "/") return send(200, { service: "sandbox identity platform", tenants: TENANTS, users: USERS.map((u) => u.upn), spaClientId: SPA_CLIENT_ID });
      send(404, aadError("not_found", `AADSTS900561: The endpoint ${p} does not exist.`, 900561));
    } catch (e) {
      send(500, aadError("server_error", `AADSTS50000: ${e instanceof Error ? e.message : String(e)}`, 50000));
    }
  }

  private _knownTenant(t: string): boolean {
    return t === "organizations" || t === "common" || TENANTS.includes(t.toLowerCase());
  }

  discovery(tenant: string, base: string): Record<string, unknown> {
    const t = TENANTS.includes(tenant) ? tenant : "{tenantid}";
    return {
      issuer: `${this.opts.httpsUrl}/${t}/v2.0`,
      authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/authorize`,
      token_endpoint: `${base}/${tenant}/oauth2/v2.0/token`,
      device_authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${base}/${tenant}/oauth2/v2.0/logout`,
      jwks_uri: `${base}/discovery/v2.0/keys`,
      userinfo_endpoint: `${base}/oidc/userinfo`,
      response_modes_supported: ["query", "fragment", "form_post"],
      response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
      token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic"],
      code_challenge_methods_supported: ["S256"],
      scopes_supported: ["openid", "profile", "email", "offline_access"],
      claims_supported: ["sub", "iss", "aud", "exp", "iat", "nonce", "name", "preferred_username", "oid", "tid", "ver"],
      grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
      request_uri_parameter_supported: false,
      tenant_region_scope: "NA",
      cloud_instance_name: "sandbox.local",
      msgraph_host: "graph.sandbox.local",
    };
  }

  private _app(clientId: string | undefined): App | undefined {
    return APPS.find((a) => a.clientId === clientId?.toLowerCase());
  }

  private _redirectAllowed(app: App, uri: string): boolean {
    try {
      const u = new URL(uri);
      return (u.protocol === "http:" || u.protocol === "https:") && ["localhost", "127.0.0.1", "[::1]"].includes(u.hostname) && app !== undefined;
    } catch {
      return false;
    }
  }

  private async _authorize(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    tenant: string,
    send: (s: number, b: unknown, h?: Record<string, string>) => void,
  ): Promise<void> {
    const params = req.method === "POST" ? new URLSearchParams(await readBody(req)) : url.searchParams;
    const get = (k: string): string | undefined => params.get(k) ?? undefined;
    const clientId = get("client_id");
    const app = this._app(clientId);
    const redirectUri = get("redirect_uri") ?? "";
    const page = (title: string, body: string): string =>
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${htmlEscape(title)}</title><meta name="viewport" content="width=device-width"><style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}button{display:block;width:100%;margin:.5rem 0;padding:.75rem;font-size:1rem;cursor:pointer}.muted{color:#555;font-size:.9rem}</style></head><body><main><h1>${htmlEscape(title)}</h1>${body}</main></body></html>`;
    if (!this._knownTenant(tenant)) return send(400, page("Sign in error", `<p role="alert">AADSTS90002: Tenant '${htmlEscape(tenant)}' not found.</p>`));
    if (!app)
      return send(
        400,
        page("Sign in error", `<p role="alert">AADSTS700016: Application with identifier '${htmlEscape(clientId ?? "")}' was not found in the directory.</p>`),
      );
    if (!this._redirectAllowed(app, redirectUri))
      return send(
        400,
        page(
          "Sign in error",
          `<p role="alert">AADSTS50011: The redirect URI '${htmlEscape(redirectUri)}' specified in the request does not match the redirect URIs configured for the application '${htmlEscape(app.clientId)}'.</p>`,
        ),
      );
    const mode = get("response_mode") ?? "query";
    const state = get("state");
    const redirect = (values: Record<string, string>): void => {
      const qs = new URLSearchParams(values);
      if (state !== undefined) qs.set("state", state);
      const target = mode === "fragment" ? `${redirectUri}#${qs.toString()}` : `${redirectUri}${redirectUri.includes("?") ? "&" : "?"}${qs.toString()}`;
      res.writeHead(302, { Location: target, "Cache-Control": "no-store" });
      res.end();
    };
    if (get("response_type") !== "code")
      return redirect({ error: "unsupported_response_type", error_description: "AADSTS700054: response_type 'code' is the only one the sandbox supports." });
    if (app.kind === "spa" && (!get("code_challenge") || get("code_challenge_method") !== "S256"))
      return redirect({
        error: "invalid_request",
        error_description: "AADSTS9002325: Proof Key for Code Exchange is required for cross-origin authorization code redemption.",
      });
    if (get("prompt") === "none")
      return redirect({ error: "login_required", error_description: "AADSTS50058: A silent sign-in request was sent but no user is signed in." });

    const carry = [
      "client_id",
      "redirect_uri",
      "response_type",
      "response_mode",
      "scope",
      "state",
      "nonce",
      "code_challenge",
      "code_challenge_method",
      "login_hint",
      "prompt",
    ]
      .filter((k) => params.has(k))
      .map((k) => `<input type="hidden" name="${k}" value="${htmlEscape(params.get(k)!)}">`)
      .join("");
    const action = htmlEscape(url.pathname);
    const candidates = USERS.filter((u) => tenant === "organizations" || tenant === "common" || u.tenantId === tenant.toLowerCase());
    const chosen = get("sandbox_user");
    const user = candidates.find((u) => u.upn === chosen);

    if (req.method === "POST" && get("sandbox_action") === "cancel")
      return redirect({ error: "access_denied", error_description: "AADSTS65004: User declined to consent to access the app." });
    if (req.method === "POST" && user && get("sandbox_action") === "accept") {
      const code = randomToken(32);
      this._codes.set(code, {
        clientId: app.clientId,
        redirectUri,
        challenge: get("code_challenge"),
        method: get("code_challenge_method"),
        user,
        scope: get("scope") ?? "openid",
        nonce: get("nonce"),
        exp: Date.now() + CODE_TTL * 1000,
      });
      return redirect({ code, client_info: clientInfo(user), session_state: randomToken(8) });
    }
    if (req.method === "POST" && user) {
      const scopes = (get("scope") ?? "").split(" ").filter(Boolean);
      return send(
        200,
        page(
          "Permissions requested",
          `<p><strong>${htmlEscape(app.name)}</strong> wants to:</p><ul>${scopes.map((s) => `<li>${htmlEscape(s)}</li>`).join("")}</ul><p class="muted">Signed in as ${htmlEscape(user.upn)}</p>
<form method="post" action="${action}">${carry}<input type="hidden" name="sandbox_user" value="${htmlEscape(user.upn)}"><button type="submit" name="sandbox_action" value="accept">Accept</button><button type="submit" name="sandbox_action" value="cancel">Cancel</button></form>`,
        ),
      );
    }
    const hint = get("login_hint");
    const list = hint ? [...candidates].sort((a) => (a.upn === hint ? -1 : 0)) : candidates;
    return send(
      200,
      page(
        "Sign in",
        `<p>Sandbox identity platform — choose a demo account for <strong>${htmlEscape(app.name)}</strong>.</p>
<form method="post" action="${action}">${carry}${list.map((u) => `<button type="submit" name="sandbox_user" value="${htmlEscape(u.upn)}">Sign in as ${htmlEscape(u.upn)}</button><p class="muted">${htmlEscape(u.displayName)} — ${htmlEscape(u.description)}</p>`).join("")}</form>`,
      ),
    );
  }

  private _resourceOf(scopes: string[]): { resource?: string; resourceScopes: string[]; error?: string } {
    const res = scopes.filter((s) => s.includes("/"));
    if (res.length === 0) return { resourceScopes: [] };
    const resources = new Set(res.map((s) => s.slice(0, s.lastIndexOf("/"))));
    if (resources.size > 1)
      return {
        resourceScopes: [],
        error: "AADSTS28000: Provided value for the input parameter scope is not valid because it contains more than one resource.",
      };
    const resource = [...resources][0]!.replace(/\/$/, "");
    if (!this.opts.resources().includes(resource))
      return {
        resourceScopes: [],
        error: `AADSTS500011: The resource principal named ${resource} was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant.`,
      };
    return { resource, resourceScopes: res.map((s) => s.slice(s.lastIndexOf("/") + 1)) };
  }

  private async _token(req: IncomingMessage, tenant: string, send: (s: number, b: unknown, h?: Record<string, string>) => void): Promise<void> {
    if (!this._knownTenant(tenant)) return send(400, aadError("invalid_request", `AADSTS90002: Tenant '${tenant}' not found.`, 90002));
    const body = new URLSearchParams(await readBody(req));
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? "");
    let clientId = body.get("client_id") ?? undefined;
    let secret = body.get("client_secret") ?? undefined;
    if (basic) {
      const [u, s] = Buffer.from(basic[1]!, "base64").toString().split(":");
      clientId = decodeURIComponent(u ?? "");
      secret = decodeURIComponent(s ?? "");
    }
    const app = this._app(clientId);
    if (!app)
      return send(
        400,
        aadError("unauthorized_client", `AADSTS700016: Application with identifier '${clientId ?? ""}' was not found in the directory '${tenant}'.`, 700016),
      );
    const origin = req.headers.origin;
    const grant = body.get("grant_type");
    if (app.kind === "confidential") {
      if (origin)
        return send(
          400,
          aadError("invalid_request", "AADSTS9002326: Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type.", 9002326),
        );
      if (secret !== app.clientSecret)
        return send(
          401,
          aadError(
            "invalid_client",
            `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
            7000215,
          ),
        );
    } else if (secret)
      return send(
        400,
        aadError("invalid_request", "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented.", 700025),
      );

    if (grant === "client_credentials") {
      if (app.kind !== "confidential") return send(400, aadError("unauthorized_client", "AADSTS700016: The SPA client can't use client credentials.", 700016));
      if (!TENANTS.includes(tenant.toLowerCase()))
        return send(
          400,
          aadError("invalid_request", "AADSTS90133: Client credentials need a tenant id (not 'organizations' or 'common') in the token endpoint.", 90133),
        );
      const scopes = (body.get("scope") ?? "").split(" ").filter(Boolean);
      if (scopes.length !== 1 || !scopes[0]!.endsWith("/.default"))
        return send(
          400,
          aadError(
            "invalid_scope",
            `AADSTS1002012: The provided value for scope ${scopes.join(" ")} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
            1002012,
          ),
        );
      const r = this._resourceOf(scopes);
      if (r.error || !r.resource) return send(400, aadError("invalid_resource", r.error ?? "AADSTS500011: missing resource", 500011));
      const at = await this.appAccessToken(app.clientId, tenant.toLowerCase(), r.resource);
      return send(200, { token_type: "Bearer", expires_in: ACCESS_TTL, ext_expires_in: ACCESS_TTL, access_token: at });
    }

    let user: DemoUser;
    let scope: string;
    let nonce: string | undefined;
    if (grant === "authorization_code") {
      const code = body.get("code") ?? "";
      const g = this._codes.get(code);
      this._codes.delete(code);
      if (!g || g.exp < Date.now())
        return send(
          400,
          aadError(
            "invalid_grant",
            "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
            70008,
          ),
        );
      if (g.clientId !== app.clientId)
        return send(400, aadError("invalid_grant", "AADSTS70000: The provided authorization code was issued to a different client.", 70000));
      if (body.get("redirect_uri") !== g.redirectUri)
        return send(
          400,
          aadError(
            "invalid_grant",
            "AADSTS500112: The reply address does not match the reply address provided when requesting the authorization code.",
            500112,
          ),
        );
      if (g.challenge) {
        const verifier = body.get("code_verifier") ?? "";
        if (!verifier)
          return send(
            400,
            aadError(
              "invalid_grant",
              "AADSTS50148: The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.",
              50148,
            ),
          );
        const computed = createHash("sha256").update(verifier).digest("base64url");
        if (computed !== g.challenge)
          return send(
            400,
            aadError("invalid_grant", "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.", 501481),
          );
      }
      if (app.kind === "spa" && !origin)
        return send(
          400,
          aadError(
            "invalid_request",
            "AADSTS9002327: Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
            9002327,
          ),
        );
      user = g.user;
      scope = body.get("scope") ?? g.scope;
      nonce = g.nonce;
    } else if (grant === "refresh_token") {
      const rt = body.get("refresh_token") ?? "";
      const g = this._refresh.get(rt);
      if (!g || g.exp < Date.now())
        return send(
          400,
          aadError(
            "invalid_grant",
            "AADSTS700084: The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of 1.00:00:00, which cannot be extended. It is now expired and a new sign in request must be sent by the SPA to the sign in page.",
            700084,
          ),
        );
      if (g.clientId !== app.clientId) return send(400, aadError("invalid_grant", "AADSTS70000: The refresh token was issued to a different client.", 70000));
      if (app.kind === "spa" && !origin)
        return send(
          400,
          aadError(
            "invalid_request",
            "AADSTS9002327: Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
            9002327,
          ),
        );
      this._refresh.delete(rt); // rotate
      user = g.user;
      scope = body.get("scope") ?? g.scope;
    } else {
      return send(400, aadError("unsupported_grant_type", `AADSTS70003: The app requested an unsupported grant type '${grant ?? ""}'.`, 70003));
    }
    if (tenant !== "organizations" && tenant !== "common" && tenant.toLowerCase() !== user.tenantId)
      return send(
        400,
        aadError("invalid_grant", `AADSTS50020: User account '${user.upn}' from identity provider does not exist in tenant '${tenant}'.`, 50020),
      );

    const scopes = scope.split(" ").filter(Boolean);
    const r = this._resourceOf(scopes);
    if (r.error) return send(400, aadError("invalid_resource", r.error, 500011));
    const out: Record<string, unknown> = { token_type: "Bearer", scope: "", expires_in: ACCESS_TTL, ext_expires_in: ACCESS_TTL };
    const oidc = scopes.filter((s) => ["openid", "profile", "email", "offline_access"].includes(s));
    if (r.resource) {
      const granted = r.resourceScopes.map((s) => (s === ".default" ? "user_impersonation" : s));
      out.access_token = await this.userAccessToken(user, app.clientId, r.resource, granted);
      out.scope = [...granted.map((s) => `${r.resource}/${s}`), ...oidc].join(" ");
    } else {
      // Only OIDC scopes: an access token for the sign-in itself (Graph-like audience).
      out.access_token = await this.userAccessToken(user, app.clientId, "00000003-0000-0000-c000-000000000000", ["openid", "profile", "User.Read"]);
      out.scope = ["openid", "profile", "User.Read", ...oidc.filter((s) => s === "email" || s === "offline_access")].join(" ");
    }
    if (scopes.includes("openid") || grant === "authorization_code") {
      out.id_token = await this.sign(
        {
          aud: app.clientId,
          iss: this.issuer(user.tenantId),
          tid: user.tenantId,
          oid: user.oid,
          sub: user.oid,
          preferred_username: user.upn,
          name: user.displayName,
          ...(nonce ? { nonce } : {}),
          ver: "2.0",
        },
        ACCESS_TTL,
      );
    }
    if (scopes.includes("offline_access") || grant === "refresh_token" || app.kind === "spa") {
      const rt = randomToken(32);
      this._refresh.set(rt, {
        clientId: app.clientId,
        user,
        scope: scopes.filter((s) => s !== "openid" || true).join(" "),
        exp: Date.now() + SPA_RT_TTL * 1000,
      });
      out.refresh_token = rt;
      if (app.kind === "spa") out.refresh_token_expires_in = SPA_RT_TTL;
    }
    out.client_info = clientInfo(user);
    return send(200, out);
  }

  /** Test helper: mint an access token directly (e.g. an expired one). Not part of Microsoft's protocol. */
  private async _mintForTests(req: IncomingMessage, send: (s: number, b: unknown) => void): Promise<void> {
    const b = JSON.parse((await readBody(req)) || "{}") as {
      upn?: string;
      clientId?: string;
      tenantId?: string;
      audience?: string;
      expiresIn?: number;
      scp?: string;
    };
    if (!b.audience) return send(400, { error: "audience (the org URL) is required" });
    const exp = b.expiresIn ?? ACCESS_TTL;
    if (b.upn) {
      const u = USERS.find((x) => x.upn === b.upn);
      if (!u) return send(404, { error: `unknown user ${b.upn}` });
      return send(200, { access_token: await this.userAccessToken(u, SPA_CLIENT_ID, b.audience, (b.scp ?? "user_impersonation").split(" "), exp) });
    }
    const app = this._app(b.clientId);
    const tid = b.tenantId ?? TENANT_CONTOSO;
    if (!app || !GUID_RE.test(tid)) return send(404, { error: "unknown clientId/tenantId" });
    return send(200, { access_token: await this.appAccessToken(app.clientId, tid, b.audience, exp) });
  }
}

export function clientInfo(u: DemoUser): string {
  return Buffer.from(JSON.stringify({ uid: u.oid, utid: u.tenantId })).toString("base64url");
}

function aadError(error: string, description: string, code: number): Record<string, unknown> {
  return {
    error,
    error_description: description,
    error_codes: [code],
    timestamp: new Date().toISOString().replace("T", " ").slice(0, 19) + "Z",
    trace_id: randomUUIDish(),
    correlation_id: randomUUIDish(),
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  };
}
function randomUUIDish(): string {
  return globalThis.crypto.randomUUID();
}

export function readBody(req: IncomingMessage, limit = 8 * 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
