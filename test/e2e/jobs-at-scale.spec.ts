/**
 * The jobs view at a customer's real size: 200 jobs on one connection. The view's API requests do not grow with the
 * number of jobs (each job carries its last run), and the rows can be searched, filtered and paged.
 */
import type { Page, Request } from "@playwright/test";
import { edgeApi, env, expect, expectNoAxeViolations, jobRow, openHost, test } from "./fixtures";

const JOBS = 200;

/** The connection "Scale" (never authorized: nothing here needs Dynamics) with `JOBS` disabled jobs, made through the API. */
async function connectionWithJobs(tenant: string): Promise<{ connectionId: string; jobIds: string[] }> {
  const conn = await edgeApi<{ id: string }>(tenant, "POST", "/connections", { name: "Scale", orgUrl: env().org("contoso").url });
  await edgeApi(tenant, "GET", "/objects"); // the tenant's standard objects (Company) exist from its first read
  const jobIds: string[] = new Array(JOBS);
  let next = 0;
  // A few at a time: the edge validates each job against the tenant's objects.
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < JOBS; i = next++) {
        const job = await edgeApi<{ id: string }>(tenant, "POST", "/jobs", {
          connectionId: conn.id,
          name: `Job ${String(i).padStart(3, "0")}`,
          enabled: false,
          source: { entity: i % 2 ? "contact" : "account" },
          target: { object: "Company" },
          identifiers: [{ source: i % 2 ? "contactid" : "accountid", target: "DynamicsId" }],
          mappings: [{ source: i % 2 ? "fullname" : "name", target: "Name" }],
        });
        jobIds[i] = job.id;
      }
    }),
  );
  return { connectionId: conn.id, jobIds };
}

/** Every edge API request the page sends from now on. */
function recordApiRequests(page: Page): string[] {
  const seen: string[] = [];
  const apiPath = `${new URL(env().edgeUrl).host}/api/v1/`;
  page.on("request", (r: Request) => {
    if (r.url().includes(apiPath) && r.method() !== "OPTIONS") seen.push(`${r.method()} ${new URL(r.url()).pathname}${new URL(r.url()).search}`);
  });
  return seen;
}

test("the jobs view of 200 jobs sends a handful of API requests, not one per job, and shows each job's last run", async ({ page, tenant }) => {
  test.setTimeout(300_000);
  const { jobIds } = await connectionWithJobs(tenant);
  // Three jobs have run (and failed: the connection is not authorized): the table shows that without asking for runs.
  const ran = [jobIds[0]!, jobIds[1]!, jobIds[2]!];
  for (const id of ran) await edgeApi(tenant, "POST", `/jobs/${id}/runs`);
  await expect
    .poll(
      async () =>
        (await Promise.all(ran.map((id) => edgeApi<{ lastRun: { status: string } | null }>(tenant, "GET", `/jobs/${id}`)))).map((j) => j.lastRun?.status),
      {
        timeout: 60_000,
      },
    )
    .toEqual(["failed", "failed", "failed"]);

  const requests = recordApiRequests(page);
  await openHost(page, tenant);
  const w = page.locator("dynamics-connector");
  await w.getByRole("button", { name: "Open" }).click();
  const table = w.locator("dc-jobs-table");
  await expect(jobRow(w, "Job 000")).toBeVisible();
  await page.waitForLoadState("networkidle");

  expect(
    requests.filter((r) => r.includes("/runs")),
    requests.join("\n"),
  ).toEqual([]);
  expect(requests.length, requests.join("\n")).toBeLessThanOrEqual(3);
  await expect(table.locator(".count[role=status]")).toHaveText("Jobs 1–50 of 200");
  await expect(jobRow(w, "Job 000").locator('td[data-label="Last run"]')).toContainText("Failed");
  await expect(jobRow(w, "Job 003").locator('td[data-label="Last run"]')).toContainText("Never");
  // Only a page of rows is in the DOM, whatever the number of jobs.
  await expect(table.locator("tbody tr")).toHaveCount(50);
});

test("the jobs table searches by name, Dynamics table or target, filters by last run, and pages by keyboard", async ({ page, tenant }) => {
  test.setTimeout(300_000);
  const { jobIds } = await connectionWithJobs(tenant);
  await edgeApi(tenant, "POST", `/jobs/${jobIds[7]}/runs`);
  await expect
    .poll(async () => (await edgeApi<{ lastRun: { status: string } | null }>(tenant, "GET", `/jobs/${jobIds[7]}`)).lastRun?.status, { timeout: 60_000 })
    .toBe("failed");

  await openHost(page, tenant);
  const w = page.locator("dynamics-connector");
  await w.getByRole("button", { name: "Open" }).click();
  const table = w.locator("dc-jobs-table");
  const status = table.locator(".count[role=status]");
  await expect(status).toHaveText("Jobs 1–50 of 200");
  await expectNoAxeViolations(page);

  // Pages: by keyboard, focus stays on the pager.
  const next = table.getByRole("button", { name: "Next page" });
  await next.focus();
  await page.keyboard.press("Enter");
  await expect(status).toHaveText("Jobs 51–100 of 200");
  await expect(jobRow(w, "Job 050")).toBeVisible();
  await expect(jobRow(w, "Job 000")).toHaveCount(0);
  await expect(next).toBeFocused();
  await expect(table.getByText("Page 2 of 4")).toBeVisible();
  await page.keyboard.press("Shift+Tab"); // Previous page
  await page.keyboard.press("Enter");
  await expect(status).toHaveText("Jobs 1–50 of 200");

  // Search by name: back to the first page of what matches.
  const search = table.getByRole("searchbox", { name: "Search jobs" });
  await search.fill("job 19");
  await expect(status).toHaveText("10 jobs (of 200)");
  await expect(table.locator("tbody tr")).toHaveCount(10);
  await expect(jobRow(w, "Job 190")).toBeVisible();
  await expect(table.getByRole("navigation", { name: "Job pages" })).toHaveCount(0);

  // By Dynamics table: the odd jobs read contacts ("Contact" is the table's display name).
  await search.fill("contact");
  await expect(status).toHaveText("Jobs 1–50 of 100 (of 200)");
  await expect(jobRow(w, "Job 001")).toBeVisible();
  await expect(jobRow(w, "Job 000")).toHaveCount(0);

  // By last run, together with the search.
  await search.fill("");
  await table.getByRole("combobox", { name: "Last run" }).selectOption({ label: "Failed" });
  await expect(status).toHaveText("1 job (of 200)");
  await expect(jobRow(w, "Job 007").locator('td[data-label="Last run"]')).toContainText("Failed");
  await table.getByRole("combobox", { name: "Last run" }).selectOption({ label: "Never run" });
  await expect(status).toHaveText("Jobs 1–50 of 199 (of 200)");
  await search.fill("job 007");
  await expect(status).toHaveText("No jobs match (of 200)");
  await expect(table.locator("tbody tr")).toHaveCount(0);
  await expect(table.getByText("No job matches the search and the last-run filter.")).toBeVisible();
  await expectNoAxeViolations(page);

  // A phone-wide host: the search, the filter and the pager wrap instead of scrolling the page sideways.
  await search.fill("");
  await table.getByRole("combobox", { name: "Last run" }).selectOption({ label: "Any last run" });
  await page.setViewportSize({ width: 360, height: 740 });
  await expect(table.getByRole("button", { name: "Next page" })).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
});
