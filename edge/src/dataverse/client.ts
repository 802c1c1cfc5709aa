/**
 * The project's single Dataverse Web API client. Every Dynamics byte the edge sends or receives goes through
 * `dataverseRequest`: it builds the URL itself (SSRF: only `${orgUrl}/api/data/v9.2/…`), sets the OData headers,
 * never follows redirects, retries throttling and transient faults within a bounded budget, and turns every
 * non-2xx into a `DataverseError` carrying Dataverse's own error code. Tokens are never logged or echoed.
 */
import { z } from "zod";
import type { RunHeadroom } from "#contract/run";
import { DataverseError } from "./errors";

export { DataverseError, isDataverseError, DV_ERRORS } from "./errors";
export { getAppToken } from "./token";

const API_PATH = "/api/data/v9.2/";

export interface DataverseRequestInit {
  token: string;
  method?: "GET" | "POST";
  /** Prefer header preferences, e.g. `odata.maxpagesize=5000`, `odata.include-annotations="*"`, `odata.track-changes`. */
  prefer?: string[];
  headers?: Record<string, string>;
  body?: BodyInit;
  /** Per attempt; default 30 s. */
  timeoutMs?: number;
  /** Default true: 429 (Retry-After), 502/503/504 and network errors are retried within the budget. */
  retry?: boolean;
  /** Called with the service-protection figures of every response that carries them (429s included). */
  onHeadroom?: (headroom: RunHeadroom) => void;
  /** Called for every 429 Dataverse answers (also those slept on here): the per-org permits shrink on it. */
  onThrottled?: () => void;
}

const RATE_LIMIT_HEADERS = {
  requests: "x-ms-ratelimit-burst-remaining-xrm-requests",
  time: "x-ms-ratelimit-time-remaining-xrm-requests",
} as const;

/**
 * Dataverse's service-protection headers → figures. Requests remaining is a count; time remaining is seconds with
 * decimals, formatted with thousands separators ("1,200.00"). Null when the response carries no requests figure.
 */
export function readHeadroom(headers: Headers): RunHeadroom | null {
  const requests = Number((headers.get(RATE_LIMIT_HEADERS.requests) ?? "").replace(/,/g, "").trim() || NaN);
  if (!Number.isFinite(requests) || requests < 0) return null;
  const seconds = Number((headers.get(RATE_LIMIT_HEADERS.time) ?? "").replace(/,/g, "").trim() || NaN);
  return { requestsRemaining: Math.floor(requests), ...(Number.isFinite(seconds) && seconds >= 0 ? { timeRemainingMs: Math.round(seconds * 1000) } : {}) };
}

/** Dataverse's service-protection limits per user over a sliding window (docs/scaling.md). */
export const SERVICE_PROTECTION = { requests: 6_000, executionTimeMs: 1_200_000, windowSeconds: 300 } as const;

/** Below this share of a budget left, headroom is low: the readiness report warns and the org's stream permits shrink. */
export const LOW_HEADROOM = 0.1;

/** The smaller share left of the two budgets a reading shows, 0..1. */
export function headroomFraction(h: RunHeadroom): number {
  const requests = h.requestsRemaining / SERVICE_PROTECTION.requests;
  return Math.min(1, requests, h.timeRemainingMs !== undefined ? h.timeRemainingMs / SERVICE_PROTECTION.executionTimeMs : 1);
}

/** The lower of two headroom readings, figure by figure (null = nothing seen yet). */
export function lowerHeadroom(a: RunHeadroom | null, b: RunHeadroom): RunHeadroom {
  if (!a) return b;
  const times = [a.timeRemainingMs, b.timeRemainingMs].filter((t): t is number => t !== undefined);
  return { requestsRemaining: Math.min(a.requestsRemaining, b.requestsRemaining), ...(times.length ? { timeRemainingMs: Math.min(...times) } : {}) };
}

/** Retry budget. Exposed (and mutable) so tests can shrink waits; production uses the defaults. */
export const retryPolicy = {
  maxAttempts: 8,
  /** Total wall time spent waiting between attempts before giving up. */
  maxWaitMs: 90_000,
  baseDelayMs: 300,
  maxDelayMs: 15_000,
  /** A Retry-After longer than this is not slept on here: the error is thrown with `retryAfterSeconds` so a durable
   * caller (the JobRunner) can re-arm an alarm instead of holding an isolate. */
  maxRetryAfterMs: 30_000,
};

/** `https://org.crm.dynamics.com` → `https://org.crm.dynamics.com/api/data/v9.2/` */
function apiBase(orgUrl: string): string {
  return orgUrl.replace(/\/+$/, "") + API_PATH;
}

