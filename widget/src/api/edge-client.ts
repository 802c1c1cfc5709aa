import type { ErrorCode, ErrorDetail, ErrorEnvelope } from "#contract/errors";

export type { ErrorCode, ErrorDetail };

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface EdgeClientOptions {
  /** Origin (and optional path prefix) of the edge Worker, e.g. `https://edge.example.com`. */
  apiBase: string;
  /** Hands over the host's session token; called again (once) after a 401. */
  getHostToken: () => Promise<string>;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Injected for tests; waits between retries. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface RequestOptions {
  body?: unknown;
  /** The admin's delegated Dynamics token, for metadata, preview and proxy calls. */
  dynamicsToken?: string;
  signal?: AbortSignal;
}

/** A failed edge call: the envelope's code, message and field details, plus the request id for support. */
export class EdgeError extends Error {
  override name = "EdgeError";
  status: number;
  code: ErrorCode;
  details?: ErrorDetail[];
  requestId?: string;

  constructor(status: number, code: ErrorCode, message: string, details?: ErrorDetail[], requestId?: string) {
    super(message);
    this.status = status;
    this.code = code;
    if (details) this.details = details;
    if (requestId) this.requestId = requestId;
  }
}

/** Attempts per call when the answer is lost on the wire or the edge asks to come back (Retry-After). */
export const MAX_ATTEMPTS = 3;
const WRITES = new Set<HttpMethod>(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Thin client of the edge HTTP API (`{apiBase}/api/v1`): host token as bearer, one error type, one retry on 401, and
 * retries of calls whose answer was lost (network error, 503 + Retry-After, a duplicate still in progress). Writes
 * carry one `Idempotency-Key` across their retries, so the edge does the work once and replays its answer.
 */
export class EdgeClient {
  readonly apiBase: string;
  private readonly _getHostToken: () => Promise<string>;
  private readonly _fetchImpl: typeof fetch;
  private readonly _sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private _token: Promise<string> | null = null;

  constructor(opts: EdgeClientOptions) {
    this.apiBase = opts.apiBase.replace(/\/+$/, "");
    this._getHostToken = opts.getHostToken;
    this._fetchImpl = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this._sleep = opts.sleep ?? abortableSleep;
  }

  /** Full URL of an API path (`/connections` → `{apiBase}/api/v1/connections`). */
  url(path: string): string {
    return `${this.apiBase}/api/v1${path.startsWith("/") ? path : `/${path}`}`;
  }

  async request<T>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this._send(method, path, opts, "application/json");
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new EdgeError(res.status, "internal", "The edge answered with something that is not JSON", undefined, requestIdOf(res));
    }
  }

  /** GET a file (e.g. `/runs/:id/errors?format=csv`) as a Blob. */
  async download(path: string, opts: Omit<RequestOptions, "body"> = {}): Promise<Blob> {
    const res = await this._send("GET", path, opts, "*/*");
    return res.blob();
  }

  private async _send(method: HttpMethod, path: string, opts: RequestOptions, accept: string): Promise<Response> {
    const idempotencyKey = WRITES.has(method) ? crypto.randomUUID() : undefined;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this._authorized(method, path, opts, accept, idempotencyKey);
      } catch (e) {
        if (!(e instanceof EdgeError && e.status === 0) || attempt >= MAX_ATTEMPTS) throw e;
        await this._sleep(backoffMs(attempt), opts.signal);
        continue;
      }
      if (res.ok) return res;
      const wait = attempt < MAX_ATTEMPTS ? await retryAfterMs(res) : undefined;
      if (wait === undefined) throw await toEdgeError(res);
      await this._sleep(wait, opts.signal);
    }
  }

  private async _authorized(method: HttpMethod, path: string, opts: RequestOptions, accept: string, idempotencyKey: string | undefined): Promise<Response> {
    const res = await this._attempt(method, path, opts, accept, false, idempotencyKey);
    if (res.status === 401 && !(await isDynamicsTokenProblem(res.clone()))) {
      // The host session may have been refreshed since we cached its token: ask once more, retry once.
      return this._attempt(method, path, opts, accept, true, idempotencyKey);
    }
    return res;
  }

  private async _attempt(method: HttpMethod, path: string, opts: RequestOptions, accept: string, fresh: boolean, idempotencyKey?: string): Promise<Response> {
    if (fresh || !this._token) {
      const pending = this._getHostToken();
      this._token = pending;
      pending.catch(() => {
        if (this._token === pending) this._token = null;
      });
    }
    let hostToken: string;
    try {
      hostToken = await this._token;
    } catch (e) {
      throw new EdgeError(401, "unauthorized", `The host page could not provide a session token: ${(e as Error)?.message ?? e}`);
    }
    const headers: Record<string, string> = { Accept: accept, Authorization: `Bearer ${hostToken}` };
    if (opts.dynamicsToken) headers["X-Dynamics-Token"] = opts.dynamicsToken;
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    const init: RequestInit = { method, headers, credentials: "omit" };
    if (opts.signal) init.signal = opts.signal;
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    try {
      return await this._fetchImpl(this.url(path), init);
    } catch (e) {
      if ((e as Error)?.name === "AbortError") throw e;
      throw new EdgeError(0, "internal", `The connector service at ${this.apiBase} could not be reached`);
    }
  }
}

