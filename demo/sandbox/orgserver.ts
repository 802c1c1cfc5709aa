/** The HTTP face of one org: Dataverse under /api/data/v9.2/, the test-only control API under /_sandbox/. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { handleApi } from "./dataverse";
import { errorResponse, type ApiResponse } from "./response";
import { ODataError } from "./odata";
import type { Org, FaultSpec } from "./org";
import { readBody, type Identity } from "./identity";
import { isReadLevel, type RoleSpec } from "./security";
import { applySettings, latencyMs } from "./settings";

const WINDOW_MS = 300_000;
const WINDOW_LIMIT = 6000;
/** Retry-After of a concurrency-limit 429 (s): a slot frees when any request of the caller ends, so it is short. */
const CONCURRENCY_RETRY_AFTER_S = 1;

export class OrgServer {
  /** principal → request timestamps in the current service-protection window */
  private _windows = new Map<string, number[]>();
  constructor(
    readonly org: Org,
    readonly identity: Identity,
  ) {}

  private _write(res: ServerResponse, r: ApiResponse, extra: Record<string, string> = {}): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(r.status, { ...r.headers, ...extra });
    res.end(r.body);
  }

  private _wwwAuthenticate(): Record<string, string> {
    return {
      "WWW-Authenticate": `Bearer authorization_uri=${this.identity.opts.httpsUrl}/${this.org.cfg.tenantId}/oauth2/authorize, resource_id=${this.org.url}/`,
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.org.url);
    const origin = req.headers.origin;
    const cors: Record<string, string> = origin
      ? {
          "Access-Control-Allow-Origin": origin,
          Vary: "Origin",
          "Access-Control-Expose-Headers":
            "Preference-Applied, Retry-After, WWW-Authenticate, OData-Version, x-ms-ratelimit-burst-remaining-xrm-requests, x-ms-ratelimit-time-remaining-xrm-requests",
        }
      : {};
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        ...cors,
        "Access-Control-Allow-Headers": "Authorization, Prefer, OData-MaxVersion, OData-Version, Content-Type, Accept",
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Max-Age": "600",
      });
      res.end();
      return;
    }
    if (url.pathname.startsWith("/_sandbox/") || url.pathname === "/_sandbox") return this._control(req, res, url);
    const prefix = "/api/data/v9.2";
    const respond = (r: ApiResponse, extra: Record<string, string> = {}): void => {
      this.org.record(r.status, url.pathname);
      this._write(res, r, { ...cors, ...extra });
    };
    if (!url.pathname.startsWith(prefix + "/") && url.pathname !== prefix)
      return respond(
        errorResponse(404, "0x80060888", `Resource not found for the segment '${url.pathname.split("/")[1] ?? ""}'. The sandbox serves /api/data/v9.2/.`),
      );

    const fault = this.org.pickFault(url.pathname + url.search);
    if (fault) {
      switch (fault.kind) {
        case "drop":
          this.org.record(0, url.pathname);
          req.socket.destroy();
          return;
        case "slow":
          await new Promise((r) => setTimeout(r, fault.delayMs ?? 2000));
          break;
        case "429": {
          const after = fault.retryAfter ?? 5;
          return respond(errorResponse(429, "0x80072322", `Number of requests exceeded the limit of ${WINDOW_LIMIT} over time window of 300 seconds.`), {
            "Retry-After": String(after),
            "x-ms-ratelimit-burst-remaining-xrm-requests": "0",
            "x-ms-ratelimit-time-remaining-xrm-requests": "1,200.00",
          });
        }
        case "503":
          return respond(
            errorResponse(503, "0x80040216", "The service is temporarily unavailable. Please retry later."),
            fault.retryAfter ? { "Retry-After": String(fault.retryAfter) } : {},
          );
        case "401":
          return respond({ status: 401, headers: {}, body: "" }, this._wwwAuthenticate());
      }
    }

    const auth = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "");
    if (!auth) return respond({ status: 401, headers: {}, body: "" }, this._wwwAuthenticate());
    let claims: Awaited<ReturnType<Identity["verify"]>>;
    try {
      claims = await this.identity.verify(auth[1]!.trim(), [this.org.url, this.org.url + "/"]);
    } catch {
      return respond({ status: 401, headers: {}, body: "" }, this._wwwAuthenticate());
    }
    if (claims.tid !== this.org.cfg.tenantId) return respond({ status: 401, headers: {}, body: "" }, this._wwwAuthenticate());
    const principal = this.org.principalFor(claims);
    if (!principal) return respond(errorResponse(403, "0x80072560", "The user is not a member of the organization."));

    // Service protection: 6000 requests per principal per 300 s (sliding window).
    const now = Date.now();
    const w = (this._windows.get(principal.systemUserId) ?? []).filter((t) => t > now - WINDOW_MS);
    w.push(now);
    this._windows.set(principal.systemUserId, w);
    const remaining = Math.max(0, WINDOW_LIMIT - w.length);
    const rl = { "x-ms-ratelimit-burst-remaining-xrm-requests": String(remaining), "x-ms-ratelimit-time-remaining-xrm-requests": "1,200.00" };
    if (w.length > WINDOW_LIMIT) {
      const retry = Math.ceil((w[0]! + WINDOW_MS - now) / 1000);
      return respond(errorResponse(429, "0x80072322", `Number of requests exceeded the limit of ${WINDOW_LIMIT} over time window of 300 seconds.`), {
        ...rl,
        "Retry-After": String(retry),
      });
    }

    // Service protection: concurrent requests per user. The slot is held until the response ends or the connection
    // closes (error answers and dropped connections included).
    const release = this.org.admit(principal.systemUserId, url.pathname);
    const admitted = performance.now();
    if (!release)
      return respond(errorResponse(429, "0x80072326", `Number of concurrent requests exceeded the limit of ${this.org.settings.concurrencyLimit}.`), {
        ...rl,
        "Retry-After": String(CONCURRENCY_RETRY_AFTER_S),
      });
    const closed = new AbortController();
    res.once("close", () => {
      release();
      closed.abort();
    });
    if (res.destroyed || req.socket.destroyed) {
      release();
      return;
    }

    const body = req.method === "POST" ? await readBody(req) : undefined;
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    const r = await handleApi(this.org, principal, {
      method: req.method ?? "GET",
      path: url.pathname.slice(prefix.length + 1),
      rawQuery: url.search.slice(1),
      headers,
      body,
    });
    // Simulated server time (settings): the request takes at least that long in all — the sandbox's own work so far
    // counts toward it, as a Dataverse page's time includes the server's — then an async wait, so other requests go on
    // meanwhile; it ends early if the client leaves.
    const wait = latencyMs(this.org.settings, r.rows ?? 0) - (performance.now() - admitted);
    if (wait > 0)
      try {
        await sleep(wait, undefined, { signal: closed.signal });
      } catch {
        return; // connection closed while waiting: nobody to answer
      }
    respond(r, rl);
  }

  // ---------------------------------------------------------------- control API

  private async _control(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" });
      res.end(JSON.stringify(body));
    };
    const org = this.org;
    const seg = url.pathname.split("/").filter(Boolean).slice(1).map(decodeURIComponent);
    const method = req.method ?? "GET";
    try {
      const raw = method === "GET" || method === "DELETE" ? "" : await readBody(req);
      const body = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
      const [a, b, c] = seg;
      if (seg.length === 0 && method === "GET")
        return send(200, {
          org: org.key,
          url: org.url,
          tenantId: org.cfg.tenantId,
          organizationId: org.cfg.organizationId,
          ...(org.cfg.copyOf ? { copyOf: org.cfg.copyOf } : {}),
          counts: org.cfg.spec.counts,
          version: org.version,
          docs: "docs/sandbox.md",
        });
      if (a === "reset" && method === "POST") {
        org.reset();
        this._windows.clear();
        return send(200, { ok: true });
      }
      if (a === "rows" && b) {
        if (!c && method === "POST") return send(201, org.createRow(b, body));
        if (c && method === "GET") {
          const m = org.entity(b) ?? org.entityBySet(b);
          const row = m ? org.getRow(m.logicalName, c) : null;
          return row ? send(200, row) : send(404, { error: { code: "0x80040217", message: `${b} With Id = ${c} Does Not Exist` } });
        }
        if (c && method === "PATCH") return send(200, org.updateRow(b, c, body));
        if (c && method === "DELETE") {
          org.deleteRow(b, c);
          return send(200, { ok: true });
        }
      }
      if (a === "schema" && b && c) {
        if (method === "DELETE") {
          org.removeAttribute(b, c);
          return send(200, { ok: true });
        }
        if (method === "PATCH") {
          if (typeof body.type !== "string") throw new ODataError("Body needs { type: AttributeType, targets?, options?, format? }.", "sandbox_bad_request");
          const { type, ...extra } = body;
          org.retypeAttribute(b, c, type, extra);
          return send(200, org.entity(b)!.attrs.get(c));
        }
      }
      if (a === "delta" && b === "expire" && method === "POST") {
        org.minDeltaVersion = org.version + 1;
        return send(200, { ok: true, minVersion: org.minDeltaVersion });
      }
      if (a === "privileges") {
        // POST {principal, entity, depth: None|Basic|Local|Deep|Global} (or the older read: boolean = Global|None)
        if (!b && method === "POST") {
          const { principal, entity, read, depth } = body as { principal?: string; entity?: string; read?: boolean; depth?: string };
          if (!principal || !entity || (typeof read !== "boolean" && !isReadLevel(depth)))
            throw new ODataError(
              "Body needs { principal: upn|clientId|oid|systemuserid, entity: logicalName, depth: None|Basic|Local|Deep|Global } (or read: boolean).",
              "sandbox_bad_request",
            );
          const level = org.setReadLevel(principal, entity, isReadLevel(depth) ? depth : read ? "Global" : "None");
          return send(200, { ok: true, principal, entity, depth: level });
        }
        if (b && !c && method === "GET") return send(200, org.describePrivileges(b));
        // PUT {roles: [{name, allTables?, read?: {entity|"*": depth}}]} replaces the principal's roles
        if (b && !c && method === "PUT") {
          org.setRoles(b, (body as { roles?: RoleSpec[] }).roles as RoleSpec[]);
          return send(200, org.describePrivileges(b));
        }
      }
      if (a === "faults") {
        if (b && method === "DELETE") {
          if (!org.removeFault(Number(b))) throw new ODataError(`No fault ${b}.`, "sandbox_not_found", 404);
          return send(200, { ok: true });
        }
        if (method === "GET") return send(200, { faults: org.listFaults() });
        if (method === "DELETE") {
          org.clearFaults();
          return send(200, { ok: true });
        }
        if (method === "POST") {
          const specs = (Array.isArray(body) ? body : [body]) as FaultSpec[];
          return send(201, { ids: specs.map((s) => org.addFault(s)) });
        }
      }
      if (a === "settings" && !b) {
        if (method === "GET") return send(200, org.settings);
        // PUT {pageLatencyMs?, latencyPer1000RowsMs?, concurrencyLimit?}: the fields given are set, the others kept
        if (method === "PUT") {
          org.settings = applySettings(org.settings, body);
          return send(200, org.settings);
        }
      }
      if (a === "stats") {
        if (method === "GET") return send(200, org.stats);
        if (method === "DELETE") {
          org.resetStats();
          return send(200, { ok: true });
        }
      }
      send(404, { error: { code: "sandbox_not_found", message: `No control endpoint ${method} ${url.pathname}. See docs/sandbox.md.` } });
    } catch (e) {
      if (e instanceof ODataError) return send(e.status, { error: { code: e.code, message: e.message } });
      if (e instanceof SyntaxError) return send(400, { error: { code: "sandbox_bad_json", message: e.message } });
      send(500, { error: { code: "sandbox_error", message: e instanceof Error ? e.message : String(e) } });
    }
  }
}
