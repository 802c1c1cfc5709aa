import { test as base, expect, type Locator, type Page } from "@playwright/test";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export { expect };

export interface SandboxView {
  identity: { httpsUrl: string; httpUrl: string };
  orgs: Array<{ key: string; url: string; tenantId: string; organizationId: string; name: string; copyOf?: string }>;
  users: Array<{ upn: string; displayName: string; description: string }>;
  /** source org key → its per-slot copies, slot i at index i (global-setup.ts) */
  slots: Record<string, string[]>;
}

/**
 * The Playwright parallel slot of the running test: `parallelIndex` is in [0, workers - 1], stable for a worker (a
 * worker restarted after a failure keeps it), and workers running at the same time never share it.
 */
function parallelSlot(): number {
  try {
    return test.info().parallelIndex;
  } catch {
    // outside a test or hook (e.g. a helper at module level of a worker): the worker's own index
    const i = Number(process.env.TEST_PARALLEL_INDEX);
    if (Number.isInteger(i) && i >= 0) return i;
    throw new Error("env().org() needs a Playwright worker: it picks the org of the test's parallel slot.");
  }
}

export function env() {
  const hostUrl = process.env.E2E_HOST_URL;
  const edgeUrl = process.env.E2E_EDGE_URL;
  const sandbox = process.env.E2E_SANDBOX;
  if (!hostUrl || !edgeUrl || !sandbox) throw new Error("The e2e stack is not running (global setup did not run).");
  const sb = JSON.parse(sandbox) as SandboxView;
  const byKey = (key: string) => {
    const o = sb.orgs.find((x) => x.key === key);
    if (!o) throw new Error(`no sandbox org ${key}`);
    return o;
  };
  /**
   * The org a test uses for `key`. "contoso" and "fabrikam" are slotted: each parallel slot gets its own copy
   * (`contoso-1` for slot 0, …; same records and GUIDs, its own OrganizationId and URL), so tests running at the same
   * time never share an org — an org belongs to one host tenant at a time. Any other key (a copy's own key) is that org.
   */
  const org = (key: string) => {
    const slots = sb.slots?.[key];
    if (!slots) return byKey(key);
    const slot = parallelSlot();
    const copy = slots[slot];
    if (!copy) throw new Error(`No ${key} org for parallel slot ${slot}: global setup started ${slots.length} (one per worker). Run with fewer workers.`);
    return byKey(copy);
  };
  return { hostUrl, edgeUrl, sandbox: sb, org };
}

/**
 * Each test gets its own host tenant: an empty world on the shared edge. After the test, every connection the tenant
 * still has is deleted (deleteTenantConnections), which releases its claim on the slot's org for the next test.
 */
export const test = base.extend<{ tenant: string; widget: Locator }>({
  // eslint-disable-next-line no-empty-pattern -- Playwright reads a fixture's dependencies from this destructuring
  tenant: async ({}, use) => {
    const tenant = `t-${randomUUID().slice(0, 12)}`;
    await use(tenant);
    await deleteTenantConnections(tenant);
  },
  widget: async ({ page }, use) => {
    await use(page.locator("dynamics-connector"));
  },
});

export async function openHost(page: Page, tenant: string, extra = ""): Promise<void> {
  await page.goto(`${env().hostUrl}/settings/integrations?tenant=${encodeURIComponent(tenant)}${extra}`);
  await expect(page.locator("dynamics-connector").getByText("Microsoft Dynamics 365", { exact: true })).toBeVisible();
}

/** Creates a connection through the form; returns its card. */
export async function createConnection(page: Page, name: string, orgUrl: string): Promise<Locator> {
  const w = page.locator("dynamics-connector");
  await w.getByRole("button", { name: "Create connection" }).first().click();
  const form = w.locator("dc-connection-form");
  await form.getByLabel("Name", { exact: true }).fill(name);
  await form.getByLabel("Environment URL").fill(orgUrl);
  await form.getByRole("button", { name: "Create connection" }).click();
  const card = w.locator("dc-connection-card").filter({ hasText: name }).first();
  await expect(card).toBeVisible();
  return card;
}

/** Drives the sandbox's Microsoft sign-in popup: pick the user, accept the consent. */
export async function signInPopup(popup: Page, upn: string, consent: "Accept" | "Cancel" = "Accept"): Promise<void> {
  await popup.getByRole("button", { name: `Sign in as ${upn}` }).click();
  await popup.getByRole("button", { name: consent }).click();
}

/** Authorize (or Re-authorize) from a card and finish the popup as `upn`. */
export async function authorize(page: Page, card: Locator, upn = "admin@contoso.example"): Promise<void> {
  const popupPromise = page.waitForEvent("popup");
  await card.getByRole("button", { name: /^(Re-)?[Aa]uthorize$/ }).click();
  const popup = await popupPromise;
  await signInPopup(popup, upn);
}

