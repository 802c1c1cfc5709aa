import { createHash, randomBytes } from "node:crypto";
import type { SandboxInfo } from "../../demo/sandbox/index";

export const API = (org: { url: string }): string => `${org.url}/api/data/v9.2/`;

/** A Web API GET with the headers a Dataverse client sends; the body parsed when it is JSON, else its text. */
export async function odataGet(url: string, bearer: string, prefer?: string): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await fetch(url, {
    headers: {
      Authorization: `Bearer ${bearer}`,
      Accept: "application/json",
      "OData-MaxVersion": "4.0",
      "OData-Version": "4.0",
      ...(prefer ? { Prefer: prefer } : {}),
    },
  });
  const text = await r.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* text/plain, or empty */
  }
  return { status: r.status, body, headers: r.headers };
}

export async function appToken(sb: SandboxInfo, orgIndex = 0, app = 0): Promise<string> {
  const org = sb.orgs[orgIndex]!;
  const r = await fetch(`${sb.identity.httpUrl}/${org.tenantId}/oauth2/v2.0/token`, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: sb.apps[app]!.clientId,
      client_secret: sb.apps[app]!.clientSecret,
      scope: `${org.url}/.default`,
    }),
  });
  if (r.status !== 200) throw new Error(`token: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { access_token: string }).access_token;
}

/** Test-only minting endpoint of the identity sandbox (e.g. already-expired tokens). */
export async function mintToken(
  sb: SandboxInfo,
  body: { upn?: string; clientId?: string; tenantId?: string; audience: string; expiresIn?: number },
): Promise<string> {
  const r = await fetch(`${sb.identity.httpUrl}/_sandbox/token`, { method: "POST", body: JSON.stringify(body) });
  if (r.status !== 200) throw new Error(`mint: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { access_token: string }).access_token;
}

export async function control(org: { url: string }, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(`${org.url}/_sandbox/${path}`, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : undefined };
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

export const REDIRECT = "http://localhost:5173/auth/redirect.html";
export const SPA_ORIGIN = "http://localhost:5173";

/** Drive the authorize page like a browser would (form posts), return the code from the fragment. */
export async function authorizeCode(sb: SandboxInfo, upn: string, challenge: string, scope: string, nonce = "n-123"): Promise<string> {
  const tenant = sb.users.find((u) => u.upn === upn)!.tenantId;
  const base = `${sb.identity.httpUrl}/${tenant}/oauth2/v2.0/authorize`;
  const params = {
    client_id: sb.spaClientId,
    response_type: "code",
    redirect_uri: REDIRECT,
    scope,
    state: "st-1",
    nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
    response_mode: "fragment",
  };
  const page = await fetch(`${base}?${new URLSearchParams(params)}`);
  const html = await page.text();
  if (!html.includes(`Sign in as ${upn}`)) throw new Error("no sign-in button for " + upn);
  const consent = await fetch(base, { method: "POST", body: new URLSearchParams({ ...params, sandbox_user: upn }) });
  if (!(await consent.text()).includes(">Accept<")) throw new Error("no consent page");
  const done = await fetch(base, { method: "POST", body: new URLSearchParams({ ...params, sandbox_user: upn, sandbox_action: "accept" }), redirect: "manual" });
  const loc = done.headers.get("location") ?? "";
  const frag = new URLSearchParams(loc.split("#")[1] ?? "");
  if (!loc.startsWith(REDIRECT + "#") || frag.get("state") !== "st-1" || !frag.get("code")) throw new Error("bad redirect " + loc);
  return frag.get("code")!;
}

export async function redeem(sb: SandboxInfo, code: string, verifier: string, scope: string, origin: string | null = SPA_ORIGIN): Promise<Response> {
  const tenant = sb.users[0]!.tenantId;
  return fetch(`${sb.identity.httpUrl}/${tenant}/oauth2/v2.0/token`, {
    method: "POST",
    headers: origin ? { Origin: origin } : {},
    body: new URLSearchParams({ grant_type: "authorization_code", client_id: sb.spaClientId, code, code_verifier: verifier, redirect_uri: REDIRECT, scope }),
  });
}

export function decodeJwt(t: string): Record<string, any> {
  return JSON.parse(Buffer.from(t.split(".")[1]!, "base64url").toString());
}