/**
 * Resolves `path` against the org's API base. Relative paths are appended (leading `/` ignored); absolute URLs
 * (nextLink / deltaLink) are accepted only when they start with the same base. Anything else throws.
 */
export function resolveDataverseUrl(orgUrl: string, path: string): URL {
  const base = apiBase(orgUrl);
  const baseUrl = new URL(base);
  let url: URL;
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) {
    url = new URL(path);
  } else {
    if (path.startsWith("//")) throw new DataverseError(0, "path_refused", "Protocol-relative paths are refused");
    url = new URL(base + path.replace(/^\/+/, ""));
  }
  // Compare after URL normalisation so `..` segments or a different host/port/userinfo can't escape the API base.
  if (url.origin !== baseUrl.origin || url.username !== "" || url.password !== "" || !url.pathname.toLowerCase().startsWith(baseUrl.pathname.toLowerCase())) {
    throw new DataverseError(0, "path_refused", `Refusing a Dataverse URL outside ${base}`);
  }
  return url;
}

const ErrorBody = z.object({
  error: z.union([
    z.object({ code: z.string().optional(), message: z.string().optional() }).passthrough(),
    z.string(), // OAuth style: { error: "invalid_client", error_description }
  ]),
  error_description: z.string().optional(),
});

/** Reads a non-2xx response into a DataverseError (consumes the body). */
async function toDataverseError(res: Response): Promise<DataverseError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  const text = await res.text().catch(() => "");
  if (text) {
    try {
      const parsed = ErrorBody.safeParse(JSON.parse(text));
      if (parsed.success) {
        const e = parsed.data.error;
        if (typeof e === "string") {
          code = e;
          message = parsed.data.error_description?.split("\n")[0] ?? e;
        } else {
          code = e.code || code;
          message = e.message || message;
        }
      } else {
        message = text.slice(0, 300);
      }
    } catch {
      message = text.slice(0, 300);
    }
  }
  if (res.status === 401 && code === "http_401") code = "unauthorized";
  const retryAfter = parseRetryAfter(res.headers.get("Retry-After"));
  return new DataverseError(res.status, code, message.slice(0, 1000), retryAfter);
}

