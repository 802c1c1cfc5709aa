import { Hono } from "hono";
import { AuthorizeConnectionBody, CreateConnectionBody, RenameConnectionBody } from "#contract/connection";
import type { AppEnv } from "../http/app-env";
import { notFound, validationFailed } from "../http/errors";
import { readJson } from "../http/validate";
import { requireConnectionRoom } from "../quotas/tenant-quotas";
import { normalizeOrgUrl } from "../security/org-url";
import { audit } from "../stores/audit";
import { connectionForAudit, deleteConnection, getConnection, listConnections, putConnection, toWire, type StoredConnection } from "../stores/connections";
import { listJobs, putJob } from "../stores/jobs";
import { newId } from "../stores/kv";
import { authorizeConnection } from "../connections/authorize";
import { releaseClaimIfLast } from "../connections/ownership";
import { presentConnection, presentConnections } from "../connections/view";

export const connectionRoutes = new Hono<AppEnv>()
  .get("/connections", async (c) => {
    const { tenant } = c.get("caller");
    return c.json(await presentConnections(c.env, tenant, await listConnections(c.env, tenant)));
  })
  .post("/connections", async (c) => {
    const caller = c.get("caller");
    const body = await readJson(c, CreateConnectionBody);
    const org = normalizeOrgUrl(body.orgUrl, c.env.DEV_INSECURE_ORG_HOSTS);
    if (!org.ok) throw validationFailed([{ path: "orgUrl", message: org.reason }]);
    await requireConnectionRoom(c.env, caller.tenant);
    const now = new Date().toISOString();
    const conn: StoredConnection = {
      id: newId("conn"),
      tenant: caller.tenant,
      name: body.name,
      orgUrl: org.orgUrl,
      status: "not_authorized",
      createdAt: now,
      updatedAt: now,
    };
    await putConnection(c.env, conn);
    await audit(c.env, caller, "connection.create", { type: "connection", id: conn.id }, null, connectionForAudit(conn));
    return c.json({ ...toWire(conn), jobCount: 0, ...(org.notes.length ? { notes: org.notes } : {}) }, 201);
  })
  .get("/connections/:id", async (c) => {
    const { tenant } = c.get("caller");
    const conn = await getConnection(c.env, tenant, c.req.param("id"));
    if (!conn) throw notFound("No such connection");
    return c.json(await presentConnection(c.env, tenant, conn));
  })
  .patch("/connections/:id", async (c) => {
    const caller = c.get("caller");
    const conn = await getConnection(c.env, caller.tenant, c.req.param("id"));
    if (!conn) throw notFound("No such connection");
    const body = await readJson(c, RenameConnectionBody);
    const next: StoredConnection = { ...conn, name: body.name, updatedAt: new Date().toISOString() };
    await putConnection(c.env, next);
    await audit(c.env, caller, "connection.update", { type: "connection", id: conn.id }, connectionForAudit(conn), connectionForAudit(next));
    return c.json(await presentConnection(c.env, caller.tenant, next));
  })
  .delete("/connections/:id", async (c) => {
    const caller = c.get("caller");
    const conn = await getConnection(c.env, caller.tenant, c.req.param("id"));
    if (!conn) throw notFound("No such connection");
    // Its jobs stay (their history is the host's) but can never run again without a connection.
    const disabled: string[] = [];
    for (const job of (await listJobs(c.env, caller.tenant)).filter((j) => j.connectionId === conn.id && j.enabled)) {
      const next = { ...job, enabled: false, updatedAt: new Date().toISOString() };
      await putJob(c.env, caller.tenant, next);
      await audit(c.env, caller, "job.disable", { type: "job", id: job.id }, job, next);
      disabled.push(job.id);
    }
    await deleteConnection(c.env, caller.tenant, conn.id);
    await audit(c.env, caller, "connection.delete", { type: "connection", id: conn.id }, connectionForAudit(conn), null);
    await releaseClaimIfLast(c.env, caller, conn);
    return c.json({ deleted: true, id: conn.id, disabledJobs: disabled });
  })
  .post("/connections/:id/authorize", async (c) => {
    const caller = c.get("caller");
    const conn = await getConnection(c.env, caller.tenant, c.req.param("id"));
    if (!conn) throw notFound("No such connection");
    const body = await readJson(c, AuthorizeConnectionBody);
    const next = await authorizeConnection(c.env, caller, conn, body.accessToken);
    return c.json(await presentConnection(c.env, caller.tenant, next));
  });
