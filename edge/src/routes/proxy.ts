/**
 * The Dynamics proxy: `/api/v1/connections/:id/dynamics/<path>` → `{stored orgUrl}/api/data/v9.2/<path>` with the
 * admin's `X-Dynamics-Token` as the bearer. The upstream URL is built here from the stored orgUrl and a validated
 * path; the method is GET (POST only for `$batch`); only an allow-list of headers crosses in either direction
 * (never cookies, never the host token); redirects are refused, bodies and time are bounded; Dataverse's error
 * bodies pass through unchanged.
 */
import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { requireAllowedOrg, requireDynamicsToken } from "../http/dynamics";
import { ApiError, notFound } from "../http/errors";
import { limitBody, PROXY_BODY_LIMIT } from "../http/middleware";
import { validateProxyPath, validateProxyQuery } from "../security/proxy-path";
import { getConnection } from "../stores/connections";

const PROXY_TIMEOUT_MS = 30_000;
const PROXY_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const API_PREFIX = "/api/data/v9.2/";

const REQUEST_HEADERS = ["accept", "prefer", "odata-maxversion", "odata-version", "if-none-match", "if-match", "accept-language"];
const RESPONSE_HEADERS = ["content-type", "odata-version", "preference-applied", "retry-after", "etag", "www-authenticate", "odata-entityid"];
const RESPONSE_HEADER_PATTERNS = [/^x-ms-ratelimit-/i];

function limitStream(body: ReadableStream<Uint8Array>, max: number): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > max) controller.error(new Error(`upstream response exceeds ${max} bytes`));
        else controller.enqueue(chunk);
      },
    }),
  );
}

export const proxyRoutes = new Hono<AppEnv>().all("/connections/:id/dynamics/*", limitBody(PROXY_BODY_LIMIT), async (c) => {
  const { tenant } = c.get("caller");
  const conn = await getConnection(c.env, tenant, c.req.param("id"));
  if (!conn) throw notFound("No such connection");

  // The raw (still percent-encoded) path: decoding first would hide %2F and friends.
  const url = new URL(c.req.url);
  const marker = `/connections/${conn.id}/dynamics/`;
  const at = url.pathname.indexOf(marker);
  const rawPath = at >= 0 ? url.pathname.slice(at + marker.length) : "";
  const path = validateProxyPath(rawPath);
  if (!path.ok) throw new ApiError("proxy_refused", `Refused: ${path.reason}`);
  const query = validateProxyQuery(url.search);
  if (!query.ok) throw new ApiError("proxy_refused", `Refused: ${query.reason}`);

  const method = c.req.method;
  const isBatch = path.path === "$batch";
  if (!(method === "GET" && !isBatch) && !(method === "POST" && isBatch)) {
    throw new ApiError("method_not_allowed", isBatch ? "$batch must be POST" : "The proxy forwards GET, and POST only for $batch", undefined, {
      Allow: isBatch ? "POST" : "GET",
    });
  }
  const token = requireDynamicsToken(c);
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(token) || token.length > 16_384) throw new ApiError("dynamics_token_invalid", "X-Dynamics-Token is not a bearer token");
  requireAllowedOrg(c.env, conn);

  const upstream = new URL(`${conn.orgUrl}${API_PREFIX}${path.path}${query.path}`);
  const origin = new URL(conn.orgUrl);
  // Invariant: whatever the path was, the URL we call is on the stored org and under the Web API.
  if (upstream.origin !== origin.origin || !upstream.pathname.startsWith(API_PREFIX) || upstream.username || upstream.password) {
    throw new ApiError("proxy_refused", "Refused: the path leaves the organization's Web API");
  }

  const headers = new Headers({ Authorization: `Bearer ${token}`, Accept: "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0" });
  for (const h of REQUEST_HEADERS) {
    const v = c.req.header(h);
    if (v && v.length <= 2000) headers.set(h, v);
  }
  let body: ArrayBuffer | undefined;
  if (isBatch) {
    const ct = c.req.header("content-type") ?? "";
    if (!/^multipart\/mixed;\s*boundary=[A-Za-z0-9'()+_,\-./:=? ]{1,70}$/i.test(ct))
      throw new ApiError("proxy_refused", "$batch needs Content-Type: multipart/mixed; boundary=…");
    headers.set("content-type", ct);
    body = await c.req.arrayBuffer();
  }

  let res: Response;
  try {
    res = await fetch(upstream.toString(), { method, headers, body, redirect: "manual", signal: AbortSignal.timeout(PROXY_TIMEOUT_MS) });
  } catch (e) {
    const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
    throw new ApiError("dynamics_unreachable", timedOut ? `Dynamics did not answer within ${PROXY_TIMEOUT_MS / 1000} s` : "Dynamics could not be reached");
  }
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel();
    throw new ApiError("dynamics_error", `Dynamics answered with a redirect (${res.status}); redirects are never followed`);
  }
  const length = Number(res.headers.get("content-length") ?? "0");
  if (length > PROXY_MAX_RESPONSE_BYTES) {
    await res.body?.cancel();
    throw new ApiError("payload_too_large", `The Dynamics response is larger than ${PROXY_MAX_RESPONSE_BYTES / 1024 / 1024} MB; page with odata.maxpagesize`);
  }
  const out = new Headers();
  res.headers.forEach((v, k) => {
    if (RESPONSE_HEADERS.includes(k.toLowerCase()) || RESPONSE_HEADER_PATTERNS.some((re) => re.test(k))) out.set(k, v);
  });
  out.set("Cache-Control", "no-store");
  return new Response(res.body ? limitStream(res.body, PROXY_MAX_RESPONSE_BYTES) : null, { status: res.status, headers: out });
});
