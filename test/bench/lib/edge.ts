/** Driving the edge API like a host would: host tokens (jose, HS256), a connection authorized with a sandbox token, runs. */
import { SignJWT } from "jose";
import type { Stack } from "../../../demo/stack";
import { JobInput } from "#contract/job";

export async function hostToken(secret: string, tenant: string, role: "admin" | "viewer" = "admin"): Promise<string> {
  return new SignJWT({ tenant, role, email: `bench@${tenant}.example` })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("bench-user")
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(secret));
}

export class EdgeClient {
  constructor(
    readonly base: string,
    readonly token: string,
  ) {}
  headers(): Record<string, string> {
    return { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" };
  }
  async req<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await fetch(`${this.base}/api/v1${path}`, { method, headers: this.headers(), body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path} → ${r.status}: ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : null) as T;
  }
}

export interface RunView {
  id: string;
  status: string;
  strategy?: string;
  startedAt: string | null;
  finishedAt: string | null;
  counts: Record<string, number>;
  progress?: { pages: number; rowsSeen: number };
  error: { code: string; message: string } | null;
  notes?: string[];
}

/** Sandbox delegated token for the contoso admin (test-only identity endpoint), as msal-browser would obtain. */
export async function delegatedToken(stack: Stack, orgUrl: string): Promise<string> {
  const r = await fetch(`${stack.sandbox.identity.httpUrl}/_sandbox/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ upn: "admin@contoso.example", audience: orgUrl }),
  });
  if (!r.ok) throw new Error(`/_sandbox/token → ${r.status}: ${await r.text()}`);
  return ((await r.json()) as { access_token: string }).access_token;
}

/** Creates and authorizes a connection to an org (default contoso); returns it and the company (accounts) job. */
export async function setUpConnection(
  stack: Stack,
  api: EdgeClient,
  orgKey = "contoso",
): Promise<{ connectionId: string; orgUrl: string; tenantId: string; companyJobId: string }> {
  const org = stack.sandbox.orgs.find((o) => o.key === orgKey);
  if (!org) throw new Error(`the sandbox has no org ${orgKey} (orgs: ${stack.sandbox.orgs.map((o) => o.key).join(", ")})`);
  const conn = await api.req<{ id: string }>("POST", "/connections", { name: `Bench ${orgKey}`, orgUrl: org.url });
  const accessToken = await delegatedToken(stack, org.url);
  const authorized = await api.req<{ status: string }>("POST", `/connections/${conn.id}/authorize`, { accessToken });
  if (authorized.status !== "connected" && authorized.status !== "ready" && authorized.status !== "authorized") {
    // Not fatal by itself (readiness may warn), but say so.
    console.warn(`  connection status after authorize: ${authorized.status}`);
  }
  const jobs = await api.req<Array<{ id: string; source: { entity: string }; target: { object: string } }>>("GET", "/jobs");
  const company = jobs.find((j) => j.source.entity === "account" && j.target.object === "Company");
  if (!company) throw new Error(`no Accounts → Companies job after authorize (jobs: ${jobs.map((j) => j.id).join(", ")})`);
  // Only the measured job may run: the out-of-the-box chain (People after Companies, …) would otherwise start when the
  // Companies run ends and compete for the same 2 cores with everything measured afterwards. Disable the others.
  const inputKeys = Object.keys(JobInput.shape);
  for (const j of jobs) {
    if (j.id === company.id) continue;
    const full = await api.req<Record<string, unknown>>("GET", `/jobs/${j.id}`);
    const body = Object.fromEntries(Object.entries(full).filter(([k]) => inputKeys.includes(k)));
    await api.req("PUT", `/jobs/${j.id}`, { ...body, enabled: false });
  }
  return { connectionId: conn.id, orgUrl: org.url, tenantId: org.tenantId, companyJobId: company.id };
}

/** POST run now and poll until the run ends. Wall time is measured here; the run's own startedAt/finishedAt too. */
export async function runJob(api: EdgeClient, jobId: string, pollMs = 250): Promise<{ run: RunView; wallMs: number; edgeMs: number }> {
  const t0 = performance.now();
  const { runId } = await api.req<{ runId: string }>("POST", `/jobs/${jobId}/runs`);
  for (;;) {
    await new Promise((r) => setTimeout(r, pollMs));
    const run = await api.req<RunView>("GET", `/runs/${runId}`);
    if (!["queued", "running"].includes(run.status)) {
      const wallMs = performance.now() - t0;
      const edgeMs = run.startedAt && run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : NaN;
      return { run, wallMs, edgeMs };
    }
  }
}
