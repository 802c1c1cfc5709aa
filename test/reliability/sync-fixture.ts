/** Driving a full sync through the edge API of a running stack, and reading the whole target table back. */
import { createHash } from "node:crypto";
import { Api, hostToken, type ReliabilityStack } from "./edge-process";

export const ACCOUNT_FIELDS = [
  { name: "DynamicsId", label: "Dynamics id", type: "id", required: true, unique: true },
  { name: "Name", label: "Name", type: "string" },
  { name: "Number", label: "Account number", type: "string" },
  { name: "Revenue", label: "Revenue", type: "currency" },
  { name: "Employees", label: "Employees", type: "integer" },
  { name: "City", label: "City", type: "string" },
  { name: "Industry", label: "Industry", type: "string" },
  { name: "CreditHold", label: "Credit hold", type: "boolean" },
  { name: "Modified", label: "Modified", type: "datetime" },
  { name: "ParentId", label: "Parent", type: "id" },
] as const;

export const ACCOUNT_MAPPINGS = [
  { source: "name", target: "Name", use: "value" },
  { source: "accountnumber", target: "Number", use: "value" },
  { source: "revenue", target: "Revenue", use: "value" },
  { source: "numberofemployees", target: "Employees", use: "value" },
  { source: "address1_city", target: "City", use: "value" },
  { source: "industrycode", target: "Industry", use: "label" },
  { source: "creditonhold", target: "CreditHold", use: "value" },
  { source: "modifiedon", target: "Modified", use: "value" },
  { source: "parentaccountid", target: "ParentId", use: "value" },
];

export interface RunView {
  id: string;
  status: string;
  strategy?: string;
  counts: { read: number; inserted: number; updated: number; deleted: number; skipped: number; failed: number };
  progress?: { pages: number; rowsSeen: number };
  error: { code: string; message: string } | null;
  notes?: string[];
  startedAt: string | null;
  finishedAt: string | null;
}

export interface SyncTenant {
  tenant: string;
  api: Api;
  connectionId: string;
  jobId: string;
  objectName: string;
  /** The delegated (user) Dynamics token the "widget" sent to /authorize: must never be persisted or logged. */
  delegatedToken: string;
}

/** Tenants set up so far; each new one takes contoso over from them (an org belongs to one host tenant). */
const holders: SyncTenant[] = [];

/**
 * A fresh host tenant: a connection to contoso authorized with a sandbox delegated token, an object and an accounts job.
 * The earlier tenants disconnect contoso first (their connections are deleted, their synced tables stay), as an org
 * moves from one host account to another: otherwise the authorize would answer 409 org_claimed.
 */
export async function setUpTenant(stack: ReliabilityStack, label: string): Promise<SyncTenant> {
  for (const prev of holders.splice(0)) await prev.api.req("DELETE", `/connections/${prev.connectionId}`);
  const tenant = `rel-${label}-${Date.now().toString(36)}`;
  const api = new Api(stack.edgeUrl, await hostToken(stack.secrets.HOST_JWT_SECRET, tenant));
  const org = stack.sandbox.orgs.find((o) => o.key === "contoso")!;
  const conn = await api.req("POST", "/connections", { name: `Contoso ${label}`, orgUrl: org.url });
  const tr = await fetch(`${stack.sandbox.identity.httpUrl}/_sandbox/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ upn: "admin@contoso.example", audience: org.url }),
  });
  const accessToken = ((await tr.json()) as { access_token: string }).access_token;
  const authorized = await api.req("POST", `/connections/${conn.id}/authorize`, { accessToken });
  if (authorized.status !== "authorized") throw new Error(`authorize: ${JSON.stringify(authorized).slice(0, 500)}`);
  const objectName = "RelAccount";
  await api.req("POST", "/objects", { name: objectName, label: "Accounts (reliability)", fields: ACCOUNT_FIELDS });
  const job = await api.req("POST", "/jobs", {
    connectionId: conn.id,
    name: `accounts ${label}`,
    source: { entity: "account", filter: null },
    target: { object: objectName },
    mode: "upsert",
    deletes: "soft",
    identifiers: [{ source: "accountid", target: "DynamicsId" }],
    mappings: ACCOUNT_MAPPINGS,
  });
  const t: SyncTenant = { tenant, api, connectionId: conn.id, jobId: job.id, objectName, delegatedToken: accessToken };
  holders.push(t);
  return t;
}

export async function startRun(t: SyncTenant): Promise<string> {
  return (await t.api.req<{ runId: string }>("POST", `/jobs/${t.jobId}/runs`)).runId;
}

/** Polls the run until it ends (or `timeoutMs`); `onPoll` sees every intermediate state. */
export async function waitForRun(t: SyncTenant, runId: string, timeoutMs: number, onPoll?: (r: RunView) => void | Promise<void>): Promise<RunView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let run: RunView | null = null;
    try {
      run = await t.api.req<RunView>("GET", `/runs/${runId}`);
    } catch {
      /* the edge may be restarting */
    }
    if (run) {
      if (onPoll) await onPoll(run);
      if (run.status !== "queued" && run.status !== "running") return run;
    }
    if (Date.now() > deadline) throw new Error(`run ${runId} did not end within ${timeoutMs} ms (last: ${JSON.stringify(run)})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface TableDigest {
  rows: number;
  distinctIds: number;
  live: number;
  /** sha256 over the rows ordered by DynamicsId, each row = its field values in field order (record ids excluded: they are random). */
  hash: string;
  /** a few rows to eyeball in failures */
  sample: unknown[];
}

/** Reads the whole target table through the records API (500 per page, includeDeleted) and digests it. */
export async function digestTable(t: SyncTenant): Promise<TableDigest> {
  const all: Array<{ fields: Record<string, unknown>; deleted: boolean }> = [];
  let cursor: string | null = null;
  do {
    const q: string = `limit=500&includeDeleted=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const page: { items: Array<{ fields: Record<string, unknown>; deleted: boolean }>; nextCursor: string | null } = await t.api.req(
      "GET",
      `/objects/${t.objectName}/records?${q}`,
    );
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  const names = ACCOUNT_FIELDS.map((f) => f.name);
  const lines = all.map((r) => JSON.stringify([...names.map((n) => r.fields[n] ?? null), r.deleted]));
  const ids = all.map((r) => String(r.fields.DynamicsId));
  const order = lines.map((l, i) => [ids[i]!, l] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const h = createHash("sha256");
  for (const [, l] of order) h.update(l).update("\n");
  return {
    rows: all.length,
    distinctIds: new Set(ids).size,
    live: all.filter((r) => !r.deleted).length,
    hash: h.digest("hex"),
    sample: order.slice(0, 2).map(([, l]) => JSON.parse(l)),
  };
}
