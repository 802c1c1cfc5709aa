/**
 * What every route that calls Dynamics on the admin's behalf (proxy, metadata, preview) checks first: the stored
 * orgUrl is still allowed (the allow-list may have changed since the connection was created), and the admin's
 * delegated token came in `X-Dynamics-Token`.
 */
import type { Context } from "hono";
import type { Env } from "../env";
import { isAllowedOrgUrl } from "../security/org-url";
import type { AppEnv } from "./app-env";
import { ApiError } from "./errors";

export function requireAllowedOrg(env: Pick<Env, "DEV_INSECURE_ORG_HOSTS">, conn: { orgUrl: string }): void {
  if (!isAllowedOrgUrl(conn.orgUrl, env.DEV_INSECURE_ORG_HOSTS)) throw new ApiError("proxy_refused", "The connection's orgUrl is no longer allowed");
}

export function requireDynamicsToken(c: Context<AppEnv>): string {
  const token = c.req.header("x-dynamics-token");
  if (!token) throw new ApiError("dynamics_token_missing", "Send the admin's Dynamics access token in X-Dynamics-Token");
  return token;
}
