import type { MiddlewareHandler } from "hono";
import { claimKey, getKey, releaseKey, storeAnswer } from "../stores/idempotency-keys";
import type { AppEnv } from "./app-env";
import { ApiError, validationFailed } from "./errors";

/**
 * `Idempotency-Key` (IETF draft-ietf-httpapi-idempotency-key-header) for the API's writes, so a client may retry a
 * POST/PUT/PATCH/DELETE whose answer was lost on the wire without doing the work twice: the first request with a key
 * claims it, its response is stored, and a retry of the same request replays that response.
 *
 * Scoped by tenant. Only a fingerprint of the request is kept, and responses of side-effect-free POSTs (previews of
 * Dynamics records) and of the proxy are neither needed nor stored.
 */
const IDEMPOTENCY_HEADER = "Idempotency-Key";
const KEY_SHAPE = /^[A-Za-z0-9._:-]{8,128}$/;
const MAX_STORED_BODY = 64 * 1024;
const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

function exempt(path: string): boolean {
  return path.includes("/dynamics/") || path.endsWith("/preview");
}

export const idempotency: MiddlewareHandler<AppEnv> = async (c, next) => {
  const key = c.req.header(IDEMPOTENCY_HEADER);
  if (key === undefined || !WRITES.has(c.req.method) || exempt(c.req.path)) return next();
  if (!KEY_SHAPE.test(key)) {
    throw validationFailed([{ path: `header.${IDEMPOTENCY_HEADER}`, message: "8–128 characters of A–Z, a–z, 0–9, '.', '_', ':' or '-'" }]);
  }
  const { tenant } = c.get("caller");
  const fingerprint = await fingerprintOf(c.req.method, c.req.url, await c.req.text());

  if (!(await claimKey(c.env, tenant, key, fingerprint, Date.now()))) {
    const row = await getKey(c.env, tenant, key);
    if (row) {
      if (row.fingerprint !== fingerprint) {
        throw new ApiError("idempotency_key_reused", `This ${IDEMPOTENCY_HEADER} was already used for a different request`, [
          { path: `header.${IDEMPOTENCY_HEADER}`, message: "use a new key for a new request" },
        ]);
      }
      if (row.status === null) {
        throw new ApiError("idempotency_in_progress", "A request with this Idempotency-Key is still being processed", undefined, { "Retry-After": "1" });
      }
      return new Response(row.body, {
        status: row.status,
        headers: { ...(row.body !== null ? { "Content-Type": "application/json" } : {}), "Idempotent-Replayed": "true" },
      });
    }
    // Swept between our insert and select: fall through and do the work unrecorded rather than fail the request.
    return next();
  }

  try {
    await next();
  } catch (e) {
    await releaseKey(c.env, tenant, key);
    throw e;
  }
  const res = c.res;
  // A 5xx (or anything we can't replay faithfully) is not an answer worth keeping: the retry does the work again.
  const body = res.status === 204 ? null : await res.clone().text();
  const storable = res.status < 500 && (body === null || (body.length <= MAX_STORED_BODY && (res.headers.get("Content-Type") ?? "").includes("json")));
  if (!storable) {
    await releaseKey(c.env, tenant, key);
    return;
  }
  await storeAnswer(c.env, tenant, key, res.status, body);
};

async function fingerprintOf(method: string, url: string, body: string): Promise<string> {
  const u = new URL(url);
  const data = new TextEncoder().encode(`${method}\n${u.pathname}${u.search}\n${body}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
