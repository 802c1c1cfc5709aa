/**
 * Issue 6: the whole admin journey, as a new admin would do it, against the built widget bundle (dist/, what a host
 * ships) on the demo host page, the real edge (wrangler dev) and the sandbox. Each step leaves a screenshot in the
 * test's output folder (and in docs/screenshots/ with DOCS_SCREENSHOTS=1).
 */
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Page } from "@playwright/test";
import { createConnection, edgeApi, env, expect, jobRow, openHost, signInPopup, test } from "./fixtures";

const DOCS = fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));

async function shot(page: Page, name: string): Promise<void> {
  const path = test.info().outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await test.info().attach(name, { path, contentType: "image/png" });
  if (process.env.DOCS_SCREENSHOTS) {
    mkdirSync(DOCS, { recursive: true });
    await page.locator("dynamics-connector").screenshot({ path: `${DOCS}${name}.png` });
  }
}

test("the admin journey: connect, authorize, add a field mapped through the Customer lookup, preview, save, run, records, delta by cron", async ({
  page,
  tenant,
}) => {
  test.setTimeout(300_000);
  const w = page.locator("dynamics-connector");
  const contoso = env().org("contoso");

  // 1. Open the host page → empty state.
  await openHost(page, tenant);
  await expect(w.getByText("A connection links this product")).toBeVisible();
  await shot(page, "01-empty-state");

  // 2. A wrong environment URL gets a clear error as they type.
  await w.getByRole("button", { name: "Create connection" }).click();
  await w.getByLabel("Environment URL").fill("https://contoso.crm.dynamics.co");
  await w.getByLabel("Environment URL").blur();
  await expect(w.getByText(/This is not a Dynamics 365 address/)).toBeVisible();
  await w.getByLabel("Environment URL").fill("https://contoso.api.crm.dynamics.com/main.aspx?appid=1");
  await shot(page, "02-create-connection");
  await w.getByRole("button", { name: "Cancel" }).click();

  // 3. Create the real connection and authorize in the popup as the demo admin.
  const card = await createConnection(page, "Contoso Production", contoso.url);
  const popupPromise = page.waitForEvent("popup");
  await card.getByRole("button", { name: "Authorize" }).click();
  const popup = await popupPromise;
  await expect(w.getByText("Waiting for Microsoft sign-in…")).toBeVisible();
  await shot(page, "03-waiting-for-sign-in");
  await signInPopup(popup, "admin@contoso.example");

  // 4. Out-of-the-box jobs appear with the readiness report.
  await expect(w.locator("dc-connection-card .chip").first()).toHaveText("Authorized", { timeout: 30_000 });
  await expect(w.locator("dc-readiness-report")).toContainText("Signed in to Dynamics as admin@contoso.example");
  await expect(jobRow(w, "Contacts → People")).toBeVisible();
  await expect(jobRow(w, "Accounts → Companies").getByText(/Never|Success/)).toBeVisible();
  await shot(page, "04-authorized-readiness-and-jobs");

  // 5. Edit Contacts → People: Person has no field for the contact's company yet, so the admin adds "Company name"
  //    from the editor, suggested from the Customer lookup read through to the account's name — and mapped to it.
  await jobRow(w, "Contacts → People").getByRole("button", { name: "Edit" }).click();
  const editor = w.locator("dc-job-editor");
  await expect(editor.locator('[part="mapping-row"]').first()).toBeVisible({ timeout: 30_000 });
  await expect(editor.locator('[part="mapping-row"][data-target="CompanyName"]')).toHaveCount(0);
  await editor.getByRole("button", { name: "Add a field to Person" }).click();
  const dialog = editor.getByRole("dialog", { name: "Add a field to Person" });
  const from = dialog.getByRole("combobox", { name: "Column to fill it from" });
  await from.fill("parentcustomerid");
  await dialog.locator('[role="option"]', { hasText: "Company Name" }).first().click();
  await dialog.getByLabel(/Through lookup/).check();
  await expect(dialog.getByRole("combobox", { name: "Related table" })).toHaveValue("account");
  const viaColumn = dialog.getByRole("combobox", { name: "Column of Account" });
  await viaColumn.fill("Account Name");
  await dialog.locator('[role="option"]', { hasText: "Account Name" }).first().click();
  await expect(dialog.getByLabel("Label")).toHaveValue("Company name");
  await expect(dialog.getByLabel("Name", { exact: true })).toHaveValue("CompanyName");
  await expect(dialog.getByRole("combobox", { name: "Type" })).toHaveValue("string");
  await dialog.getByRole("button", { name: "Add field" }).click();
  await expect(dialog).toBeHidden();
  const person = await edgeApi<{ fields: Array<{ name: string; label: string; type: string }> }>(tenant, "GET", "/objects/Person");
  expect(person.fields).toContainEqual(expect.objectContaining({ name: "CompanyName", label: "Company name", type: "string" }));
  const row = editor.locator('[part="mapping-row"][data-target="CompanyName"]');
  await expect(row.getByRole("combobox", { name: "Column for Company name" })).toHaveValue("Company Name");
  await expect(row.getByLabel(/Through lookup/)).toBeChecked();
  await expect(row.getByRole("combobox", { name: "Column of Account" })).toHaveValue("Account Name");
  await shot(page, "05-editor-through-lookup");

  // 6. Preview the unsaved draft (POST /jobs/preview: mapped live, nothing stored), then save.
  await editor.getByRole("button", { name: /fetch 10 sample records/i }).click();
  const sample = editor.getByRole("region", { name: "Sample records" });
  await expect(sample).toBeVisible({ timeout: 30_000 });
  await expect(sample.locator("thead")).toContainText("Company name");
  await shot(page, "06-preview");
  const personJobId = await jobIdOf(tenant, "Contacts → People");
  type SavedJob = { mappings: Array<{ target: string; via?: { entity: string; attribute: string } }> };
  expect((await edgeApi<SavedJob>(tenant, "GET", `/jobs/${personJobId}`)).mappings.some((m) => m.target === "CompanyName")).toBe(false);
  await editor.getByRole("group", { name: "Save or discard" }).getByRole("button", { name: "Save" }).click();
  await expect(editor.getByText(/No unsaved changes/)).toBeVisible({ timeout: 15_000 });
  const saved = await edgeApi<SavedJob>(tenant, "GET", `/jobs/${personJobId}`);
  expect(saved.mappings.find((m) => m.target === "CompanyName")?.via).toEqual({ entity: "account", attribute: "name" });
  await editor.getByRole("button", { name: "Back to jobs" }).click();

  // 7. Run now → watch progress → Success with counts.
  await jobRow(w, "Contacts → People").getByRole("button", { name: "Run now" }).click();
  const runs = w.locator("dc-runs-view");
  const detail = runs.locator('[part="run-detail"]');
  const progress = runs.locator('[part="run-progress"]');
  if (await progress.isVisible().catch(() => false)) await shot(page, "07-run-progress");
  await expect(detail.locator(".chip").first()).toHaveText("Success", { timeout: 90_000 });
  const read = Number((await detail.locator("dl.counts div", { hasText: "Read" }).locator("dd").innerText()).replace(/\D/g, ""));
  const inserted = Number((await detail.locator("dl.counts div", { hasText: "Inserted" }).locator("dd").innerText()).replace(/\D/g, ""));
  expect(read).toBeGreaterThan(0);
  expect(inserted).toBeGreaterThan(0);
  await shot(page, "08-run-success");

  // 8. The records are listed with the looked-up values.
  await runs.getByRole("button", { name: "View records" }).click();
  const records = w.locator("dc-records-view");
  await expect(records.getByRole("columnheader", { name: "Company name" })).toBeVisible();
  const companyCol = await records.getByRole("columnheader").evaluateAll((ths) => ths.findIndex((th) => th.textContent?.trim() === "Company name"));
  const values = await records.locator("tbody tr").evaluateAll((trs, i) => trs.map((tr) => tr.children[i]?.textContent?.trim() ?? ""), companyCol);
  expect(values.filter((v) => v && v !== "—").length).toBeGreaterThan(0);
  await shot(page, "09-records");

  // 9. Change rows in the sandbox, trigger the cron, and see only the changes move.
  const personJob = await jobIdOf(tenant, "Contacts → People");
  const job = await edgeApi<Record<string, unknown>>(tenant, "GET", `/jobs/${personJob}`);
  const { id: _i, createdAt: _c, updatedAt: _u, builtIn: _b, warnings: _w, lastRun: _l, ...input } = job;
  await edgeApi(tenant, "PUT", `/jobs/${personJob}`, { ...input, schedule: { cron: "* * * * *", timezone: "UTC" }, dependsOn: null });
  const page1 = await edgeApi<{ items: Array<{ fields: Record<string, unknown> }> }>(tenant, "GET", "/objects/Person/records?limit=2");
  const ids = page1.items.map((r) => String(r.fields.DynamicsId));
  for (const id of ids) {
    const res = await fetch(`${contoso.url}/_sandbox/rows/contact/${id}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jobtitle: `Changed ${Date.now()}` }),
    });
    expect(res.ok).toBe(true);
  }
  // The job's next tick is the next minute boundary after the save: wait for it, then fire the cron trigger.
  // (wrangler's /__scheduled runs the handler at the current time; it takes no scheduledTime.)
  await page.waitForTimeout(60_000 - (Date.now() % 60_000) + 1500);
  const cron = await fetch(`${env().edgeUrl}/__scheduled?cron=${encodeURIComponent("* * * * *")}`);
  expect(cron.ok).toBe(true);
  await expect
    .poll(
      async () => {
        const list = await edgeApi<Array<{ trigger: string; status: string; counts: { read: number; updated: number } }>>(
          tenant,
          "GET",
          `/jobs/${personJob}/runs?limit=5`,
        );
        const sched = list.find((r) => r.trigger === "schedule");
        return sched && !["queued", "running"].includes(sched.status) ? sched : null;
      },
      { timeout: 90_000 },
    )
    .toMatchObject({ status: "succeeded" });
  const all = await edgeApi<Array<{ trigger: string; counts: { read: number; updated: number } }>>(tenant, "GET", `/jobs/${personJob}/runs?limit=5`);
  const delta = all.find((r) => r.trigger === "schedule")!;
  expect(delta.counts.read).toBeGreaterThanOrEqual(ids.length);
  expect(delta.counts.read).toBeLessThan(read);
  await w.getByRole("navigation", { name: "Breadcrumb" }).getByRole("button", { name: "Runs" }).click();
  await expect(runs.locator("tbody tr").first()).toContainText("Schedule");
  await shot(page, "10-delta-run");

  // 10. A user without read privilege gets a readiness message that names the missing privilege.
  await w.getByRole("navigation", { name: "Breadcrumb" }).getByRole("button", { name: "Connections" }).click();
  const limited = await createConnection(page, "Contoso (limited user)", contoso.url);
  const popup2Promise = page.waitForEvent("popup");
  await limited.getByRole("button", { name: "Authorize" }).click();
  await signInPopup(await popup2Promise, "limited@contoso.example");
  await expect(w.locator("dc-readiness-report")).toContainText(/prvReadContact/, { timeout: 30_000 });
  await shot(page, "11-readiness-missing-privilege");
});

async function jobIdOf(tenant: string, name: string): Promise<string> {
  const jobs = await edgeApi<Array<{ id: string; name: string }>>(tenant, "GET", "/jobs");
  const j = jobs.find((x) => x.name === name);
  if (!j) throw new Error(`no job ${name}`);
  return j.id;
}
