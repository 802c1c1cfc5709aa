import type { ErrorCode, ErrorDetail, ErrorEnvelope } from "../../../edge/src/contract/errors";

export type { ErrorCode, ErrorDetail };

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface EdgeClientOptions {
  /** Origin (and optional path prefix) of the edge Worker, e.g. `https://edge.example.com`. */
  apiBase: string;
  /** Hands over the host's session token; called again (once) after a 401. */
  getHostToken: () => Promise<string>;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
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

/** Thin client of the edge HTTP API (`{apiBase}/api/v1`): host token as bearer, one error type, one retry on 401. */
export class EdgeClient {
  readonly apiBase: string;
  private readonly getHostToken: () => Promise<string>;
  private readonly fetchImpl: typeof fetch;
  private token: Promise<string> | null = null;

  constructor(opts: EdgeClientOptions) {
    this.apiBase = opts.apiBase.replace(/\/+$/, "");
    this.getHostToken = opts.getHostToken;
    this.fetchImpl = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Full URL of an API path (`/connections` → `{apiBase}/api/v1/connections`). */
  url(path: string): string {
    return `${this.apiBase}/api/v1${path.startsWith("/") ? path : `/${path}`}`;
  }

  async request<T>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, opts, "application/json");
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
    const res = await this.send("GET", path, opts, "*/*");
    return res.blob();
  }

  private async send(method: HttpMethod, path: string, opts: RequestOptions, accept: string): Promise<Response> {
    let res = await this.attempt(method, path, opts, accept, false);
    if (res.status === 401 && !(await isDynamicsTokenProblem(res.clone()))) {
      // The host session may have been refreshed since we cached its token: ask once more, retry once.
      res = await this.attempt(method, path, opts, accept, true);
    }
    if (!res.ok) throw await toEdgeError(res);
    return res;
  }

  private async attempt(method: HttpMethod, path: string, opts: RequestOptions, accept: string, fresh: boolean): Promise<Response> {
    if (fresh || !this.token) {
      const pending = this.getHostToken();
      this.token = pending;
      pending.catch(() => {
        if (this.token === pending) this.token = null;
      });
    }
    let hostToken: string;
    try {
      hostToken = await this.token;
    } catch (e) {
      throw new EdgeError(401, "unauthorized", `The host page could not provide a session token: ${(e as Error)?.message ?? e}`);
    }
    const headers: Record<string, string> = { Accept: accept, Authorization: `Bearer ${hostToken}` };
    if (opts.dynamicsToken) headers["X-Dynamics-Token"] = opts.dynamicsToken;
    const init: RequestInit = { method, headers, credentials: "omit" };
    if (opts.signal) init.signal = opts.signal;
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    try {
      return await this.fetchImpl(this.url(path), init);
    } catch (e) {
      if ((e as Error)?.name === "AbortError") throw e;
      throw new EdgeError(0, "internal", `The connector service at ${this.apiBase} could not be reached`);
    }
  }
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
    case 400: return "validation_failed";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413: return "payload_too_large";
    case 429: return "rate_limited";
    case 502: return "dynamics_error";
    case 504: return "dynamics_unreachable";
    default: return "internal";
  }
}
