/** The stored orgUrl is re-validated before every Dynamics call: a host allowed once and no longer gets nothing. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { getConnection, putConnection } from "../../src/stores/connections";
import { actors, call, createConnection, expectError, sandbox } from "../helpers";
import { org, userToken } from "../dynamics.helpers";
import { fixture, runToEnd } from "../sync/helpers";

const sb = sandbox();
/** A loopback host that was in DEV_INSECURE_ORG_HOSTS when the connection was created, and is not any more. */
const NO_LONGER_ALLOWED = "http://127.0.0.1:9";

describe.skipIf(!sb)("stored orgUrl re-checked", () => {
  it("authorize refuses a connection whose stored host is no longer allowed, and sends it nothing", async () => {
    const a = await actors();
    const conn = await createConnection(a.admin, org("contoso").url, "was allowed");
    const stored = (await getConnection(env, a.tenant, conn.id))!;
    await putConnection(env, { ...stored, orgUrl: NO_LONGER_ALLOWED });
    const accessToken = await userToken("admin@contoso.example", org("contoso").url);
    const err = await expectError(
      await call("POST", `/api/v1/connections/${conn.id}/authorize`, { token: a.admin, body: { accessToken } }),
      400,
      "proxy_refused",
    );
    expect(err.message).toContain("no longer allowed");
  });

  it("a run of such a connection fails with org_url_refused before any request and flags the connection", async () => {
    const fx = await fixture("contoso", {});
    const conn = (await getConnection(env, fx.tenant, fx.job.connectionId))!;
    await putConnection(env, { ...conn, orgUrl: NO_LONGER_ALLOWED });
    const run = await runToEnd(fx);
    expect(run.status).toBe("failed");
    expect(run.error_code).toBe("org_url_refused");
    expect(run.read_count).toBe(0);
    const after = (await getConnection(env, fx.tenant, conn.id))!;
    expect(after.status).toBe("needs_attention");
    expect(after.attentionReason).toContain(NO_LONGER_ALLOWED);
  });
});
