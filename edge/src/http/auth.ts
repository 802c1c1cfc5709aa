import type { MiddlewareHandler } from "hono";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { z } from "zod";
import type { AppEnv, Caller } from "./app-env";
import { ApiError } from "./errors";

/** Host tokens are short-lived JWTs: these are the only algorithms accepted (never `none`). */
const HS_ALGS = ["HS256"] as const;
const RS_ALGS = ["RS256"] as const;
export const CLOCK_TOLERANCE_SECONDS = 60;

const Claims = z.object({
  // No "/" or other separators: the tenant is a KV key segment and must never be able to alias another tenant's prefix.
  tenant: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/),
  sub: z.string().min(1).max(256),
  role: z.enum(["admin", "viewer"]),
  email: z.string().max(320).optional(),
  exp: z.number(),
});

const jwksCache = new Map<string, JWTVerifyGetKey>();
function jwks(url: string): JWTVerifyGetKey {
  let set = jwksCache.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { timeoutDuration: 5000, cooldownDuration: 30_000 });
    jwksCache.set(url, set);
  }
  return set;
}

const unauthorized = (message: string) =>
  new ApiError("unauthorized", message, undefined, { "WWW-Authenticate": 'Bearer realm="dynamics-connector"' });

/** Verifies `Authorization: Bearer <host JWT>` and sets `caller`. Every failure is 401 with a reason that names no secret. */
export async function verifyHostToken(token: string, env: { HOST_JWT_SECRET: string; HOST_JWKS_URL: string }): Promise<Caller> {
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw unauthorized("The host token is not a JWT");
  }
  let payload: JWTPayload;
  try {
    if (alg && (HS_ALGS as readonly string[]).includes(alg)) {
      if (!env.HOST_JWT_SECRET) throw unauthorized("HS256 host tokens are not configured");
      ({ payload } = await jwtVerify(token, new TextEncoder().encode(env.HOST_JWT_SECRET), {
        algorithms: [...HS_ALGS],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ["exp", "sub"],
      }));
    } else if (alg && (RS_ALGS as readonly string[]).includes(alg) && env.HOST_JWKS_URL) {
      ({ payload } = await jwtVerify(token, jwks(env.HOST_JWKS_URL), {
        algorithms: [...RS_ALGS],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ["exp", "sub"],
      }));
    } else {
      throw unauthorized(`Host token algorithm ${JSON.stringify(alg ?? null)} is not accepted`);
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    const code = (e as { code?: string }).code;
    if (code === "ERR_JWT_EXPIRED") throw unauthorized("The host token has expired");
    if (code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED") throw unauthorized("The host token signature is invalid");
    if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED") throw unauthorized(`The host token is missing a valid claim: ${(e as { claim?: string }).claim ?? "?"}`);
    throw unauthorized("The host token is invalid");
  }
  const claims = Claims.safeParse(payload);
  if (!claims.success) {
    throw unauthorized(`The host token is missing a valid claim: ${claims.error.issues.map((i) => i.path.join(".")).join(", ")}`);
  }
  const { tenant, sub, role, email } = claims.data;
  return { tenant, sub, role, ...(email ? { email } : {}) };
}

export const requireHostToken: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+([A-Za-z0-9_\-.]+)\s*$/i.exec(header);
  if (!match?.[1]) throw unauthorized("Send the host token as Authorization: Bearer <token>");
  c.set("caller", await verifyHostToken(match[1], c.env));
  await next();
};

export function requireAdmin(caller: Caller): void {
  if (caller.role !== "admin") throw new ApiError("forbidden", "This action needs the admin role");
}

/** Viewers read; anything that changes state needs `admin`. Applied to every non-GET/HEAD method. */
export const requireAdminForWrites: MiddlewareHandler<AppEnv> = async (c, next) => {
  const method = c.req.method;
  if (method !== "GET" && method !== "HEAD" && method !== "OPTIONS") requireAdmin(c.get("caller"));
  await next();
};
