import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app-env";
import { parseWith } from "../http/validate";
import { listActivity } from "../stores/audit";

export const ActivityQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z
    .string()
    .regex(/^\d{1,18}$/, "is not a cursor this API returned")
    .optional(),
  resourceType: z.enum(["connection", "job", "object"]).optional(),
  resourceId: z.string().max(100).optional(),
});

export const activityRoutes = new Hono<AppEnv>().get("/activity", async (c) => {
  const q = parseWith(ActivityQuery, c.req.query());
  return c.json(
    await listActivity(c.env, c.get("caller").tenant, {
      limit: q.limit,
      ...(q.cursor ? { before: Number(q.cursor) } : {}),
      ...(q.resourceType ? { resourceType: q.resourceType } : {}),
      ...(q.resourceId ? { resourceId: q.resourceId } : {}),
    }),
  );
});
