/**
 * Secrets at rest and in logs. A full journey against the sandbox — create a connection, authorize it with the
 * admin's delegated token (WhoAmI, background credential, metadata cache, out-of-the-box jobs), proxy and metadata
 * calls with X-Dynamics-Token, a preview, a custom job with a webhook, the webhook secret, runs to the end in their
 * Durable Objects, plus failure paths (a bogus delegated token, a bogus host token) — with every console method
 * captured. Then ALL of KV (every key and value) and ALL of D1 (every table in sqlite_master, every row) and the
 * captured log lines are searched for: HOST_JWT_SECRET, ENCRYPTION_KEY, DYNAMICS_CLIENT_SECRET, the host JWTs, the
 * delegated token, the app (client-credentials) token, the webhook secret, and any JWT at all.
 * (test/reliability/edge-process.test.ts does the same on the files `wrangler dev` persists and on its output.)
 */
import { env } from "cloudflare:test";
import { afterEach, expect, it, vi } from "vitest";
import { getAppToken } from "../../src/dataverse/client";
import { allShardDbs } from "../../src/stores/shards";
import { actors, hostToken, json, sandbox } from "../helpers";
import { userToken } from "../dynamics.helpers";
import { call, createConnection } from "./helpers";

const sb = sandbox();
afterEach(() => vi.restoreAllMocks());

const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}/;

