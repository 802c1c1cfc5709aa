import { readFileSync } from "node:fs";
import type { Locator } from "@playwright/test";
import { authorizeContoso, edgeApi, env, expect, expectNoAxeViolations as axe, holdSandboxPath, jobRow, openHost, test } from "./fixtures";

// A viewer (host token `role: "viewer"`, minted by the demo host for `?role=viewer` on the test stack only) reads
// everything an admin sees, without the actions the edge would refuse with 403.

const WRITE_ACTIONS = /^(Create connection|Authorize|Re-authorize|Rename|Delete|New job|Edit|Save|Run now|Cancel run|Add a field.*|Create object.*)$/;

async function expectNoWriteActions(w: Locator) {
  await expect(w.getByRole("button", { name: WRITE_ACTIONS })).toHaveCount(0);
  await expect(w.getByRole("switch")).toHaveCount(0);
}

/** As the admin: a connected contoso with one finished run of a job that has per-record errors. */
async function adminSetup(tenant: string): Promise<string> {
  const connectionId = await authorizeContoso(tenant);
  await edgeApi(tenant, "POST", "/objects", {
    name: "ErrorProbe",
    label: "Error probe",
    fields: [
      { name: "DynamicsId", label: "Dynamics id", type: "string", unique: true },
      { name: "Email", label: "Email", type: "email" },
    ],
  });
  const job = await edgeApi<{ id: string }>(tenant, "POST", "/jobs", {
    connectionId,
    name: "Accounts → Error probe",
    enabled: false,
    source: { entity: "account", filter: "statecode eq 0" },
    target: { object: "ErrorProbe" },
    identifiers: [{ source: "accountid", target: "DynamicsId" }],
    mappings: [{ source: "name", target: "Email" }],
  });
  const { runId } = await edgeApi<{ runId: string }>(tenant, "POST", `/jobs/${job.id}/runs`);
  await expect.poll(async () => (await edgeApi<{ status: string }>(tenant, "GET", `/runs/${runId}`)).status, { timeout: 60_000 }).toMatch(/partial|failed/);
  return connectionId;
}

test("a viewer reads connections, jobs, a job's configuration, runs and records without any write action", async ({ page, tenant }) => {
  await adminSetup(tenant);
  await openHost(page, tenant, "&role=viewer");
  const w = page.locator("dynamics-connector");

  // Connections: the card, no Create / Authorize / Rename / Delete, and why.
  const card = w.locator("dc-connection-card").filter({ hasText: "Contoso Production" });
  await expect(card.locator(".chip").first()).toHaveText("Authorized");
  await expect(w.getByRole("note").filter({ hasText: "Only admins can create or change connections." })).toBeVisible();
  await expectNoWriteActions(w);
  await axe(page);

  // The connection's page: its jobs with their last runs, read-only.
  await card.getByRole("button", { name: "Open" }).click();
  await expect(w.locator("dc-connection-card").getByRole("note")).toHaveText("Only admins can authorize, rename or delete connections.");
  const probe = jobRow(w, "Accounts → Error probe");
  await expect(probe.locator('td[data-label="Last run"] .chip')).toHaveText(/Partial success|Failed/);
  await expect(jobRow(w, "Accounts → Companies")).toContainText("Account → Company");
  await expect(probe.locator('td[data-label="Enabled"]')).toHaveText("Off");
  await expect(w.locator("dc-jobs-table").getByRole("note")).toHaveText("Only admins can create, change, run or delete jobs.");
  await expectNoWriteActions(w);
  await axe(page);

  // "View" shows the job's configuration, not the editor (whose chunk a viewer never loads).
  await probe.getByRole("button", { name: "View" }).click();
  const summary = w.locator("dc-job-summary");
  await expect(summary.getByRole("heading", { name: "Accounts → Error probe" })).toBeVisible();
  await expect(summary.getByRole("note")).toContainText("Only admins can change jobs.");
  await expect(summary).toContainText("statecode eq 0");
  await expect(summary.getByRole("table", { name: /Field mappings/ })).toContainText("name");
  await expect(summary.getByRole("table", { name: /Field mappings/ })).toContainText("Email");
  await expect(w.locator("dc-job-editor")).toHaveCount(0);
  await expectNoWriteActions(w);
  await axe(page);

  // Runs: history, detail, record errors and their CSV.
  await summary.getByRole("button", { name: "Runs" }).click();
  const detail = w.locator('dc-runs-view [part="run-detail"]');
  await expect(detail.locator(".chip").first()).toHaveText(/Partial success|Failed/);
  await expect(detail.getByRole("table", { name: /Record errors/ })).toContainText("not an email address");
  const downloadPromise = page.waitForEvent("download");
  await detail.getByRole("button", { name: "Download CSV" }).click();
  const lines = readFileSync((await (await downloadPromise).path())!, "utf8")
    .split(/\r?\n/)
    .filter(Boolean);
  expect(lines[0]).toBe("sourceId,field,value,reason");
  await expectNoWriteActions(w);
  await axe(page);

  // Records: the list (the error probe synced none, which it says).
  await w.locator("dc-runs-view").getByRole("button", { name: "View records" }).click();
  await expect(w.locator("dc-records-view").getByRole("heading", { name: /Error probe records/ })).toBeVisible();
  await expect(w.locator("dc-records-view")).toContainText("No records yet");
  await expectNoWriteActions(w);
});