/** A delegated Dynamics access token for `upn` and the org at `orgUrl`, minted by the sandbox's test-only control API. */
export async function userToken(upn: string, orgUrl: string): Promise<string> {
  const res = await fetch(`${env().sandbox.identity.httpUrl}/_sandbox/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ upn, audience: orgUrl }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

/**
 * A contoso connection authorized by its admin, made through the edge API as if the admin had signed in earlier; its
 * id. For tests about what comes after the sign-in: the sign-in itself (the popup, PKCE, the readiness report it
 * brings) is driven by connectedContoso and the tests in connections.spec.ts.
 */
export async function authorizeContoso(tenant: string, name = "Contoso Production"): Promise<string> {
  const orgUrl = env().org("contoso").url;
  const conn = await edgeApi<{ id: string }>(tenant, "POST", "/connections", { name, orgUrl });
  await edgeApi(tenant, "POST", `/connections/${conn.id}/authorize`, { accessToken: await userToken("admin@contoso.example", orgUrl) });
  return conn.id;
}

/**
 * authorizeContoso, then the widget on the connection's page with its jobs. The browser holds no Dynamics token this
 * way, so views that call Dynamics with the admin's token (the job editor's tables and columns) need connectedContoso.
 */
export async function authorizedContoso(page: Page, tenant: string, name = "Contoso Production"): Promise<Locator> {
  await authorizeContoso(tenant, name);
  await openHost(page, tenant);
  const w = page.locator("dynamics-connector");
  await w.locator("dc-connection-card").filter({ hasText: name }).first().getByRole("button", { name: "Open" }).click();
  await expect(w.locator("dc-connection-card").first().locator(".chip").first()).toHaveText("Authorized");
  return w;
}

/** Creates a contoso connection in the widget and signs in through the Microsoft popup as the admin; lands on its page. */
export async function connectedContoso(page: Page, tenant: string, name = "Contoso Production"): Promise<Locator> {
  await openHost(page, tenant);
  const card = await createConnection(page, name, env().org("contoso").url);
  await authorize(page, card);
  const w = page.locator("dynamics-connector");
  await expect(w.locator("dc-connection-card").first().locator(".chip").first()).toHaveText("Authorized", { timeout: 30_000 });
  return w;
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/**
 * axe-core's violations inside `selector` (shadow roots included), one line each. axe runs in the page directly:
 * @axe-core/playwright's analyze() opens a blank page on every call to merge per-frame results, 4–6 s a pass here
 * against ~1 s, and the widget has no frames to merge.
 */
export async function axeViolations(page: Page, selector = "dynamics-connector"): Promise<string[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (include) => {
    type Result = { violations: Array<{ id: string; help: string; nodes: Array<{ target: unknown[] }> }> };
    const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<Result> } }).axe;
    const result = await axe.run({ include: [include] }, { resultTypes: ["violations"] });
    return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join("; ")})`);
  }, selector);
}

/** Fails the test with axe's findings when `selector` has any accessibility violation. */
export async function expectNoAxeViolations(page: Page, selector = "dynamics-connector"): Promise<void> {
  expect(await axeViolations(page, selector)).toEqual([]);
}

/**
 * Slows every sandbox request whose path contains `path` (e.g. a job's first page) until the returned release is
 * called. `orgKey` goes through env().org(), so it is the test's own slot org. Every matching request, not just the
 * next one: a run left over from the slot's previous test (or a cron tick) must not use up the hold this test relies
 * on. Release removes only this test's fault.
 */
export async function holdSandboxPath(orgKey: string, path: string, delayMs: number): Promise<() => Promise<void>> {
  const faults = `${env().org(orgKey).url}/_sandbox/faults`;
  const added = await fetch(faults, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ kind: "slow", delayMs, path }) });
  expect(added.status).toBe(201);
  const [id] = ((await added.json()) as { ids: number[] }).ids;
  return async () => {
    await fetch(`${faults}/${id}`, { method: "DELETE" });
  };
}

/** The jobs-table row of the job named exactly `name`. */
export function jobRow(widget: Locator, name: string): Locator {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return widget.locator("dc-jobs-table tbody tr").filter({ has: widget.page().locator(".name", { hasText: new RegExp(`^${escaped}$`) }) });
}

