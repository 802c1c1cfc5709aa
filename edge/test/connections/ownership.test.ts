/** An org belongs to one host tenant: claimed by the first authorize, refused to every other tenant, released on delete. */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { retryPolicy } from "../../src/dataverse/client";
import { ORG_CLAIMED_MESSAGE } from "../../src/connections/ownership";
import { actors, call, createConnection, expectError, json, sandbox } from "../helpers";
import { org, userToken } from "../dynamics.helpers";

const sb = sandbox();

async function authorize(token: string, connId: string, upn = "admin@contoso.example") {
  const accessToken = await userToken(upn, org("contoso").url);
  return call("POST", `/api/v1/connections/${connId}/authorize`, { token, body: { accessToken } });
}

describe.skipIf(!sb)("org ownership", () => {
  it("refuses a second host tenant's authorize of a claimed organization with 409 org_claimed, naming nobody and creating nothing", async () => {
    const a = await actors();
    const b = await actors();
    const connA = await createConnection(a.admin, org("contoso").url, "A");
    expect((await authorize(a.admin, connA.id)).status).toBe(200);

    const connB = await createConnection(b.admin, org("contoso").url, "B");
    const err = await expectError(await authorize(b.admin, connB.id), 409, "org_claimed");
    expect(err.message).toBe(ORG_CLAIMED_MESSAGE);
    for (const secret of [a.tenant, connA.id, "admin@contoso.example", "admin-1"]) expect(JSON.stringify(err)).not.toContain(secret);

    // Nothing for B: no jobs, no metadata cache, the connection still unauthorized and unpinned.
    expect(await json<unknown[]>(await call("GET", "/api/v1/jobs", { token: b.admin }))).toEqual([]);
    const stillB = await json(await call("GET", `/api/v1/connections/${connB.id}`, { token: b.admin }));
    expect(stillB).toMatchObject({ status: "not_authorized" });
    expect(stillB.organizationId).toBeUndefined();
    const cached = await env.CONFIG.list({ prefix: `t/${b.tenant}/` });
    expect(cached.keys.map((k) => k.name).filter((k) => !k.includes("/conn/"))).toEqual([]);
  });

  it("lets one tenant keep several connections to the same organization", async () => {
    const a = await actors();
    const one = await createConnection(a.admin, org("contoso").url, "one");
    const two = await createConnection(a.admin, org("contoso").url, "two");
    expect((await authorize(a.admin, one.id)).status).toBe(200);
    expect((await authorize(a.admin, two.id)).status).toBe(200);
  });

  it("releases the claim when the owning tenant deletes its last connection to the organization, with an audit entry", async () => {
    const a = await actors();
    const b = await actors();
    const one = await createConnection(a.admin, org("contoso").url, "one");
    const two = await createConnection(a.admin, org("contoso").url, "two");
    await authorize(a.admin, one.id);
    await authorize(a.admin, two.id);
    const connB = await createConnection(b.admin, org("contoso").url, "B");

    expect((await call("DELETE", `/api/v1/connections/${one.id}`, { token: a.admin })).status).toBe(200);
    await expectError(await authorize(b.admin, connB.id), 409, "org_claimed");

    expect((await call("DELETE", `/api/v1/connections/${two.id}`, { token: a.admin })).status).toBe(200);
    const activity = await json<{ items: Array<{ action: string }> }>(await call("GET", "/api/v1/activity", { token: a.admin }));
    expect(activity.items.filter((e) => e.action === "organization.release")).toHaveLength(1);
    expect((await authorize(b.admin, connB.id)).status).toBe(200);
  });

  it("takes the claim atomically: of two tenants authorizing at once, exactly one wins", async () => {
    const a = await actors();
    const b = await actors();
    const connA = await createConnection(a.admin, org("contoso").url, "A");
    const connB = await createConnection(b.admin, org("contoso").url, "B");
    const statuses = (await Promise.all([authorize(a.admin, connA.id), authorize(b.admin, connB.id)])).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409]);
  });
});

describe.skipIf(!sb)("org ownership when authorize fails after the claim", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    retryPolicy.maxAttempts = attempts;
  });
  const attempts = retryPolicy.maxAttempts;

  it("releases the claim again, so the organization is not left owned by a connection that never recorded it", async () => {
    const a = await actors();
    const b = await actors();
    const connA = await createConnection(a.admin, org("contoso").url, "A");
    // The second WhoAmI (as the application user) finds Dynamics unreachable: authorize fails after claiming.
    retryPolicy.maxAttempts = 1;
    const real = globalThis.fetch;
    let whoAmIs = 0;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url.endsWith("/WhoAmI") && ++whoAmIs === 2) throw new TypeError("network connection lost");
      return real(input, init);
    });
    await expectError(await authorize(a.admin, connA.id), 504, "dynamics_unreachable");
    vi.restoreAllMocks();
    const connB = await createConnection(b.admin, org("contoso").url, "B");
    expect((await authorize(b.admin, connB.id)).status).toBe(200);
  });
});
