import { Hono } from "hono";
import { isDataverseError } from "../dataverse/client";
import type { AppEnv } from "../http/app-env";
import { ApiError, fromDataverseError, notFound } from "../http/errors";
import { getAttributes, getEntities } from "../metadata/cache";
import { isAllowedOrgUrl } from "../security/org-url";
import { getConnection } from "../stores/connections";
import type { Context } from "hono";

const LOGICAL_NAME = /^[a-z_][a-z0-9_]{0,99}$/;

async function withConnection(c: Context<AppEnv>) {
  const conn = await getConnection(c.env, c.get("caller").tenant, c.req.param("id") ?? "");
  if (!conn) throw notFound("No such connection");
  if (!isAllowedOrgUrl(conn.orgUrl, c.env.DEV_INSECURE_ORG_HOSTS)) throw new ApiError("proxy_refused", "The connection's orgUrl is no longer allowed");
  return conn;
}

/** The token is only needed when Dynamics must be asked: a cached answer needs none. */
function tokenOrThrow(c: Context<AppEnv>): string {
  const t = c.req.header("x-dynamics-token");
  if (!t) throw new ApiError("dynamics_token_missing", "Send the admin's Dynamics access token in X-Dynamics-Token");
  return t;
}

async function load<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isDataverseError(e)) throw fromDataverseError(e, what);
    throw e;
  }
}

export const metadataRoutes = new Hono<AppEnv>()
  .get("/connections/:id/entities", async (c) => {
    const conn = await withConnection(c);
    const refresh = c.req.query("refresh") === "1";
    const r = await load("Reading table definitions", () => getEntities(c.env, conn.tenant, conn, () => tokenOrThrow(c), refresh));
    c.header("X-Metadata-Fetched-At", r.fetchedAt);
    c.header("X-Metadata-Cache", r.fromCache ? "hit" : "miss");
    return c.json(r.value);
  })
  .get("/connections/:id/entities/:logicalName/attributes", async (c) => {
    const conn = await withConnection(c);
    const entity = c.req.param("logicalName");
    if (!LOGICAL_NAME.test(entity)) throw notFound("No such table");
    const refresh = c.req.query("refresh") === "1";
    const r = await load(`Reading the columns of ${entity}`, () => getAttributes(c.env, conn.tenant, conn, () => tokenOrThrow(c), entity, refresh));
    c.header("X-Metadata-Fetched-At", r.fetchedAt);
    c.header("X-Metadata-Cache", r.fromCache ? "hit" : "miss");
    return c.json(r.value);
  });
