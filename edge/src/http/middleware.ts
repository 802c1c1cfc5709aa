import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import type { AppEnv } from "./app-env";
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
