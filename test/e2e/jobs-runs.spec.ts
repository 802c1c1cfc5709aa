import { readFileSync } from "node:fs";
import { authorizedContoso, edgeApi, expect, holdSandboxPath, jobRow, test } from "./fixtures";

test("lists the jobs with source → target display names, schedule in words and chain order", async ({ page, tenant }) => {
  const w = await authorizedContoso(page, tenant);
  const company = jobRow(w, "Accounts → Companies");
  await expect(company).toContainText("Account → Company");
  // cronstrue, loaded lazily by the jobs view, turns the cron into words with the time zone.
  await expect(company.locator('td[data-label="Schedule"]')).toContainText(/^(At|Every).+\(.+\)$/);
  await expect(jobRow(w, "Contacts → People").locator(".step")).toContainText("2");
});

test("the enabled toggle saves the job and survives a reload", async ({ page, tenant }) => {
  const w = await authorizedContoso(page, tenant);
  const row = jobRow(w, "Users → Users");
  const toggle = row.getByRole("switch");
  const before = await toggle.isChecked();
  const saved = page.evaluate(
    () =>
      new Promise<boolean>((ok) =>
        document.querySelector("dynamics-connector")!.addEventListener("dc-job-saved", (e) => ok((e as CustomEvent).detail.job.enabled), { once: true }),
      ),
  );
  await toggle.click();
  expect(await saved).toBe(!before);
  await page.reload();
  await w.getByRole("button", { name: "Open" }).click();
  await expect(jobRow(w, "Users → Users").getByRole("switch")).toBeChecked({ checked: !before });
});

test("Run now shows live progress, then Success with counts and the history chart", async ({ page, tenant }) => {
  const w = await authorizedContoso(page, tenant);
  const started = page.evaluate(
    () =>
      new Promise<string>((ok) =>
        document.querySelector("dynamics-connector")!.addEventListener("dc-run-started", (e) => ok((e as CustomEvent).detail.runId), { once: true }),
      ),
  );
  const finished = page.evaluate(
    () =>
      new Promise<{ status: string; read: number }>((ok) =>
        document
          .querySelector("dynamics-connector")!
          .addEventListener("dc-run-finished", (e) => ok({ status: (e as CustomEvent).detail.run.status, read: (e as CustomEvent).detail.run.counts.read }), {
            once: true,
          }),
      ),
  );
  await jobRow(w, "Accounts → Companies").getByRole("button", { name: "Run now" }).click();
  expect(await started).toBeTruthy();
  const runs = w.locator("dc-runs-view");
  await expect(runs.getByRole("heading", { name: "Runs of “Accounts → Companies”" })).toBeVisible();
  const result = await finished;
  expect(["succeeded", "partial"]).toContain(result.status);
  expect(result.read).toBeGreaterThan(0);
  const detail = runs.locator('[part="run-detail"]');
  await expect(detail.locator(".chip").first()).toHaveText(/Success|Partial success/);
  await expect(detail.locator("dl.counts")).toContainText("Read");
  await expect(detail.locator("dl.counts div", { hasText: "Read" }).locator("dd")).not.toHaveText("0");
  await expect(runs.getByRole("img", { name: /Last 1 runs: 1 (success|partial success)/ })).toBeVisible();
  await expect(w.getByRole("navigation", { name: "Breadcrumb" })).toContainText("Contoso Production");
});

