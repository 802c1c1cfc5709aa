/**
 * Tenant isolation over EVERY route of the OpenAPI document (GET /api/v1/openapi.json), so a route added later is
 * covered without touching this file. Tenant A owns a connection, a job, a custom object and a run (with an error
 * row); tenant B's admin and viewer call each route with A's ids:
 * - admin: 404 not_found everywhere an id is in the path (never 403: no existence oracle);
 * - viewer: 404 for reads; writes are 403 forbidden — the role check comes first and answers the same for an id that
 *   exists elsewhere and for a random one (checked), so it is no oracle either; viewers get 403 on their own ids too;
 * - list routes answer 200 with none of A's data;
 * - no response body contains A's ids, names or tenant (beyond the id the caller itself put in the URL);
 * - A's data is unchanged afterwards.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { actors, json } from "../helpers";
import { call, createConnection } from "./helpers";

interface Op {
  method: string;
  path: string;
  admin: boolean;
  public: boolean;
  hasBody: boolean;
}

interface World {
  tenant: string;
  admin: string;
  viewer: string;
  connId: string;
  jobId: string;
  objectName: string;
  runId: string;
  secrets: string[]; // strings that must never reach the other tenant
}

async function world(label: string): Promise<World> {
  const a = await actors();
  const connName = `Conn-${label}-${crypto.randomUUID().slice(0, 6)}`;
  const conn = await createConnection(a.admin, "https://contoso.crm.dynamics.com", connName);
  const objectName = `Secret${label}${crypto.randomUUID().slice(0, 6).replace(/-/g, "")}`;
  const obj = await call("POST", "/api/v1/objects", {
    token: a.admin,
    body: {
      name: objectName,
      label: `Label ${objectName}`,
      fields: [
        { name: "Key", label: "Key", type: "id", required: true, unique: true },
        { name: "Name", label: "Name", type: "string" },
      ],
    },
  });
  expect(obj.status).toBe(201);
  const jobName = `Job-${label}-${crypto.randomUUID().slice(0, 6)}`;
  const job = await call("POST", "/api/v1/jobs", {
    token: a.admin,
    body: {
      connectionId: conn.id,
      name: jobName,
      source: { entity: "account", filter: null },
      target: { object: objectName },
      identifiers: [{ source: "accountid", target: "Key" }],
      mappings: [{ source: "name", target: "Name" }],
    },
  });
  expect(job.status, await job.clone().text()).toBe(201);
  const jobId = (await json(job)).id as string;
  // A finished run with one per-record error, written straight to D1 (no Dynamics needed for this suite).
  const runId = crypto.randomUUID();
  const now = new Date().toISOString();
  await env.DATA.batch([
    env.DATA.prepare(
      "INSERT INTO runs (id, tenant, job_id, trigger, status, strategy, created_at, started_at, finished_at, read_count, failed_count, phase) VALUES (?, ?, ?, 'manual', 'partial', 'full', ?, ?, ?, 1, 1, 'done')",
    ).bind(runId, a.tenant, jobId, now, now, now),
    env.DATA.prepare("INSERT INTO run_errors (run_id, seq, tenant, source_id, field, value, reason) VALUES (?, 1, ?, ?, 'Name', ?, 'secret reason')").bind(
      runId,
      a.tenant,
      `src-${label}-id`,
      `value-${label}-secret`,
    ),
  ]);
  return {
    tenant: a.tenant,
    admin: a.admin,
    viewer: a.viewer,
    connId: conn.id,
    jobId,
    objectName,
    runId,
    secrets: [a.tenant, conn.id, connName, jobId, jobName, objectName, runId, `src-${label}-id`, `value-${label}-secret`],
  };
}

/** A concrete URL for an OpenAPI path, with `w`'s ids. */
function fill(path: string, w: Pick<World, "connId" | "jobId" | "objectName" | "runId">): string {
  return path
    .replace(/^\/api\/v1\/connections\/\{id\}/, `/api/v1/connections/${w.connId}`)
    .replace(/^\/api\/v1\/jobs\/\{id\}/, `/api/v1/jobs/${w.jobId}`)
    .replace("{name}", w.objectName)
    .replace("{runId}", w.runId)
    .replace("{logicalName}", "account")
    .replace("{path}", "WhoAmI");
}

