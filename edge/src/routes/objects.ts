import { Hono } from "hono";
import { z } from "zod";
import { CreateObjectBody, UpdateObjectBody } from "#contract/object";
import type { AppEnv } from "../http/app-env";
import { notFound } from "../http/errors";
import { parseWith, readJson } from "../http/validate";
import { audit } from "../stores/audit";
import { createObjectWithinQuota, requireFieldRoom } from "../quotas/tenant-quotas";
import { getObject, listObjects, updateObject } from "../stores/objects";
import { listRecords, parseRecordFilter } from "../stores/records";

export const RecordsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(300).optional(),
  filter: z.string().max(1000).optional(),
  includeDeleted: z.enum(["0", "1", "true", "false"]).optional(),
});

export const objectRoutes = new Hono<AppEnv>()
  .get("/objects", async (c) => c.json(await listObjects(c.env, c.get("caller").tenant)))
  .post("/objects", async (c) => {
    const caller = c.get("caller");
    const body = await readJson(c, CreateObjectBody);
    const obj = await createObjectWithinQuota(c.env, caller.tenant, body);
    await audit(c.env, caller, "object.create", { type: "object", id: obj.name }, null, obj);
    return c.json(obj, 201);
  })
  .get("/objects/:name", async (c) => {
    const obj = await getObject(c.env, c.get("caller").tenant, c.req.param("name"));
    if (!obj) throw notFound("No such object");
    return c.json(obj);
  })
  .patch("/objects/:name", async (c) => {
    const caller = c.get("caller");
    const obj = await getObject(c.env, caller.tenant, c.req.param("name"));
    if (!obj) throw notFound("No such object");
    const body = await readJson(c, UpdateObjectBody);
    requireFieldRoom("addFields", obj.fields, body.addFields ?? []);
    const next = await updateObject(c.env, caller.tenant, obj, body);
    await audit(c.env, caller, "object.update", { type: "object", id: obj.name }, obj, next);
    return c.json(next);
  })
  .get("/objects/:name/records", async (c) => {
    const { tenant } = c.get("caller");
    const obj = await getObject(c.env, tenant, c.req.param("name"));
    if (!obj) throw notFound("No such object");
    const q = parseWith(RecordsQuery, c.req.query());
    const filters = q.filter ? parseRecordFilter(q.filter, obj) : [];
    const page = await listRecords(c.env, tenant, obj, {
      limit: q.limit,
      ...(q.cursor ? { cursor: q.cursor } : {}),
      filters,
      includeDeleted: q.includeDeleted === "1" || q.includeDeleted === "true",
    });
    return c.json(page);
  });
