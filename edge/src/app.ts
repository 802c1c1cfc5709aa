import { Hono } from "hono";
import type { AppEnv } from "./http/app-env";
import { requireAdminForWrites, requireHostToken } from "./http/auth";
import { envelope, onError } from "./http/errors";
import { idempotency } from "./http/idempotency";
import { API_BODY_LIMIT, corsForAllowedOrigins, limitBody, requestId, scopeToTenantShard } from "./http/middleware";
import { openApiDocument } from "./openapi/document";
import { activityRoutes } from "./routes/activity";
import { connectionRoutes } from "./routes/connections";
import { jobRoutes } from "./routes/jobs";
import { metadataRoutes } from "./routes/metadata";
import { objectRoutes } from "./routes/objects";
import { opsRoutes } from "./routes/ops";
import { proxyRoutes } from "./routes/proxy";
import { runRoutes } from "./routes/runs";

const VERSION = "0.1.0";

/** Everything behind the host token; the proxy has its own (larger) body limit. */
const api = new Hono<AppEnv>()
  .use("*", requireHostToken, requireAdminForWrites, scopeToTenantShard)
  .use("*", async (c, next) => (c.req.path.includes("/dynamics/") ? next() : limitBody(API_BODY_LIMIT)(c, next)))
  .use("*", idempotency)
  .route("/", connectionRoutes)
  .route("/", proxyRoutes)
  .route("/", metadataRoutes)
  .route("/", objectRoutes)
  .route("/", jobRoutes)
  .route("/", runRoutes)
  .route("/", activityRoutes);

export const app = new Hono<AppEnv>()
  .use("*", requestId)
  .use("/api/*", corsForAllowedOrigins)
  .get("/api/v1/health", (c) => c.json({ ok: true, version: VERSION }))
  .get("/api/v1/openapi.json", (c) => c.json(openApiDocument(VERSION)))
  .route("/api/v1", api)
  .route("/ops/v1", opsRoutes);

app.onError(onError);
app.notFound((c) => envelope(c, "not_found", "No such route"));