test("a running run shows rows of the total and can be cancelled after a confirm step; the next run picks up", async ({ page, tenant }) => {
  const w = await authorizedContoso(page, tenant);
  // Hold the Users job's first page in the sandbox so the run is caught running. The path is the sync read's own
  // ($select sorted, the BusinessUnit lookup first); the readiness probe of parallel tests reads `systemusers?$select=systemuserid&$top=1`.
  const release = await holdSandboxPath("contoso", "systemusers?$select=_businessunitid_value,", 8000);
  try {
    const finished = page.evaluate(
      () =>
        new Promise<{ status: string; code?: string }>((ok) =>
          document
            .querySelector("dynamics-connector")!
            .addEventListener("dc-run-finished", (e) => ok({ status: (e as CustomEvent).detail.run.status, code: (e as CustomEvent).detail.run.error?.code }), {
              once: true,
            }),
        ),
    );
    await jobRow(w, "Users → Users").getByRole("button", { name: "Run now" }).click();
    const detail = w.locator('dc-runs-view [part="run-detail"]');
    const progress = detail.locator('[part="run-progress"]');
    // Determinate: the full read's row count came from RetrieveTotalRecordCount (40 users in the sandbox).
    await expect(progress).toContainText(/(^|\s)0 of 40 rows/);
    const bar = progress.getByRole("progressbar", { name: "Run progress" });
    await expect(bar).toHaveAttribute("aria-valuemax", "40");
    await expect(bar).toHaveAttribute("aria-valuenow", "0");

    // Cancel asks first; "Keep running" changes nothing.
    await detail.getByRole("button", { name: "Cancel run" }).click();
    const dialog = w.getByRole("dialog", { name: "Cancel this run?" });
    await expect(dialog).toBeVisible();
    await expect(dialog.getByRole("button", { name: "Keep running" })).toBeFocused();
    await dialog.getByRole("button", { name: "Keep running" }).click();
    await expect(dialog).toBeHidden();
    await expect(detail.locator(".chip").first()).toHaveText("Running");

    await detail.getByRole("button", { name: "Cancel run" }).click();
    await dialog.getByRole("button", { name: "Cancel run" }).click();
    expect(await finished).toEqual({ status: "failed", code: "cancelled" });
    await expect(detail.locator(".chip").first()).toHaveText("Cancelled");
    await expect(detail.getByRole("status").filter({ hasText: "The run was cancelled." })).toContainText("Cancelled by olivia.ops@acme.example");
    await expect(detail.getByRole("button", { name: "Cancel run" })).toHaveCount(0);
    await expect(w.locator("dc-runs-view tbody tr").first().locator(".chip")).toHaveText("Cancelled");
  } finally {
    await release();
  }

  // The next run starts at once and ends normally (the cancelled run's page in flight was discarded).
  await page.reload();
  await w.getByRole("button", { name: "Open" }).click();
  await expect(jobRow(w, "Users → Users").locator('td[data-label="Last run"] .chip')).toHaveText("Cancelled", { timeout: 30_000 });
  await jobRow(w, "Users → Users").getByRole("button", { name: "Run now" }).click();
  const detail = w.locator('dc-runs-view [part="run-detail"]');
  await expect(detail.locator(".chip").first()).toHaveText("Success", { timeout: 60_000 });
  await expect(detail.locator("dl.counts div", { hasText: "Read" }).locator("dd")).toHaveText("40");
});

test("per-record errors are listed and download as CSV", async ({ page, tenant }) => {
  const w = await authorizedContoso(page, tenant);
  const conn = (await edgeApi<Array<{ id: string }>>(tenant, "GET", "/connections"))[0]!;
  // A job whose values can't convert (account names are not email addresses): every record is a per-record error.
  await edgeApi(tenant, "POST", "/objects", {
    name: "ErrorProbe",
    label: "Error probe",
    fields: [
      { name: "DynamicsId", label: "Dynamics id", type: "string", unique: true },
      { name: "Email", label: "Email", type: "email" },
    ],
  });
  await edgeApi(tenant, "POST", "/jobs", {
    connectionId: conn.id,
    name: "Accounts → Error probe",
    enabled: false,
    source: { entity: "account", filter: null },
    target: { object: "ErrorProbe" },
    identifiers: [{ source: "accountid", target: "DynamicsId" }],
    mappings: [{ source: "name", target: "Email" }],
  });
  await page.reload();
  await w.getByRole("button", { name: "Open" }).click();
  await jobRow(w, "Accounts → Error probe").getByRole("button", { name: "Run now" }).click();
  const detail = w.locator('dc-runs-view [part="run-detail"]');
  await expect(detail.locator(".chip").first()).toHaveText(/Partial success|Failed/, { timeout: 60_000 });
  await expect(detail.getByRole("table", { name: /Record errors/ })).toContainText("not an email address");
  const downloadPromise = page.waitForEvent("download");
  await detail.getByRole("button", { name: "Download CSV" }).click();
  const download = await downloadPromise;
  expect(download.suggestedFilename()).toMatch(/\.csv$/);
  const lines = readFileSync((await download.path())!, "utf8")
    .split(/\r?\n/)
    .filter(Boolean);
  expect(lines[0]).toBe("sourceId,field,value,reason");
  expect(lines.length).toBeGreaterThan(1);
  expect(lines[1]).toContain("not an email address");
});
