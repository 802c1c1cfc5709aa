/**
 * The operator API (/ops/v1): deployment-wide operations no host tenant may call — the D1 shards' load, moving a tenant
 * between shards (ops/move-tenant.ts), and an organization's stream permits. Authenticated by the OPERATOR_TOKEN secret as a bearer token, compared in
 * constant time; a host token is never accepted. Without OPERATOR_TOKEN the API does not exist (404).
 */
import { Hono, type MiddlewareHandler } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/app-env";
import { ApiError, validationFailed } from "../http/errors";
import { readJson } from "../http/validate";
import { moveTenantStep } from "../ops/move-tenant";
import { shardLoads } from "../stores/shards";
import { orgPermits } from "../sync/org-permits";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** OPERATOR_TOKEN is optional (no operator API without it), so it is not in [secrets] required: typed here. */
type OperatorEnv = { OPERATOR_TOKEN?: string };

/** Shortest operator token accepted: a shorter one is a misconfiguration, refused rather than guessable. */
export const MIN_OPERATOR_TOKEN_CHARS = 32;

const requireOperator: MiddlewareHandler<AppEnv> = async (c, next) => {
  const expected = (c.env as OperatorEnv).OPERATOR_TOKEN ?? "";
  if (!expected) throw new ApiError("not_found", "No such route");
  if (expected.length < MIN_OPERATOR_TOKEN_CHARS) throw new ApiError("misconfigured", `OPERATOR_TOKEN must be at least ${MIN_OPERATOR_TOKEN_CHARS} characters`);
  const given = /^Bearer (.+)$/.exec(c.req.header("Authorization") ?? "")?.[1] ?? "";
  const enc = new TextEncoder();
  const [a, b] = [enc.encode(given), enc.encode(expected)];
  if (a.byteLength !== b.byteLength || !crypto.subtle.timingSafeEqual(a, b)) throw new ApiError("unauthorized", "The operator API needs the operator token");
  await next();
};

const MoveBody = z.strictObject({
  to: z.string().regex(/^DATA(_[1-9]\d*)?$/, "a D1 shard binding: DATA, DATA_2, …"),
  cursor: z
    .strictObject({ from: z.string().regex(/^DATA(_[1-9]\d*)?$/), step: z.number().int().min(0), after: z.array(z.unknown()).nullable() })
    .nullable()
    .optional(),
});

export const opsRoutes = new Hono<AppEnv>()
  .use("*", requireOperator)
  .get("/shards", async (c) => c.json({ tenants: await shardLoads(c.env) }))
  // An organization's stream permits (sync/org-permits.ts): its current limit (lower while Dataverse throttles it),
  // the maximum, and the runs holding one — why an org's syncs wait.
  .get("/orgs/:organizationId/permits", async (c) => {
    const id = c.req.param("organizationId");
    if (!GUID.test(id)) throw validationFailed([{ path: "organizationId", message: "must be the organization's OrganizationId (a GUID)" }]);
    return c.json({ organizationId: id.toLowerCase(), ...(await orgPermits(c.env, id.toLowerCase()).status()) });
  })
  .post("/tenants/:tenant/move", async (c) => {
    const body = await readJson(c, MoveBody);
    const progress = await moveTenantStep(c.env, c.req.param("tenant"), body.to, body.cursor ?? null);
    if (progress.phase === "done")
      console.log(JSON.stringify({ level: "info", msg: "tenant moved", tenant: progress.tenant, from: progress.from, to: progress.to }));
    return c.json(progress);
  });