function parseRetryAfter(v: string | null): number | undefined {
  if (!v) return undefined;
  const n = Number(v);
  if (Number.isFinite(n) && n >= 0) return n;
  const at = Date.parse(v);
  if (Number.isFinite(at)) return Math.max(0, Math.ceil((at - Date.now()) / 1000));
  return undefined;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function backoff(attempt: number): number {
  // Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2^attempt)].
  const ceiling = Math.min(retryPolicy.maxDelayMs, retryPolicy.baseDelayMs * 2 ** attempt);
  return Math.floor(Math.random() * ceiling);
}

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/**
 * One Dataverse call. Returns the 2xx Response (body unread); throws DataverseError otherwise.
 * Network failures and timeouts surface as status 0, code `network_error` / `timeout` once the budget is spent.
 */
export async function dataverseRequest(orgUrl: string, path: string, init: DataverseRequestInit): Promise<Response> {
  const url = resolveDataverseUrl(orgUrl, path);
  const method = init.method ?? "GET";
  const headers: Record<string, string> = {
    Accept: "application/json",
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
    ...(init.body !== undefined ? { "Content-Type": "application/json" } : {}),
    ...(init.headers ?? {}),
    Authorization: `Bearer ${init.token}`,
  };
  if (init.prefer?.length) headers.Prefer = init.prefer.join(",");
  const retry = init.retry !== false;
  const timeoutMs = init.timeoutMs ?? 30_000;

  let waited = 0;
  let lastError: DataverseError | undefined;
  for (let attempt = 0; attempt < (retry ? retryPolicy.maxAttempts : 1); attempt++) {
    let res: Response;
    try {
      res = await fetch(url.toString(), {
        method,
        headers,
        body: init.body,
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      lastError = new DataverseError(
        0,
        timedOut ? "timeout" : "network_error",
        timedOut ? `Dataverse did not answer within ${timeoutMs} ms` : `Dataverse unreachable: ${errorText(err)}`,
      );
      const delay = backoff(attempt);
      if (!retry || waited + delay > retryPolicy.maxWaitMs) break;
      waited += delay;
      await sleep(delay);
      continue;
    }
    if (init.onHeadroom) {
      const headroom = readHeadroom(res.headers);
      if (headroom) init.onHeadroom(headroom);
    }
    if (res.ok) return res;
    if (res.status === 429) init.onThrottled?.();
    const error = await toDataverseError(res);
    lastError = error;
    if (!retry || !RETRYABLE_STATUS.has(res.status)) throw error;
    const delay = res.status === 429 && error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : backoff(attempt);
    if (res.status === 429 && delay > retryPolicy.maxRetryAfterMs) throw error; // let a durable caller wait instead
    if (waited + delay > retryPolicy.maxWaitMs) break;
    waited += delay;
    await sleep(delay);
  }
  const e = lastError ?? new DataverseError(0, "network_error", "Dataverse unreachable");
  throw new DataverseError(
    e.status,
    e.code,
    `${e.message} (gave up after ${retry ? "retries" : "one attempt"}, ${Math.round(waited / 1000)} s waited)`,
    e.retryAfterSeconds,
  );
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message.slice(0, 200) : String(err).slice(0, 200);
}

/** `dataverseRequest` + JSON body, optionally validated with a zod schema (the wire boundary). */
export async function dataverseJson<T = unknown>(orgUrl: string, path: string, init: DataverseRequestInit, schema?: z.ZodType<T>): Promise<T> {
  const res = await dataverseRequest(orgUrl, path, init);
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    // The connection dropped mid-body: transient, like a failed fetch (the caller's step is retried).
    throw new DataverseError(0, "network_error", `Dataverse connection lost while reading the response: ${errorText(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new DataverseError(res.status, "invalid_response", "Dataverse returned a body that is not JSON");
  }
  if (!schema) return json as T;
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new DataverseError(
      res.status,
      "invalid_response",
      `Unexpected Dataverse response shape: ${parsed.error.issues[0]?.path.join(".") ?? ""} ${parsed.error.issues[0]?.message ?? ""}`.trim(),
    );
  }
  return parsed.data;
}

const WhoAmIResponse = z.object({
  BusinessUnitId: z.string(),
  UserId: z.string(),
  OrganizationId: z.string(),
});
type WhoAmIResponse = z.infer<typeof WhoAmIResponse>;

export function whoAmI(orgUrl: string, token: string): Promise<WhoAmIResponse> {
  return dataverseJson(orgUrl, "WhoAmI", { token }, WhoAmIResponse);
}

/**
 * Wire shape of the `RetrieveTotalRecordCount` function (Microsoft.Dynamics.CRM.RetrieveTotalRecordCountResponse):
 * `{ EntityRecordCountCollection: { Count, IsReadOnly, Keys: [logicalName…], Values: [count…] } }`.
 */
const RetrieveTotalRecordCountResponse = z.object({
  EntityRecordCountCollection: z.object({
    Keys: z.array(z.string()),
    Values: z.array(z.number()),
  }),
});

/**
 * Row count of one table from `RetrieveTotalRecordCount(EntityNames=@p)?@p=["x"]`: Dataverse answers from a
 * snapshot taken within the last 24 hours, so it is an estimate (progress, not correctness). One attempt, short
 * timeout: callers treat any failure as "no estimate". Null when the answer does not name the table.
 */
export async function retrieveTotalRecordCount(
  orgUrl: string,
  token: string,
  entity: string,
  opts: Pick<DataverseRequestInit, "onHeadroom"> = {},
): Promise<number | null> {
  const path = `RetrieveTotalRecordCount(EntityNames=@p)?@p=${encodeURIComponent(JSON.stringify([entity]))}`;
  const res = await dataverseJson(orgUrl, path, { token, retry: false, timeoutMs: 10_000, ...opts }, RetrieveTotalRecordCountResponse);
  const { Keys, Values } = res.EntityRecordCountCollection;
  const i = Keys.indexOf(entity);
  const n = i >= 0 ? Values[i] : undefined;
  return n !== undefined && Number.isInteger(n) && n >= 0 ? n : null;
}

/**
 * A row of a page: a JSON object. Checked as one, not key by key: a page holds up to 5,000 rows of ~35 properties, and
 * `z.record` validated and copied every property (~50 ms a page, on the path to requesting the next one).
 */
const ODataRow = z.custom<Record<string, unknown>>((v) => typeof v === "object" && v !== null && !Array.isArray(v), "a row is not a JSON object");

/** A collection page: `value` plus the paging / change-tracking links. Rows stay loose (annotations are dynamic). */
export const ODataPage = z.object({
  value: z.array(ODataRow),
  "@odata.nextLink": z.string().optional(),
  "@odata.deltaLink": z.string().optional(),
  "@odata.count": z.number().optional(),
});
export type ODataPage = z.infer<typeof ODataPage>;

/** Standard Prefer values for sync reads. */
export const PAGE_PREFER = ['odata.include-annotations="*"'];
export const maxPageSize = (n = 5000) => `odata.maxpagesize=${Math.min(5000, Math.max(1, Math.floor(n)))}`;
