import { env, SELF } from "cloudflare:test";
import { SignJWT } from "jose";
import { tenantKey } from "../src/stores/object-tables";
import type { SandboxInfo } from "./global-setup";

export const BASE = "https://edge.test";

let counter = 0;
/** A fresh host tenant per test: tests never see each other's data, whatever the storage isolation. */
export function newTenant(label = "t"): string {
  return `${label}-${Date.now().toString(36)}-${(counter++).toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
}

export interface TokenOptions {
  tenant?: string;
  sub?: string;
  role?: "admin" | "viewer" | string;
  email?: string;
  expiresIn?: number; // seconds from now (negative = expired)
  secret?: string;
  omit?: Array<"tenant" | "sub" | "role" | "exp">;
}

export async function hostToken(o: TokenOptions = {}): Promise<string> {
  const claims: Record<string, unknown> = { tenant: o.tenant ?? "tenant-a", role: o.role ?? "admin", email: o.email ?? "admin@host.example" };
  for (const k of o.omit ?? []) delete claims[k];
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setIssuedAt();
  if (!o.omit?.includes("sub")) jwt = jwt.setSubject(o.sub ?? "user-1");
  if (!o.omit?.includes("exp")) jwt = jwt.setExpirationTime(Math.floor(Date.now() / 1000) + (o.expiresIn ?? 300));
  return jwt.sign(new TextEncoder().encode(o.secret ?? env.HOST_JWT_SECRET));
}

/** Per-tenant admin and viewer tokens. */
export async function actors(tenant = newTenant()) {
  return {
    tenant,
    admin: await hostToken({ tenant, role: "admin", sub: "admin-1", email: "admin@host.example" }),
    viewer: await hostToken({ tenant, role: "viewer", sub: "viewer-1", email: "viewer@host.example" }),
  };
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  rawBody?: BodyInit;
}

/** The request a test call makes: host token, JSON body, never following redirects. */
export function apiRequest(method: string, path: string, o: CallOptions = {}): Request {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.token) headers.Authorization = `Bearer ${o.token}`;
  let body: BodyInit | undefined = o.rawBody;
  if (o.body !== undefined) {
    headers["Content-Type"] ??= "application/json";
    body = JSON.stringify(o.body);
  }
  return new Request(`${BASE}${path}`, { method, headers, body, redirect: "manual" });
}

export async function call(method: string, path: string, o: CallOptions = {}): Promise<Response> {
  return SELF.fetch(apiRequest(method, path, o));
}

export async function json<T = any>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

export async function expectError(
  res: Response,
  status: number,
  code: string,
): Promise<{ code: string; message: string; details?: Array<{ path: string; message: string }>; requestId?: string }> {
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`expected JSON error ${status} ${code}, got ${res.status}: ${text.slice(0, 300)}`);
  }
  if (res.status !== status || body?.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${JSON.stringify(body).slice(0, 500)}`);
  }
  return body.error;
}

/** Sandbox facts, or null when demo/sandbox is not available (Dynamics-dependent tests skip). */
export function sandbox(): SandboxInfo | null {
  return env.SANDBOX ? (JSON.parse(env.SANDBOX) as SandboxInfo) : null;
}

/** A valid, disabled Accounts → Company job on `connectionId`; `over` replaces top-level keys. */
export const jobBody = (connectionId: string, name: string, over: Record<string, unknown> = {}) => ({
  connectionId,
  name,
  enabled: false,
  source: { entity: "account" },
  target: { object: "Company" },
  identifiers: [{ source: "accountid", target: "DynamicsId" }],
  mappings: [{ source: "name", target: "Name" }],
  ...over,
});

export const CONTOSO_URL = "https://contoso.crm.dynamics.com";

export async function createConnection(token: string, orgUrl = CONTOSO_URL, name = "Contoso"): Promise<any> {
  const res = await call("POST", "/api/v1/connections", { token, body: { name, orgUrl } });
  if (res.status !== 201) throw new Error(`create connection: ${res.status} ${await res.text()}`);
  return json(res);
}

/**
 * Everything a tenant has in storage: its KV keys with their values, and its D1 rows (rows of tables with a tenant
 * column, and every row of its target-object tables). Equal snapshots before and after a request = it wrote nothing.
 */
export async function tenantStorage(tenant: string): Promise<{ kv: Record<string, string | null>; d1: Record<string, unknown[]> }> {
  const kv: Record<string, string | null> = {};
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<unknown, string> = await env.CONFIG.list({ prefix: `t/${tenant}/`, ...(cursor ? { cursor } : {}) });
    for (const k of page.keys) kv[k.name] = await env.CONFIG.get(k.name);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  const ownTables = `o_${await tenantKey(tenant)}_`;
  const d1: Record<string, unknown[]> = {};
  const tables = await env.DATA.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%'",
  ).all<{ name: string }>();
  for (const { name } of tables.results) {
    const columns = await env.DATA.prepare(`SELECT name FROM pragma_table_info(?)`).bind(name).all<{ name: string }>();
    if (name === "tenant_shards") continue; // where the tenant lives (placed on its first request), not its data
    if (columns.results.some((c) => c.name === "tenant"))
      d1[name] = (await env.DATA.prepare(`SELECT * FROM "${name}" WHERE tenant = ?`).bind(tenant).all()).results;
    else if (name.startsWith(ownTables)) d1[name] = (await env.DATA.prepare(`SELECT * FROM "${name}"`).all()).results;
  }
  return { kv, d1 };
}
