import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import type { AppEnv } from "./app-env";
import { withTenantShard } from "../stores/shards";
import { ApiError } from "./errors";

/** A request id on every response (and in every error envelope) so a host can quote it in a support ticket. */
export const requestId: MiddlewareHandler<AppEnv> = async (c, next) => {
  const id = crypto.randomUUID();
  c.set("requestId", id);
  await next();
  c.res.headers.set("X-Request-Id", id);
};

/** CORS for the origins in ALLOWED_ORIGINS (exact match; `*` is never honoured: the API carries bearer tokens). */
export const corsForAllowedOrigins: MiddlewareHandler<AppEnv> = (c, next) =>
  cors({
    origin: (origin) => {
      const allowed = (c.env.ALLOWED_ORIGINS ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s && s !== "*");
      return allowed.includes(origin) ? origin : null;
    },
    allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allowHeaders: ["Authorization", "Content-Type", "X-Dynamics-Token", "Prefer", "Idempotency-Key"],
    exposeHeaders: ["X-Request-Id", "Preference-Applied", "Retry-After", "Idempotent-Replayed"],
    maxAge: 600,
  })(c, next);

export const API_BODY_LIMIT = 256 * 1024;
export const PROXY_BODY_LIMIT = 1024 * 1024;

export const limitBody = (maxSize: number): MiddlewareHandler<AppEnv> =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError("payload_too_large", `The request body is larger than ${Math.round(maxSize / 1024)} KB`);
    },
  });

/**
 * Resolves the caller's D1 shard once for the request (stores/shards.ts: one read of the tenant directory), so the
 * route's store calls reach it without reading the directory again; a tenant being moved gets 503 tenant_moving.
 */
export const scopeToTenantShard: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.env = await withTenantShard(c.env, c.get("caller").tenant);
  await next();
};