/** A host token for `tenant`, as the host backend would sign it. */
async function hostToken(tenant: string): Promise<string> {
  const { SignJWT } = await import("jose");
  return new SignJWT({ tenant, role: "admin", email: "tests@acme.example" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("e2e")
    .setExpirationTime("5m")
    .sign(new TextEncoder().encode(process.env.E2E_HOST_JWT_SECRET!));
}

/** One edge API call as `tenant`; the status and the raw body, whatever the status. */
/** Attempts of a setup write whose answer was lost (the widget's EdgeClient makes as many: decision 0003). */
const WRITE_ATTEMPTS = 3;

/**
 * One call as a host backend makes it. A write carries an `Idempotency-Key` and is sent again, with the same key,
 * when its answer is lost: `wrangler dev` answers 503 "worker restarted mid-request" or drops the connection when
 * its runtime reloads, and only reads are retried by it (docs/decisions/0003). The key makes the retry do the work once;
 * a retry that finds the first attempt still claimed (409 `idempotency_in_progress`) waits and asks again.
 */
async function edgeCall(tenant: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const write = method !== "GET" && method !== "HEAD";
  const headers: Record<string, string> = {
    authorization: `Bearer ${await hostToken(tenant)}`,
    ...(body ? { "content-type": "application/json" } : {}),
    ...(write ? { "idempotency-key": crypto.randomUUID() } : {}),
  };
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${env().edgeUrl}/api/v1${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      const lost = res.status === 503 || (res.status === 409 && text.includes("idempotency_in_progress"));
      if (!write || !lost || attempt >= WRITE_ATTEMPTS) return { status: res.status, text };
    } catch (e) {
      if (!write || attempt >= WRITE_ATTEMPTS) throw e;
    }
    await new Promise((r) => setTimeout(r, 250 * attempt));
  }
}

/** Calls the edge as the host backend would (a host token for `tenant`), for setup the UI test is not about. */
export async function edgeApi<T>(tenant: string, method: string, path: string, body?: unknown): Promise<T> {
  const { status, text } = await edgeCall(tenant, method, path, body);
  if (status < 200 || status > 299) throw new Error(`${method} ${path} → ${status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * Test teardown: deletes every connection of `tenant`, so the org it authorized is unclaimed for the next test of
 * the same parallel slot. When the edge refuses to delete a connection (409, e.g. while it has jobs), the tenant's jobs
 * are deleted first (dependents before the jobs they depend on) and the delete is tried again; 404s (already gone)
 * are fine. A few rounds, because a request the test left in flight (an authorize that was still running when the test
 * ended) can store its connection again after it was deleted. Anything left after that fails the test, loudly: a claim
 * left behind would fail the slot's next test in a confusing way.
 */
export async function deleteTenantConnections(tenant: string): Promise<void> {
  type Answer = { status: number; text: string };
  const fail = (what: string, r: Answer): never => {
    throw new Error(
      `e2e teardown of host tenant ${tenant}: ${what} → ${r.status} ${r.text.slice(0, 500)}. ` +
        "The tenant may keep its claim on the slot's sandbox org, and the next test in this parallel slot would then fail to authorize it.",
    );
  };
  let jobsDeleted = false;
  let refused: string | undefined;
  const ROUNDS = 4;
  for (let round = 0; ; round++) {
    if (round > 0) await new Promise((r) => setTimeout(r, 1000 * round));
    const list = await edgeCall(tenant, "GET", "/connections");
    if (list.status !== 200) fail("GET /connections", list);
    const ids = (JSON.parse(list.text) as Array<{ id: string }>).map((c) => c.id);
    if (!ids.length) return;
    if (round === ROUNDS)
      fail(
        `connections ${ids.join(", ")} still there after ${ROUNDS} rounds of deleting${refused ? ` (last refusal: ${refused})` : ""}; GET /connections`,
        list,
      );
    for (const id of ids) {
      const path = `/connections/${encodeURIComponent(id)}`;
      let del = await edgeCall(tenant, "DELETE", path);
      if (del.status === 409 && !jobsDeleted) {
        await deleteAllJobs(tenant, fail);
        jobsDeleted = true;
        del = await edgeCall(tenant, "DELETE", path);
      }
      if (del.status !== 404 && (del.status < 200 || del.status > 299)) refused = `DELETE ${path} → ${del.status} ${del.text.slice(0, 300)}`;
    }
  }
}

/** Deletes every job of the tenant, each after the jobs that depend on it (a dependency may cross connections). */
async function deleteAllJobs(tenant: string, fail: (what: string, r: { status: number; text: string }) => never): Promise<void> {
  const list = await edgeCall(tenant, "GET", "/jobs");
  if (list.status !== 200) fail("GET /jobs", list);
  let jobs = JSON.parse(list.text) as Array<{ id: string; dependsOn?: string | null }>;
  while (jobs.length) {
    const leaves = jobs.filter((j) => !jobs.some((other) => other.dependsOn === j.id));
    if (!leaves.length) fail(`jobs depend on each other in a cycle: ${jobs.map((j) => j.id).join(", ")}`, list);
    for (const j of leaves) {
      const del = await edgeCall(tenant, "DELETE", `/jobs/${encodeURIComponent(j.id)}`);
      if (del.status !== 404 && (del.status < 200 || del.status > 299)) fail(`DELETE /jobs/${j.id}`, del);
    }
    jobs = jobs.filter((j) => !leaves.includes(j));
  }
}
