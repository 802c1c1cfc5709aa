import { describe, expect, it, vi } from "vitest";
import { EdgeClient, EdgeError, MAX_ATTEMPTS } from "./edge-client";

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

describe("EdgeClient", () => {
  it("sends the host token as bearer, JSON bodies, and the Dynamics token header", async () => {
    const fetch = vi.fn(async () => json(200, { ok: 1 }));
    const c = new EdgeClient({ apiBase: "https://edge.example/", getHostToken: async () => "host-1", fetch });
    expect(await c.request("POST", "/jobs/1/preview", { body: { a: 1 }, dynamicsToken: "dyn" })).toEqual({ ok: 1 });
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("https://edge.example/api/v1/jobs/1/preview");
    const h = init.headers as Record<string, string>;
    expect(h.Authorization).toBe("Bearer host-1");
    expect(h["X-Dynamics-Token"]).toBe("dyn");
    expect(init.body).toBe('{"a":1}');
  });

  it("asks for a fresh host token once after a 401 and retries once", async () => {
    const tokens = ["old", "new"];
    const getHostToken = vi.fn(async () => tokens.shift()!);
    const fetch = vi.fn(async (_u: string, init: RequestInit) =>
      (init.headers as Record<string, string>).Authorization === "Bearer new"
        ? json(200, [1])
        : json(401, { error: { code: "unauthorized", message: "expired" } }),
    );
    const c = new EdgeClient({ apiBase: "https://e", getHostToken, fetch: fetch as unknown as typeof globalThis.fetch });
    expect(await c.request("GET", "/connections")).toEqual([1]);
    expect(getHostToken).toHaveBeenCalledTimes(2);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it("gives up after the one retry with an EdgeError carrying code, details and request id", async () => {
    const fetch = vi.fn(async () => json(401, { error: { code: "unauthorized", message: "bad token", requestId: "req-9" } }));
    const c = new EdgeClient({ apiBase: "https://e", getHostToken: async () => "t", fetch });
    const err = await c.request("GET", "/x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EdgeError);
    expect(err).toMatchObject({ status: 401, code: "unauthorized", message: "bad token", requestId: "req-9" });
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it("does not refresh the host token when the Dynamics token is what is missing", async () => {
    const getHostToken = vi.fn(async () => "t");
    const fetch = vi.fn(async () => json(401, { error: { code: "dynamics_token_missing", message: "send X-Dynamics-Token" } }));
    const c = new EdgeClient({ apiBase: "https://e", getHostToken, fetch });
    await expect(c.request("GET", "/connections/1/entities")).rejects.toMatchObject({ code: "dynamics_token_missing" });
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("maps validation details and falls back to the X-Request-Id header", async () => {
    const fetch = vi.fn(async () =>
      json(400, { error: { code: "validation_failed", message: "no", details: [{ path: "orgUrl", message: "bad" }] } }, { "x-request-id": "rid" }),
    );
    const c = new EdgeClient({ apiBase: "https://e", getHostToken: async () => "t", fetch });
    await expect(c.request("POST", "/connections", { body: {} })).rejects.toMatchObject({ details: [{ path: "orgUrl", message: "bad" }], requestId: "rid" });
  });

  it("turns a network failure that persists into a clear EdgeError, after the bounded retries", async () => {
    const fetch = vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    });
    const sleep = vi.fn(async () => {});
    const c = new EdgeClient({ apiBase: "https://e", getHostToken: async () => "t", fetch, sleep });
    await expect(c.request("GET", "/x")).rejects.toMatchObject({ status: 0, message: expect.stringContaining("could not be reached") });
    expect(fetch).toHaveBeenCalledTimes(MAX_ATTEMPTS);
    expect(sleep).toHaveBeenCalledTimes(MAX_ATTEMPTS - 1);
  });

  it("retries a write whose answer was lost with the same Idempotency-Key, so the edge does it once", async () => {
    const keys: string[] = [];
    let calls = 0;
    const fetch = vi.fn(async (_u: string, init: RequestInit) => {
      keys.push((init.headers as Record<string, string>)["Idempotency-Key"]!);
      if (++calls === 1) throw new TypeError("Failed to fetch");
      return json(201, { id: "conn_1" }, { "Idempotent-Replayed": "true" });
    });
    const c = new EdgeClient({
      apiBase: "https://e",
      getHostToken: async () => "t",
      fetch: fetch as unknown as typeof globalThis.fetch,
      sleep: async () => {},
    });
    expect(await c.request("POST", "/connections", { body: { name: "A" } })).toEqual({ id: "conn_1" });
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    // A new call is a new request: a new key.
    await c.request("POST", "/connections", { body: { name: "A" } });
    expect(keys[2]).not.toBe(keys[0]);
  });

  it("reads never carry an Idempotency-Key", async () => {
    const fetch = vi.fn(async () => json(200, []));
    const c = new EdgeClient({ apiBase: "https://e", getHostToken: async () => "t", fetch });
    await c.request("GET", "/connections");
    const [, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect((init.headers as Record<string, string>)["Idempotency-Key"]).toBeUndefined();
  });

  it("waits out a 503 with Retry-After and a duplicate still in progress; a 429 or a 503 without Retry-After is final", async () => {
    const answers = [
      new Response("restarting", { status: 503, headers: { "Retry-After": "0" } }),
      json(409, { error: { code: "idempotency_in_progress", message: "wait" } }, { "Retry-After": "2" }),
      json(200, { ok: true }),
    ];
    const sleep = vi.fn(async () => {});
    const c = new EdgeClient({ apiBase: "https://e", getHostToken: async () => "t", fetch: vi.fn(async () => answers.shift()!), sleep });
    expect(await c.request("POST", "/jobs/1/runs")).toEqual({ ok: true });
    expect(sleep.mock.calls.map((a) => (a as unknown[])[0])).toEqual([0, 2000]);

    const limited = new EdgeClient({
      apiBase: "https://e",
      getHostToken: async () => "t",
      fetch: vi.fn(async () => json(429, { error: { code: "rate_limited", message: "slow down" } }, { "Retry-After": "1" })),
      sleep,
    });
    await expect(limited.request("GET", "/x")).rejects.toMatchObject({ status: 429, code: "rate_limited" });
    const down = new EdgeClient({
      apiBase: "https://e",
      getHostToken: async () => "t",
      fetch: vi.fn(async () => new Response("down", { status: 503 })),
      sleep,
    });
    await expect(down.request("GET", "/x")).rejects.toMatchObject({ status: 503 });
    expect(sleep).toHaveBeenCalledTimes(2);
  });

  it("an abort while waiting to retry stops at once", async () => {
    const ctrl = new AbortController();
    const fetch = vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    });
    const c = new EdgeClient({ apiBase: "https://e", getHostToken: async () => "t", fetch });
    const pending = c.request("GET", "/x", { signal: ctrl.signal });
    ctrl.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("downloads a file as a Blob", async () => {
    const fetch = vi.fn(async () => new Response("a,b\n", { status: 200, headers: { "content-type": "text/csv" } }));
    const c = new EdgeClient({ apiBase: "https://e", getHostToken: async () => "t", fetch });
    expect(await (await c.download("/runs/1/errors?format=csv")).text()).toBe("a,b\n");
  });
});
