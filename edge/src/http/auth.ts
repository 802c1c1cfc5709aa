import type { MiddlewareHandler } from "hono";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { z } from "zod";
import type { AppEnv, Caller } from "./app-env";
import { ApiError } from "./errors";

/** Host tokens are short-lived JWTs: these are the only algorithms accepted (never `none`). */
const HS_ALGS = ["HS256"] as const;
const RS_ALGS = ["RS256"] as const;
export const CLOCK_TOLERANCE_SECONDS = 60;
/** An HS256 key shorter than the hash (RFC 7518 §3.2) is refused: the edge answers 500 `misconfigured` to everything. */
export const MIN_HS256_SECRET_BYTES = 32;
/** `HOST_JWT_MAX_TTL_S` when unset: a host token may live at most one hour. */
export const DEFAULT_HOST_JWT_MAX_TTL_S = 3600;

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

const unauthorized = (message: string) => new ApiError("unauthorized", message, undefined, { "WWW-Authenticate": 'Bearer realm="dynamics-connector"' });

/** The variables host-token verification reads (see wrangler.toml [vars]); the optional ones default as documented there. */
export interface HostAuthEnv {
  HOST_JWT_SECRET: string;
  HOST_JWKS_URL: string;
  /** Non-empty: every token's `aud` must contain it. */
  HOST_JWT_AUDIENCE?: string;
  /** Non-empty: every token's `iss` must equal it. */
  HOST_JWT_ISSUER?: string;
  /** Longest accepted lifetime in seconds (default 3600). */
  HOST_JWT_MAX_TTL_S?: string;
}

/** The checked configuration of host-token verification. */
export interface HostAuthConfig {
  /** The HS256 key (HOST_JWT_SECRET's UTF-8 bytes), or null when HS256 is not configured. */
  hsKey: Uint8Array | null;
  jwksUrl: string;
  audience?: string;
  issuer?: string;
  maxTtlSeconds: number;
}

/** Configuration problems already logged by this isolate: each is logged once, not once per request. */
const reportedProblems = new Set<string>();

/** A configuration error: 500 `misconfigured`, naming the variable and never its value. */
function misconfigured(variable: string, message: string): ApiError {
  if (!reportedProblems.has(message)) {
    reportedProblems.add(message);
    console.error(JSON.stringify({ level: "error", event: "misconfigured", variable, message }));
  }
  return new ApiError("misconfigured", message);
}

/**
 * Reads and checks the host-token variables. A broken configuration throws ApiError `misconfigured` (500): every
 * request fails loudly instead of the edge running with a guessable HS256 key or an unbounded token lifetime.
 */
export function hostAuthConfig(env: HostAuthEnv): HostAuthConfig {
  const secret = env.HOST_JWT_SECRET ?? "";
  const hsKey = secret ? new TextEncoder().encode(secret) : null;
  if (hsKey && hsKey.byteLength < MIN_HS256_SECRET_BYTES) {
    throw misconfigured(
      "HOST_JWT_SECRET",
      `HOST_JWT_SECRET is shorter than ${MIN_HS256_SECRET_BYTES} bytes: set a random secret of at least ${MIN_HS256_SECRET_BYTES} bytes (e.g. openssl rand -base64 32) on the edge and in the host backend`,
    );
  }
  const ttl = (env.HOST_JWT_MAX_TTL_S ?? "").trim();
  if (ttl !== "" && !/^[1-9]\d{0,8}$/.test(ttl)) {
    throw misconfigured("HOST_JWT_MAX_TTL_S", "HOST_JWT_MAX_TTL_S must be a whole number of seconds greater than 0 (default 3600)");
  }
  const audience = (env.HOST_JWT_AUDIENCE ?? "").trim();
  const issuer = (env.HOST_JWT_ISSUER ?? "").trim();
  return {
    hsKey,
    jwksUrl: env.HOST_JWKS_URL ?? "",
    ...(audience ? { audience } : {}),
    ...(issuer ? { issuer } : {}),
    maxTtlSeconds: ttl === "" ? DEFAULT_HOST_JWT_MAX_TTL_S : Number(ttl),
  };
}