test("a viewer sees an active run's progress but no Cancel run, and why", async ({ page, tenant }) => {
  await authorizeContoso(tenant);
  const jobs = await edgeApi<Array<{ id: string; name: string }>>(tenant, "GET", "/jobs");
  const users = jobs.find((j) => j.name === "Users → Users")!;
  // Hold the Users job's first page in the sandbox (20 s: the viewer's page loads inside it) so the viewer catches the run running.
  const release = await holdSandboxPath("contoso", "systemusers?$select=_businessunitid_value,", 20_000);
  try {
    await edgeApi(tenant, "POST", `/jobs/${users.id}/runs`);
    await openHost(page, tenant, "&role=viewer");
    const w = page.locator("dynamics-connector");
    await w.getByRole("button", { name: "Open" }).click();
    await jobRow(w, "Users → Users").getByRole("button", { name: "Runs" }).click();
    const detail = w.locator('dc-runs-view [part="run-detail"]');
    await expect(detail.locator(".chip").first()).toHaveText(/Queued|Running/);
    await expect(detail.locator('[part="run-progress"]')).toBeVisible();
    await expect(detail.getByRole("note")).toHaveText("Only admins can cancel a run.");
    await expectNoWriteActions(w);
    await axe(page);
    await expect(detail.locator(".chip").first()).toHaveText("Success", { timeout: 60_000 });
  } finally {
    await release();
  }
});

test("a viewer with no connection gets the empty state without Create connection", async ({ page, tenant }) => {
  await openHost(page, tenant, "&role=viewer");
  const w = page.locator("dynamics-connector");
  await expect(w.locator('[part="empty-state"]').getByRole("note")).toHaveText("There is no connection yet. Only admins can create connections.");
  await expectNoWriteActions(w);
  await axe(page);
});

test("the actions follow the role of a refreshed host token", async ({ page, tenant }) => {
  await authorizeContoso(tenant);
  await openHost(page, tenant, "&role=viewer");
  const w = page.locator("dynamics-connector");
  await expect(w.locator("dc-connection-card")).toBeVisible();
  await expectNoWriteActions(w);

  // The host's session becomes an admin's: its next token (host.js reads the URL on every call) says so. The edge
  // answers the cached viewer token with 401 once, as it would once that token expired; the widget asks for a new one.
  await page.evaluate(() => {
    const u = new URL(location.href);
    u.searchParams.delete("role");
    history.replaceState(null, "", u);
  });
  let refused = false;
  await page.route(`${env().edgeUrl}/api/v1/jobs?*`, async (route) => {
    if (refused || route.request().method() !== "GET") return route.fallback();
    refused = true;
    await route.fulfill({
      status: 401,
      headers: { "content-type": "application/json", "access-control-allow-origin": env().hostUrl },
      body: JSON.stringify({ error: { code: "unauthorized", message: "The host token has expired" } }),
    });
  });
  await w.getByRole("button", { name: "Open" }).click();
  await expect.poll(() => refused).toBe(true);
  await expect(jobRow(w, "Accounts → Companies").getByRole("button", { name: "Run now" })).toBeVisible();
  await expect(w.getByRole("button", { name: "New job" })).toBeVisible();
  await expect(w.locator("dc-connection-card").getByRole("button", { name: "Rename" })).toBeVisible();
  await expect(w.getByRole("note")).toHaveCount(0);
});
