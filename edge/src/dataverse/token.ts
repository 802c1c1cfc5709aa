/**
 * Background (application) tokens: OAuth 2.0 client credentials against
 * `${AUTHORITY_HOST}/${tenantId}/oauth2/v2.0/token`, scope `${orgUrl}/.default`.
 * Cached in isolate memory only, until 5 minutes before expiry; never persisted, never logged.
 */
import { z } from "zod";
import type { Env } from "../env";
import { DataverseError } from "./errors";

const EARLY_REFRESH_MS = 5 * 60_000;
const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9.-]{0,99}$/;

const TokenResponse = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.union([z.number(), z.string()]).transform((v) => Number(v)),
});

interface Cached {
  token: string;
  refreshAt: number;
}
const cache = new Map<string, Cached>();
const inflight = new Map<string, Promise<string>>();

type TokenEnv = Pick<Env, "AUTHORITY_HOST" | "DYNAMICS_CLIENT_ID" | "DYNAMICS_CLIENT_SECRET">;

export async function getAppToken(env: TokenEnv, tenantId: string, orgUrl: string, opts?: { forceRefresh?: boolean }): Promise<string> {
  if (!TENANT_ID.test(tenantId)) throw new DataverseError(0, "invalid_tenant", "The connection's Entra tenant id is not valid");
  if (!env.DYNAMICS_CLIENT_ID || !env.DYNAMICS_CLIENT_SECRET) {
    throw new DataverseError(0, "not_configured", "DYNAMICS_CLIENT_ID / DYNAMICS_CLIENT_SECRET are not set");
  }
  const scope = `${orgUrl.replace(/\/+$/, "")}/.default`;
  const key = `${env.AUTHORITY_HOST}|${tenantId}|${scope}|${env.DYNAMICS_CLIENT_ID}`;
  if (!opts?.forceRefresh) {
    const hit = cache.get(key);
    if (hit && hit.refreshAt > Date.now()) return hit.token;
    const pending = inflight.get(key);
    if (pending) return pending;
  } else {
    cache.delete(key);
  }
  const p = fetchToken(env, tenantId, scope).then(
    ({ token, expiresIn }) => {
      const refreshAt = Date.now() + expiresIn * 1000 - EARLY_REFRESH_MS;
      if (refreshAt > Date.now()) cache.set(key, { token, refreshAt });
      inflight.delete(key);
      return token;
    },
    (err) => {
      inflight.delete(key);
      throw err;
    },
  );
  inflight.set(key, p);
  return p;
}

async function fetchToken(env: TokenEnv, tenantId: string, scope: string): Promise<{ token: string; expiresIn: number }> {
  const url = `${env.AUTHORITY_HOST.replace(/\/+$/, "")}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`;
  const body = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: env.DYNAMICS_CLIENT_ID,
    client_secret: env.DYNAMICS_CLIENT_SECRET,
    scope,
  });
  let lastErr: DataverseError | undefined;
  for (let attempt = 0; attempt < 4; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * 250 * 2 ** attempt));
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      lastErr = new DataverseError(0, "identity_unreachable", `Token endpoint unreachable: ${err instanceof Error ? err.message.slice(0, 200) : "error"}`);
      continue;
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = {};
    }
    if (!res.ok) {
      const o = (json ?? {}) as { error?: unknown; error_description?: unknown };
      const code = typeof o.error === "string" ? o.error : `http_${res.status}`;
      // error_description's first line is Microsoft's AADSTS message; it never contains the secret.
      const msg = typeof o.error_description === "string" ? o.error_description.split(/\r?\n/)[0]! : `Token request failed (${res.status})`;
      lastErr = new DataverseError(res.status, code, msg.slice(0, 500));
      if (res.status === 429 || res.status >= 500) continue;
      throw lastErr;
    }
    const parsed = TokenResponse.safeParse(json);
    if (!parsed.success || !Number.isFinite(parsed.data.expires_in)) {
      throw new DataverseError(res.status, "invalid_response", "Token endpoint answered without access_token / expires_in");
    }
    return { token: parsed.data.access_token, expiresIn: parsed.data.expires_in };
  }
  throw lastErr ?? new DataverseError(0, "identity_unreachable", "Token endpoint unreachable");
}
