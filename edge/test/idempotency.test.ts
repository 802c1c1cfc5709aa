import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { IDEMPOTENCY_ABANDONED_MS, IDEMPOTENCY_TTL_MS, sweepIdempotencyKeys } from "../src/stores/idempotency-keys";
import { actors, call, expectError, json } from "./helpers";

const create = (token: string, key: string | undefined, name = "Contoso") =>
  call("POST", "/api/v1/connections", {
    token,
    body: { name, orgUrl: "https://contoso.crm.dynamics.com" },
    ...(key !== undefined ? { headers: { "Idempotency-Key": key } } : {}),
  });

const listNames = async (token: string) => (await json<Array<{ name: string }>>(await call("GET", "/api/v1/connections", { token }))).map((c) => c.name);

describe("Idempotency-Key on writes", () => {
  it("a retried create with the same key replays the first answer and creates one connection", async () => {
    const { admin } = await actors();
    const key = crypto.randomUUID();
    const first = await create(admin, key);
    expect(first.status).toBe(201);
    const firstBody = await json(first);
    const retry = await create(admin, key);
    expect(retry.status).toBe(201);
    expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await json(retry)).toEqual(firstBody);
    expect(await listNames(admin)).toEqual(["Contoso"]);
  });

  it("without a key, or with a new key, each create is its own request", async () => {
    const { admin } = await actors();
    await create(admin, undefined);
    await create(admin, undefined);
    await create(admin, crypto.randomUUID());
    expect(await listNames(admin)).toHaveLength(3);
  });

  it("the same key for a different request is refused with 422, naming the header, and changes nothing", async () => {
    const { admin } = await actors();
    const key = crypto.randomUUID();
    await create(admin, key, "First");
    const e = await expectError(await create(admin, key, "Second"), 422, "idempotency_key_reused");
    expect(e.details?.[0]?.path).toBe("header.Idempotency-Key");
    expect(await listNames(admin)).toEqual(["First"]);
  });

  it("a malformed key is a 400 naming the header; nothing is created", async () => {
    const { admin } = await actors();
    const e = await expectError(await create(admin, "short"), 400, "validation_failed");
    expect(e.details?.[0]?.path).toBe("header.Idempotency-Key");
    expect(await listNames(admin)).toEqual([]);
  });

  it("replays a 4xx answer too (the retry of an invalid request is just as invalid)", async () => {
    const { admin } = await actors();
    const key = crypto.randomUUID();
    const bad = () =>
      call("POST", "/api/v1/connections", { token: admin, body: { name: "x", orgUrl: "https://example.com" }, headers: { "Idempotency-Key": key } });
    await expectError(await bad(), 400, "validation_failed");
    const again = await bad();
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    await expectError(again, 400, "validation_failed");
  });

  it("a request still in flight answers 409 idempotency_in_progress with Retry-After", async () => {
    const { admin, tenant } = await actors();
    const key = crypto.randomUUID();
    // What the first request's claim looks like while its handler is still running.
    const res0 = await create(admin, key);
    await env.DATA.prepare("UPDATE idempotency_keys SET status = NULL, body = NULL WHERE tenant = ? AND key = ?").bind(tenant, key).run();
    const res = await create(admin, key);
    expect(res.headers.get("Retry-After")).toBe("1");
    await expectError(res, 409, "idempotency_in_progress");
    expect(res0.status).toBe(201);
  });

  it("a claim left unanswered (its isolate died mid-request) is taken over by the same request after a while", async () => {
    const { admin, tenant } = await actors();
    const key = crypto.randomUUID();
    await create(admin, key, "Lost");
    // The first attempt claimed the key and never answered, long enough ago to count as abandoned.
    await env.DATA.prepare("UPDATE idempotency_keys SET status = NULL, body = NULL, created_at = ? WHERE tenant = ? AND key = ?")
      .bind(Date.now() - IDEMPOTENCY_ABANDONED_MS - 1, tenant, key)
      .run();
    await expectError(await create(admin, key, "Other"), 422, "idempotency_key_reused");
    const retry = await create(admin, key, "Lost");
    expect(retry.status).toBe(201);
    expect(retry.headers.get("Idempotent-Replayed")).toBeNull();
    const replay = await create(admin, key, "Lost");
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
  });

  it("keys are per tenant: another tenant's identical key is a separate request", async () => {
    const a = await actors();
    const b = await actors();
    const key = crypto.randomUUID();
    const ra = await json<{ id: string }>(await create(a.admin, key, "Same"));
    const rb = await create(b.admin, key, "Same");
    expect(rb.headers.get("Idempotent-Replayed")).toBeNull();
    expect((await json<{ id: string }>(rb)).id).not.toBe(ra.id);
    expect(await listNames(b.admin)).toEqual(["Same"]);
  });

  it("stores a fingerprint, never the request body (an authorize body carries a Dynamics token)", async () => {
    const { admin, tenant } = await actors();
    const key = crypto.randomUUID();
    // An unknown connection: the request is recorded (its 404 answer) without ever reaching Dynamics.
    await call("POST", "/api/v1/connections/conn_00000000000000000000000000000000/authorize", {
      token: admin,
      body: { accessToken: "eyJ.secret-token-value.sig" },
      headers: { "Idempotency-Key": key },
    });
    const rows = await env.DATA.prepare("SELECT * FROM idempotency_keys WHERE tenant = ?").bind(tenant).all();
    expect(rows.results).toHaveLength(1);
    expect(JSON.stringify(rows.results)).not.toContain("secret-token-value");
  });

  it("previews are not recorded: their answers hold Dynamics records", async () => {
    const { admin, tenant } = await actors();
    await call("POST", "/api/v1/jobs/preview", { token: admin, body: {}, headers: { "Idempotency-Key": crypto.randomUUID() } });
    const rows = await env.DATA.prepare("SELECT COUNT(*) AS n FROM idempotency_keys WHERE tenant = ?").bind(tenant).first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it("the cron sweep forgets keys older than 24 hours, after which the key may be used afresh", async () => {
    const { admin, tenant } = await actors();
    const key = crypto.randomUUID();
    await create(admin, key, "Old");
    await env.DATA.prepare("UPDATE idempotency_keys SET created_at = ? WHERE tenant = ? AND key = ?")
      .bind(Date.now() - IDEMPOTENCY_TTL_MS - 1, tenant, key)
      .run();
    expect(await sweepIdempotencyKeys(env, Date.now())).toBeGreaterThanOrEqual(1);
    const fresh = await create(admin, key, "New");
    expect(fresh.status).toBe(201);
    expect(fresh.headers.get("Idempotent-Replayed")).toBeNull();
    expect((await listNames(admin)).sort()).toEqual(["New", "Old"]);
  });
});
