import { Hono, type Context } from "hono";
import type { AppEnv } from "../http/app-env";
import { requireAdmin } from "../http/auth";
import { requireAllowedOrg, requireDynamicsToken } from "../http/dynamics";
import { notFound, withDataverseErrors } from "../http/errors";
import { getAttributes, getEntities } from "../metadata/cache";
import { getConnection } from "../stores/connections";

const LOGICAL_NAME = /^[a-z_][a-z0-9_]{0,99}$/;

async function allowedConnection(c: Context<AppEnv>) {
  const conn = await getConnection(c.env, c.get("caller").tenant, c.req.param("id") ?? "");
  if (!conn) throw notFound("No such connection");
  requireAllowedOrg(c.env, conn);
  return conn;
}

/** Says whether the answer came from the cache, and how old it is. */
function describeCache<T>(c: Context<AppEnv>, r: { value: T; fetchedAt: string; fromCache: boolean }): T {
  c.header("X-Metadata-Fetched-At", r.fetchedAt);
  c.header("X-Metadata-Cache", r.fromCache ? "hit" : "miss");
  return r.value;
}

/**
 * `?refresh=1` rewrites the tenant's cache, so it is a change like any write: admins only (a viewer gets 403
 * `forbidden`). A viewer's cache miss is answered live and not stored: viewers never write the tenant's metadata cache.
 */
function cacheMode(c: Context<AppEnv>): { refresh: boolean; store: boolean } {
  const caller = c.get("caller");
  const refresh = c.req.query("refresh") === "1";
  if (refresh) requireAdmin(caller);
  return { refresh, store: caller.role === "admin" };
}

// The Dynamics token is asked for lazily: only a cache miss or a refresh needs one.

export const metadataRoutes = new Hono<AppEnv>()
  .get("/connections/:id/entities", async (c) => {
    const { refresh, store } = cacheMode(c);
    const conn = await allowedConnection(c);
    return c.json(
      describeCache(
        c,
        await withDataverseErrors("Reading table definitions", () => getEntities(c.env, conn.tenant, conn, () => requireDynamicsToken(c), refresh, { store })),
      ),
    );
  })
  .get("/connections/:id/entities/:logicalName/attributes", async (c) => {
    const { refresh, store } = cacheMode(c);
    const conn = await allowedConnection(c);
    const entity = c.req.param("logicalName");
    if (!LOGICAL_NAME.test(entity)) throw notFound("No such table");
    return c.json(
      describeCache(
        c,
        await withDataverseErrors(`Reading the columns of ${entity}`, () =>
          getAttributes(c.env, conn.tenant, conn, () => requireDynamicsToken(c), entity, refresh, { store }),
        ),
      ),
    );
  });