/** 300 ms, 900 ms… with jitter, so many widgets that lost the edge at once don't come back in step. */
function backoffMs(attempt: number): number {
  return Math.round(300 * 3 ** (attempt - 1) * (0.75 + Math.random() * 0.5));
}

/**
 * How long to wait before retrying this answer, or undefined when it is final. Retried: a 503 with Retry-After (the
 * edge or a proxy in front of it restarting) and a duplicate write still in progress. A rate limit (429) is final:
 * the admin sees it rather than a widget that hangs.
 */
async function retryAfterMs(res: Response): Promise<number | undefined> {
  const header = res.headers.get("Retry-After");
  const seconds = header !== null && /^\d+$/.test(header.trim()) ? Number(header) : undefined;
  const ms = Math.min((seconds ?? 1) * 1000, 5000);
  if (res.status === 503 && seconds !== undefined) return ms;
  if (res.status === 409) {
    try {
      const body = (await res.clone().json()) as Partial<ErrorEnvelope>;
      if (body?.error?.code === "idempotency_in_progress") return ms;
    } catch {
      /* not an envelope */
    }
  }
  return undefined;
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new DOMException("Aborted", "AbortError"));
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(signal!.reason ?? new DOMException("Aborted", "AbortError"));
    }
    signal?.addEventListener("abort", abort, { once: true });
  });
}

function requestIdOf(res: Response): string | undefined {
  return res.headers.get("x-request-id") ?? res.headers.get("cf-ray") ?? undefined;
}

/** A 401 about the Dynamics token must not make us refresh the host token. */
async function isDynamicsTokenProblem(res: Response): Promise<boolean> {
  try {
    const body = (await res.json()) as Partial<ErrorEnvelope>;
    return body?.error?.code === "dynamics_token_missing";
  } catch {
    return false;
  }
}

async function toEdgeError(res: Response): Promise<EdgeError> {
  let env: Partial<ErrorEnvelope> | undefined;
  try {
    env = (await res.json()) as Partial<ErrorEnvelope>;
  } catch {
    /* not an envelope */
  }
  const e = env?.error;
  const code: ErrorCode = e?.code ?? fallbackCode(res.status);
  const message = e?.message ?? `The connector service answered ${res.status} ${res.statusText}`.trim();
  return new EdgeError(res.status, code, message, e?.details, e?.requestId ?? requestIdOf(res));
}

function fallbackCode(status: number): ErrorCode {
  switch (status) {
    case 400:
      return "validation_failed";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 409:
      return "conflict";
    case 413:
      return "payload_too_large";
    case 429:
      return "rate_limited";
    case 502:
      return "dynamics_error";
    case 504:
      return "dynamics_unreachable";
    default:
      return "internal";
  }
}