it.skipIf(!sb)(
  "after a full journey no secret, token or host JWT is in KV, D1 or the logs",
  async () => {
    const logs: string[] = [];
    for (const m of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, m).mockImplementation(
        (...args: unknown[]) =>
          void logs.push(args.map((a) => (typeof a === "string" ? a : a instanceof Error ? `${a.message} ${a.stack}` : JSON.stringify(a))).join(" ")),
      );
    }
    const a = await actors();
    const org = sb!.orgs.find((o) => o.key === "contoso")!;
    const delegated = await userToken("admin@contoso.example", org.url);
    const dyn = { "X-Dynamics-Token": delegated };

    // Connection + authorize (WhoAmI, background credential, metadata, built-in jobs).
    const conn = await createConnection(a.admin, org.url, "Secrets journey");
    const auth = await call("POST", `/api/v1/connections/${conn.id}/authorize`, { token: a.admin, body: { accessToken: delegated } });
    expect(auth.status, await auth.clone().text()).toBe(200);
    // Failure paths that carry credentials: a bogus delegated token, a forged host token, a proxy 401.
    expect(
      (await call("POST", `/api/v1/connections/${conn.id}/authorize`, { token: a.admin, body: { accessToken: `${delegated.slice(0, -8)}AAAAAAAA` } })).status,
    ).toBe(401);
    const forged = await hostToken({ tenant: a.tenant, secret: "not-the-secret-0123456789abcdef0123" });
    expect((await call("GET", "/api/v1/connections", { token: forged })).status).toBe(401);
    expect(
      (
        await call("GET", `/api/v1/connections/${conn.id}/dynamics/WhoAmI`, {
          token: a.admin,
          headers: { "X-Dynamics-Token": "eyJhbGciOiJSUzI1NiJ9.eyJ4IjoxfQ.c2lnbmF0dXJl" },
        })
      ).status,
    ).toBe(401);
    // Proxy, metadata, preview.
    expect((await call("GET", `/api/v1/connections/${conn.id}/dynamics/accounts?$select=name&$top=2`, { token: a.admin, headers: dyn })).status).toBe(200);
    expect((await call("GET", `/api/v1/connections/${conn.id}/entities?refresh=1`, { token: a.admin, headers: dyn })).status).toBe(200);
    expect((await call("GET", `/api/v1/connections/${conn.id}/entities/account/attributes`, { token: a.admin, headers: dyn })).status).toBe(200);
    // A custom job with a webhook (delivery fails: nobody listens there), and its secret.
    await call("POST", "/api/v1/objects", {
      token: a.admin,
      body: {
        name: "Proj",
        label: "Projects",
        fields: [
          { name: "Key", label: "Key", type: "id", required: true, unique: true },
          { name: "Name", label: "Name", type: "string" },
        ],
      },
    });
    const job = await json(
      await call("POST", "/api/v1/jobs", {
        token: a.admin,
        headers: dyn, // the widget sends the admin's Dynamics token on save: the new table's read is proven then
        body: {
          connectionId: conn.id,
          name: "projects",
          source: { entity: "cr123_project", filter: null },
          target: { object: "Proj" },
          identifiers: [{ source: "cr123_projectid", target: "Key" }],
          mappings: [{ source: "cr123_name", target: "Name" }],
          notify: { onSuccess: ["ops@example.com"], onPartial: [], onFailure: [], webhook: `${org.url}/_sandbox/nowhere` },
        },
      }),
    );
    expect((await call("POST", `/api/v1/jobs/${job.id}/preview`, { token: a.admin, headers: dyn })).status).toBe(200);
    const webhookSecret = (await json(await call("GET", `/api/v1/jobs/${job.id}/webhook-secret`, { token: a.admin }))).secret as string;
    expect(webhookSecret.length).toBeGreaterThan(16);
    // Runs to the end in their Durable Objects: the custom job and the built-in user job (keyset, systemuser).
    const jobs = await json<any[]>(await call("GET", "/api/v1/jobs", { token: a.admin }));
    const userJob = jobs.find((j) => j.builtIn === "user")!;
    const runIds: string[] = [];
    for (const j of [job.id, userJob.id]) runIds.push((await json(await call("POST", `/api/v1/jobs/${j}/runs`, { token: a.admin }))).runId);
    for (const id of runIds) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const run = await json(await call("GET", `/api/v1/runs/${id}`, { token: a.viewer }));
        if (!["queued", "running"].includes(run.status)) {
          expect(run.status, JSON.stringify(run.error)).toBe("succeeded");
          break;
        }
        if (Date.now() > deadline) throw new Error(`run ${id} did not finish: ${JSON.stringify(run)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const appToken = await getAppToken(env, org.tenantId, org.url); // isolate-cached: the one the runs used

    // ---- scan ----
    const needles: Record<string, string> = {
      HOST_JWT_SECRET: env.HOST_JWT_SECRET,
      ENCRYPTION_KEY: env.ENCRYPTION_KEY,
      DYNAMICS_CLIENT_SECRET: env.DYNAMICS_CLIENT_SECRET,
      "admin host JWT": a.admin,
      "viewer host JWT": a.viewer,
      "forged host JWT": forged,
      "delegated token": delegated,
      "delegated token signature": delegated.split(".")[2]!,
      "app token": appToken,
      "app token signature": appToken.split(".")[2]!,
      "webhook secret": webhookSecret,
    };
    const places: Record<string, string> = {};
    // KV: every key and value
    let cursor: string | undefined;
    let kvKeys = 0;
    do {
      const page: KVNamespaceListResult<unknown, string> = await env.CONFIG.list(cursor ? { cursor } : {});
      for (const k of page.keys) {
        places[`KV ${k.name}`] = `${k.name}\n${(await env.CONFIG.get(k.name, "text")) ?? ""}`;
        kvKeys++;
      }
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    // D1: every shard, every table, every row
    const tables: string[] = [];
    let d1Rows = 0;
    const unreadable: string[] = [];
    for (const { shard, db } of allShardDbs(env)) {
      for (const { name } of (await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all<{ name: string }>()).results) {
        const t = `${shard}.${name}`;
        tables.push(t);
        try {
          const { results } = await db.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`).all();
          d1Rows += results.length;
          places[`D1 ${t}`] = JSON.stringify(results);
        } catch {
          unreadable.push(t); // e.g. _cf_METADATA is not readable from a Worker
        }
      }
    }
    places["logs"] = logs.join("\n");

    const findings: string[] = [];
    for (const [where, text] of Object.entries(places)) {
      for (const [what, needle] of Object.entries(needles)) if (needle && text.includes(needle)) findings.push(`${what} in ${where}`);
      const m = JWT.exec(text);
      if (m) findings.push(`a JWT (${m[0].slice(0, 20)}…) in ${where}`);
    }
    vi.restoreAllMocks();
    console.log(
      `[reliability] secrets scan: ${kvKeys} KV keys, ${tables.length} D1 tables (${unreadable.length} unreadable: ${unreadable.join(", ")}), ${d1Rows} D1 rows, ${logs.length} log lines, ${Object.keys(needles).length} needles + any JWT → ${findings.length} findings`,
    );
    expect(kvKeys).toBeGreaterThan(5);
    expect(d1Rows).toBeGreaterThan(100);
    expect(findings).toEqual([]);
  },
  60_000,
);