const BODIES: Record<string, unknown> = {
  "patch /api/v1/connections/{id}": { name: "pwned" },
  "post /api/v1/connections/{id}/authorize": { accessToken: "eyJ0eXAiOiJKV1QifQ.eyJ0aWQiOiJ4In0.c2lnbmF0dXJl" },
  "patch /api/v1/objects/{name}": { label: "pwned" },
  "put /api/v1/jobs/{id}": {
    connectionId: "x",
    name: "pwned",
    source: { entity: "account" },
    target: { object: "Company" },
    mappings: [{ source: "name", target: "Name" }],
  },
};

describe("tenant isolation on every route of the OpenAPI document", () => {
  let A: World;
  let B: World;
  let ops: Op[];

  beforeAll(async () => {
    A = await world("A");
    B = await world("B");
    const doc = await json(await call("GET", "/api/v1/openapi.json"));
    ops = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        admin: op["x-required-role"] === "admin",
        public: Array.isArray(op.security) && op.security.length === 0,
        hasBody: !!op.requestBody,
      })),
    );
  });

  it("knows how to address every route (a new path parameter must be taught to fill())", () => {
    expect(ops.length).toBeGreaterThanOrEqual(25);
    for (const op of ops) expect(fill(op.path, A), `${op.method} ${op.path}`).not.toMatch(/[{}]/);
  });

  async function attempt(op: Op, as: "admin" | "viewer", target: World) {
    const path = fill(op.path, target);
    const key = `${op.method.toLowerCase()} ${op.path}`;
    const body = op.hasBody ? (BODIES[key] ?? {}) : undefined;
    const headers: Record<string, string> = { "X-Dynamics-Token": "eyJ0eXAiOiJKV1QifQ.eyJ4IjoxfQ.c2ln" };
    if (op.path.endsWith("$batch")) headers["Content-Type"] = "multipart/mixed; boundary=b";
    const res = await call(op.method, path, {
      token: as === "admin" ? B.admin : B.viewer,
      headers,
      ...(op.path.endsWith("$batch") ? { rawBody: "--b--" } : body !== undefined ? { body } : {}),
    });
    const text = await res.text();
    return { path, status: res.status, text };
  }

  it("B's admin gets 404 on every route that names one of A's resources, and learns nothing", async () => {
    const problems: string[] = [];
    let checked = 0;
    for (const op of ops) {
      if (op.public) continue;
      const r = await attempt(op, "admin", A);
      const idRoute = /\{(id|name|runId)\}/.test(op.path);
      if (idRoute) {
        checked++;
        if (r.status !== 404 || !/"code":"not_found"/.test(r.text)) problems.push(`${op.method} ${op.path} → ${r.status} ${r.text.slice(0, 200)}`);
      } else if (op.method === "GET" && r.status !== 200) problems.push(`${op.method} ${op.path} (list) → ${r.status} ${r.text.slice(0, 200)}`);
      const inUrl = r.path;
      for (const s of A.secrets) if (r.text.includes(s) && !inUrl.includes(s)) problems.push(`${op.method} ${op.path} leaks "${s}": ${r.text.slice(0, 200)}`);
    }
    console.log(`[reliability] tenant isolation (admin): ${ops.length} operations in the OpenAPI document, ${checked} id routes → 404`);
    expect(problems).toEqual([]);
  });

  const viewerForbiddenReads = new Set<string>();

  it("B's viewer gets 404 on reads of A's ids and 403 on every write (same answer for A's ids and random ones)", async () => {
    const problems: string[] = [];
    const ghost = { connId: "conn_doesnotexist0000", jobId: "job_doesnotexist0000", objectName: "NoSuchObject", runId: crypto.randomUUID() };
    for (const op of ops) {
      if (op.public) continue;
      const r = await attempt(op, "viewer", A);
      const write = op.method !== "GET";
      const idRoute = /\{(id|name|runId)\}/.test(op.path);
      // Admin-only reads (the webhook secret) answer 403 to viewers — acceptable when it is the same for any id.
      const adminOnlyRead = op.method === "GET" && (op.admin || r.status === 403);
      if (adminOnlyRead && r.status === 403) viewerForbiddenReads.add(`${op.method} ${op.path}`);
      if (write || adminOnlyRead) {
        if (r.status !== 403) problems.push(`${op.method} ${op.path} (viewer write) → ${r.status} ${r.text.slice(0, 200)}`);
        if (idRoute) {
          // no oracle: the same status and code for a resource that exists (in A) and one that exists nowhere
          const g = await call(op.method, fill(op.path, ghost), {
            token: B.viewer,
            headers: { "X-Dynamics-Token": "eyJ0eXAiOiJKV1QifQ.eyJ4IjoxfQ.c2ln" },
            ...(op.hasBody ? { body: BODIES[`${op.method.toLowerCase()} ${op.path}`] ?? {} } : {}),
          });
          const gt = await g.text();
          if (g.status !== r.status || JSON.parse(gt).error?.code !== JSON.parse(r.text).error?.code)
            problems.push(`${op.method} ${op.path}: A's id → ${r.status}, unknown id → ${g.status} (an oracle)`);
        }
      } else if (idRoute) {
        if (r.status !== 404) problems.push(`${op.method} ${op.path} (viewer read) → ${r.status} ${r.text.slice(0, 200)}`);
      } else if (r.status !== 200) problems.push(`${op.method} ${op.path} (viewer list) → ${r.status}`);
      for (const s of A.secrets) if (r.text.includes(s) && !r.path.includes(s)) problems.push(`${op.method} ${op.path} leaks "${s}"`);
    }
    expect(problems).toEqual([]);
  });

  // BUG (openapi/document.ts): GET /api/v1/jobs/{id}/webhook-secret is admin-only in runs.ts but its ROUTES entry lacks
  // `admin: true`, so the document says x-required-role "viewer" (a widget reading the document offers it to viewers).
  it("documents x-required-role admin for every route that refuses viewers", () => {
    expect(viewerForbiddenReads.size).toBeGreaterThan(0);
    const undocumented = [...viewerForbiddenReads].filter((k) => !ops.find((o) => `${o.method} ${o.path}` === k)!.admin);
    expect(undocumented).toEqual([]);
  });

  it("B's viewer gets 403 on every write to B's own resources", async () => {
    const problems: string[] = [];
    for (const op of ops) {
      if (op.public || op.method === "GET") continue;
      const path = fill(op.path, B);
      const res = await call(op.method, path, {
        token: B.viewer,
        headers: { "X-Dynamics-Token": "eyJ0eXAiOiJKV1QifQ.eyJ4IjoxfQ.c2ln" },
        ...(op.hasBody ? { body: BODIES[`${op.method.toLowerCase()} ${op.path}`] ?? {} } : {}),
      });
      if (res.status !== 403 || (await json(res)).error?.code !== "forbidden") problems.push(`${op.method} ${op.path} → ${res.status}`);
    }
    expect(problems).toEqual([]);
  });

  it("A's resources are unchanged and A still sees them all", async () => {
    const conn = await json(await call("GET", `/api/v1/connections/${A.connId}`, { token: A.admin }));
    expect(conn.name).toBe(A.secrets[2]);
    const job = await json(await call("GET", `/api/v1/jobs/${A.jobId}`, { token: A.admin }));
    expect(job.name).toBe(A.secrets[4]);
    const obj = await json(await call("GET", `/api/v1/objects/${A.objectName}`, { token: A.admin }));
    expect(obj.label).toBe(`Label ${A.objectName}`);
    expect((await call("GET", `/api/v1/runs/${A.runId}`, { token: A.viewer })).status).toBe(200);
    const activity = await json(await call("GET", "/api/v1/activity?limit=200", { token: A.admin }));
    // only A's own three creations: nothing B did was recorded against A
    expect(activity.items.map((i: any) => i.action).sort()).toEqual(["connection.create", "job.create", "object.create"]);
  });
});
