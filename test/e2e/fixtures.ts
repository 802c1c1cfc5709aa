import { test as base, expect, type Locator, type Page } from "@playwright/test";
import { randomUUID } from "node:crypto";

export { expect };

export interface SandboxView {
  identity: { httpsUrl: string; httpUrl: string };
  orgs: Array<{ key: string; url: string; tenantId: string; organizationId: string; name: string }>;
  users: Array<{ upn: string; displayName: string; description: string }>;
}

export function env() {
  const hostUrl = process.env.E2E_HOST_URL;
  const edgeUrl = process.env.E2E_EDGE_URL;
  const sandbox = process.env.E2E_SANDBOX;
  if (!hostUrl || !edgeUrl || !sandbox) throw new Error("The e2e stack is not running (global setup did not run).");
  const sb = JSON.parse(sandbox) as SandboxView;
  const org = (key: string) => {
    const o = sb.orgs.find((x) => x.key === key);
    if (!o) throw new Error(`no sandbox org ${key}`);
    return o;
  };
  return { hostUrl, edgeUrl, sandbox: sb, org };
}

/** Each test gets its own host tenant: an empty world on the shared edge. */
export const test = base.extend<{ tenant: string; widget: Locator }>({
  tenant: async ({}, use) => {
    await use(`t-${randomUUID().slice(0, 12)}`);
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

/** Creates and authorizes a contoso connection as the admin; lands on the connection page with its jobs. */
export async function connectedContoso(page: Page, tenant: string, name = "Contoso Production"): Promise<Locator> {
  await openHost(page, tenant);
  const card = await createConnection(page, name, env().org("contoso").url);
  await authorize(page, card);
  const w = page.locator("dynamics-connector");
  await expect(w.locator("dc-connection-card").first().locator(".chip").first()).toHaveText("Authorized", { timeout: 30_000 });
  return w;
}

/**
 * Slows every sandbox request whose path contains `path` (e.g. a job's first page) until the returned release is
 * called. Every matching request, not just the next one: tests share the org, and another test's run (or a cron tick)
 * must not use up the hold this test relies on. Release removes only this test's fault.
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

/** Calls the edge as the host backend would (a host token for `tenant`), for setup the UI test is not about. */
export async function edgeApi<T>(tenant: string, method: string, path: string, body?: unknown): Promise<T> {
  const { SignJWT } = await import("jose");
  const token = await new SignJWT({ tenant, role: "admin", email: "tests@acme.example" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("e2e")
    .setExpirationTime("5m")
    .sign(new TextEncoder().encode(process.env.E2E_HOST_JWT_SECRET!));
  const res = await fetch(`${env().edgeUrl}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}