/** Why jose refused a claim, in words (the expected audience/issuer are not echoed). */
function claimProblem(e: { claim?: string; reason?: string }): string {
  const missing = e.reason === "missing";
  if (e.claim === "aud")
    return missing ? "The host token has no audience (aud) claim; this edge requires one" : "The host token's audience (aud) is not this edge";
  if (e.claim === "iss")
    return missing ? "The host token has no issuer (iss) claim; this edge requires one" : "The host token's issuer (iss) is not the one this edge trusts";
  return `The host token is missing a valid claim: ${e.claim ?? "?"}`;
}

/**
 * Verifies a host JWT (`Authorization: Bearer <host JWT>`) and returns the caller. Every token problem is 401 with a
 * reason that names no secret; a misconfigured edge is 500 `misconfigured` (see hostAuthConfig).
 */
export async function verifyHostToken(token: string, env: HostAuthEnv): Promise<Caller> {
  return verifyWithConfig(token, hostAuthConfig(env));
}

async function verifyWithConfig(token: string, config: HostAuthConfig): Promise<Caller> {
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw unauthorized("The host token is not a JWT");
  }
  // jose checks aud / iss itself when they are configured (and then requires the claims to be present).
  const checks = {
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    requiredClaims: ["exp", "sub"],
    ...(config.audience ? { audience: config.audience } : {}),
    ...(config.issuer ? { issuer: config.issuer } : {}),
  };
  let payload: JWTPayload;
  try {
    if (alg && (HS_ALGS as readonly string[]).includes(alg)) {
      if (!config.hsKey) throw unauthorized("HS256 host tokens are not configured");
      ({ payload } = await jwtVerify(token, config.hsKey, { ...checks, algorithms: [...HS_ALGS] }));
    } else if (alg && (RS_ALGS as readonly string[]).includes(alg) && config.jwksUrl) {
      ({ payload } = await jwtVerify(token, jwks(config.jwksUrl), { ...checks, algorithms: [...RS_ALGS] }));
    } else {
      throw unauthorized(`Host token algorithm ${JSON.stringify(alg ?? null)} is not accepted`);
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    const code = (e as { code?: string }).code;
    if (code === "ERR_JWT_EXPIRED") throw unauthorized("The host token has expired");
    if (code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED") throw unauthorized("The host token signature is invalid");
    if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED") throw unauthorized(claimProblem(e as { claim?: string; reason?: string }));
    throw unauthorized("The host token is invalid");
  }
  const claims = Claims.safeParse(payload);
  if (!claims.success) {
    throw unauthorized(`The host token is missing a valid claim: ${claims.error.issues.map((i) => i.path.join(".")).join(", ")}`);
  }
  // Short lifetimes: a leaked token is useful for minutes, not days. `exp` - now is the rule that matters (the clock
  // tolerance covers a host clock that runs ahead); `exp` - `iat`, when iat is present, catches the same minting bug
  // in a token that is already half-used.
  const max = config.maxTtlSeconds;
  const now = Math.floor(Date.now() / 1000);
  const remaining = claims.data.exp - now;
  if (remaining > max + CLOCK_TOLERANCE_SECONDS) {
    throw unauthorized(
      `The host token lives too long: it expires in ${remaining} s, more than the ${max} s this edge accepts (HOST_JWT_MAX_TTL_S); mint short-lived tokens`,
    );
  }
  if (typeof payload.iat === "number" && claims.data.exp - payload.iat > max) {
    throw unauthorized(
      `The host token lives too long: exp - iat is ${claims.data.exp - payload.iat} s, more than the ${max} s this edge accepts (HOST_JWT_MAX_TTL_S); mint short-lived tokens`,
    );
  }
  const { tenant, sub, role, email } = claims.data;
  return { tenant, sub, role, ...(email ? { email } : {}) };
}

export const requireHostToken: MiddlewareHandler<AppEnv> = async (c, next) => {
  // Configuration first: a misconfigured edge answers 500 to every request, with a token or without one.
  const config = hostAuthConfig(c.env);
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+([A-Za-z0-9_\-.]+)\s*$/i.exec(header);
  if (!match?.[1]) throw unauthorized("Send the host token as Authorization: Bearer <token>");
  c.set("caller", await verifyWithConfig(match[1], config));
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
