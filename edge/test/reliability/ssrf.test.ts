/**
 * SSRF and proxy abuse. Two surfaces: the orgUrl a connection stores (the only host the Worker ever calls for it) and
 * the path the proxy forwards under `{orgUrl}/api/data/v9.2/`. Every attack is refused with the envelope, nothing is
 * stored, and the upstream is never contacted: the Worker's outbound `fetch` is watched (it runs in this isolate)
 * and the sandbox org's own request counter (`/_sandbox/stats`) must not move. The connection under attack points at
 * the real sandbox org and the attacker holds a VALID delegated token, so a leaked request would really be served.
 * (Redirects and oversized upstream answers need a server that misbehaves: test/reliability/edge-process.test.ts.)
 *
 * The stats check assumes no other test file hits the contoso org at the same moment: on this 2-core machine vitest
 * runs the edge files one at a time (maxWorkers = cores - 1); the fetch watch alone is exact in any case.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { actors, sandbox } from "../helpers";
import { userToken } from "../dynamics.helpers";
import { ORG_URL_ATTACKS, PROXY_PATH_ATTACKS } from "./attack-lists";
import { call, createConnection } from "./helpers";

const sb = sandbox();

afterEach(() => vi.restoreAllMocks());

async function envelope(res: Response): Promise<{ code: string }> {
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`not a JSON envelope (${res.status}): ${text.slice(0, 200)}`);
  }
  if (!body?.error?.code) throw new Error(`not an envelope (${res.status}): ${text.slice(0, 200)}`);
  return body.error;
}

describe("orgUrl attacks", () => {
  it(`refuses all ${ORG_URL_ATTACKS.length} attack URLs, stores nothing, contacts nobody`, async () => {
    expect(ORG_URL_ATTACKS.length).toBeGreaterThanOrEqual(30);
    const a = await actors();
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    const accepted: string[] = [];
    for (const orgUrl of ORG_URL_ATTACKS) {
      const res = await call("POST", "/api/v1/connections", { token: a.admin, body: { name: "x", orgUrl } });
      if (res.status !== 400) accepted.push(`${orgUrl} → ${res.status} ${await res.text()}`);
      else expect((await envelope(res)).code).toBe("validation_failed");
    }
    expect(accepted).toEqual([]);
    expect(fetchSpy).not.toHaveBeenCalled();
    expect((await env.CONFIG.list({ prefix: `t/${a.tenant}/` })).keys).toEqual([]);
  });

  it("a connection whose stored orgUrl is no longer allowed is not called (re-checked before every call)", async () => {
    const a = await actors();
    const conn = await createConnection(a.admin);
    const key = `t/${a.tenant}/conn/${conn.id}`;
    const stored = (await env.CONFIG.get<any>(key, "json"))!;
    await env.CONFIG.put(key, JSON.stringify({ ...stored, orgUrl: "https://169.254.169.254" }));
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    const res = await call("GET", `/api/v1/connections/${conn.id}/dynamics/WhoAmI`, {
      token: a.admin,
      headers: { "X-Dynamics-Token": "eyJ0eXAiOiJKV1QifQ.e30.c2ln" },
    });
    expect(res.status).toBe(400);
    expect((await envelope(res)).code).toBe("proxy_refused");
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

describe.skipIf(!sb)("proxy path attacks against the sandbox org", () => {
  let admin: string;
  let viewer: string;
  let connId: string;
  let orgUrl: string;
  let token: string;
  const stats = async () => (await (await fetch(`${orgUrl}/_sandbox/stats`)).json()) as { total: number; byPath: Record<string, number> };

  beforeAll(async () => {
    const a = await actors();
    admin = a.admin;
    viewer = a.viewer;
    orgUrl = sb!.orgs.find((o) => o.key === "contoso")!.url;
    connId = (await createConnection(admin, orgUrl)).id;
    token = await userToken("admin@contoso.example", orgUrl);
  });

  it("the pipe works: a legitimate GET is forwarded once (so 'not forwarded' below means something)", async () => {
    const before = await stats();
    const res = await call("GET", `/api/v1/connections/${connId}/dynamics/WhoAmI`, { token: admin, headers: { "X-Dynamics-Token": token } });
    expect(res.status).toBe(200);
    expect((await res.json()) as any).toMatchObject({ UserId: expect.any(String) });
    expect((await stats()).total - before.total).toBe(1);
  });

  it(`refuses all ${PROXY_PATH_ATTACKS.length} attack paths (+ methods, query, bodies) without contacting the org`, async () => {
    expect(PROXY_PATH_ATTACKS.length).toBeGreaterThanOrEqual(30);
    const attempts: Array<{ what: string; method: string; path: string; headers?: Record<string, string>; rawBody?: string; as?: string; noToken?: boolean }> =
      [
        ...PROXY_PATH_ATTACKS.map((p) => ({ what: p, method: "GET", path: p })),
        { what: "POST to an entity set", method: "POST", path: "accounts", rawBody: "{}", headers: { "Content-Type": "application/json" } },
        {
          what: "PATCH a record",
          method: "PATCH",
          path: "accounts(a0000000-0001-4000-8000-000000000001)",
          rawBody: "{}",
          headers: { "Content-Type": "application/json" },
        },
        { what: "DELETE a record", method: "DELETE", path: "accounts(a0000000-0001-4000-8000-000000000001)" },
        { what: "PUT", method: "PUT", path: "accounts", rawBody: "{}", headers: { "Content-Type": "application/json" } },
        { what: "GET $batch", method: "GET", path: "$batch" },
        { what: "$batch without multipart", method: "POST", path: "$batch", rawBody: "{}", headers: { "Content-Type": "application/json" } },
        {
          what: "$batch over 1 MB",
          method: "POST",
          path: "$batch",
          rawBody: `--b\r\n${"x".repeat(1024 * 1024 + 1)}`,
          headers: { "Content-Type": "multipart/mixed; boundary=b" },
        },
        {
          what: "$batch from a viewer",
          method: "POST",
          path: "$batch",
          rawBody: "--b--",
          headers: { "Content-Type": "multipart/mixed; boundary=b" },
          as: "viewer",
        },
        { what: "query with CRLF", method: "GET", path: "accounts?$filter=name%20eq%20'x'%0d%0aHost:%20evil" },
        { what: "query with NUL", method: "GET", path: "accounts?$select=name%00" },
        { what: "query over 16 KB", method: "GET", path: `accounts?$filter=${"a".repeat(17_000)}` },
        { what: "no X-Dynamics-Token", method: "GET", path: "WhoAmI", noToken: true },
        { what: "X-Dynamics-Token with a space", method: "GET", path: "WhoAmI", headers: { "X-Dynamics-Token": "abc def" } },
        { what: "X-Dynamics-Token with a comma (header smuggling)", method: "GET", path: "WhoAmI", headers: { "X-Dynamics-Token": "a,Bearer b" } },
        { what: "X-Dynamics-Token over 16 KB", method: "GET", path: "WhoAmI", headers: { "X-Dynamics-Token": "a".repeat(16_385) } },
      ];
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    const before = await stats();
    const spyCallsBefore = fetchSpy.mock.calls.length; // the stats call above went through the spy
    const leaks: string[] = [];
    const codes: Record<string, number> = {};
    for (const at of attempts) {
      // Every attempt carries a valid delegated token unless it is about the token itself.
      const headers: Record<string, string> = { ...(at.noToken ? {} : { "X-Dynamics-Token": token }), ...(at.headers ?? {}) };
      const res = await call(at.method, `/api/v1/connections/${connId}/dynamics/${at.path}`, {
        token: at.as === "viewer" ? viewer : admin,
        headers,
        ...(at.rawBody !== undefined ? { rawBody: at.rawBody } : {}),
      });
      if (res.status < 400 || res.status >= 500) {
        leaks.push(`${at.what} → ${res.status} ${(await res.text()).slice(0, 200)}`);
        continue;
      }
      const e = await envelope(res);
      codes[e.code] = (codes[e.code] ?? 0) + 1;
    }
    const calls = fetchSpy.mock.calls.slice(spyCallsBefore).map((c) => String(c[0] instanceof Request ? c[0].url : c[0]));
    const after = await stats();
    console.log(
      `[reliability] proxy attacks: ${attempts.length} attempts, refusals by code ${JSON.stringify(codes)}, outbound fetches ${calls.length}, sandbox requests ${after.total - before.total}`,
    );
    expect(leaks).toEqual([]);
    expect(calls).toEqual([]);
    expect(after.total - before.total).toBe(0);
    expect(
      Object.keys(codes).every((c) =>
        ["proxy_refused", "not_found", "method_not_allowed", "payload_too_large", "forbidden", "dynamics_token_missing", "dynamics_token_invalid"].includes(c),
      ),
    ).toBe(true);
  });

  it("huge bodies on the API are refused before parsing (413), deep JSON is a 400, never 500", async () => {
    const big = JSON.stringify({ name: "x".repeat(300 * 1024), orgUrl: "https://contoso.crm.dynamics.com" });
    const r1 = await call("POST", "/api/v1/connections", { token: admin, rawBody: big, headers: { "Content-Type": "application/json" } });
    expect(r1.status).toBe(413);
    expect((await envelope(r1)).code).toBe("payload_too_large");
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    const r2 = await call("POST", "/api/v1/jobs", { token: admin, rawBody: deep, headers: { "Content-Type": "application/json" } });
    expect(r2.status).toBeGreaterThanOrEqual(400);
    expect(r2.status).toBeLessThan(500);
    const deepObj = '{"a":'.repeat(20_000) + "1" + "}".repeat(20_000);
    const r3 = await call("POST", "/api/v1/objects", { token: admin, rawBody: deepObj, headers: { "Content-Type": "application/json" } });
    expect(r3.status).toBeGreaterThanOrEqual(400);
    expect(r3.status).toBeLessThan(500);
  });
});
