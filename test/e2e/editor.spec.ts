/**
 * The job editor in Chromium. Two setups:
 * - "harness": <dc-job-editor> alone (test/e2e/editor-harness/) against an in-page fake of the edge that serves
 *   Microsoft's published schema and 800+ tables — every editor behaviour, deterministic and fast.
 * - "stack": the real widget, edge and Dataverse sandbox started by global-setup — the editor end to end.
 */
import { fileURLToPath } from "node:url";
import type { Locator, Page } from "@playwright/test";
import { createServer, type ViteDevServer } from "vite";
import { expect, expectNoAxeViolations, connectedContoso, test } from "./fixtures";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface FakeState {
  requests: Array<{ method: string; path: string; body?: unknown; dynamicsToken?: string }>;
  failNextSave: Array<{ path: string; message: string }> | null;
  failNextSaveAs?: { status: number; code: "quota_exceeded"; message: string } | null;
  failNextPreview: Array<{ path: string; message: string }> | null;
  events: Array<{ type: string; detail: unknown }>;
}

const fake = (page: Page) => page.evaluate(() => (window as unknown as { __fake: FakeState }).__fake);

test.describe("harness", () => {
  let server: ViteDevServer;
  let base = "";

  test.beforeAll(async () => {
    server = await createServer({
      root: ROOT,
      configFile: false,
      logLevel: "silent",
      server: { host: "127.0.0.1", port: 0, hmr: false, watch: null },
      // cronstrue ships UMD: pre-bundle it (and only what we name) so no mid-test dependency reload happens.
      optimizeDeps: {
        noDiscovery: true,
        include: [
          "cronstrue",
          "croner",
          "idb",
          "lit",
          "lit/decorators.js",
          "lit/directives/live.js",
          "lit/directives/style-map.js",
          "@lit-labs/virtualizer/virtualize.js",
        ],
      },
    });
    await server.listen();
    const addr = server.httpServer!.address();
    base = typeof addr === "object" && addr ? `http://127.0.0.1:${addr.port}` : "";
  });

  test.afterAll(async () => {
    await server?.close();
  });

  async function open(page: Page, query = ""): Promise<Locator> {
    await page.goto(`${base}/test/e2e/editor-harness/index.html${query}`);
    const editor = page.locator("dc-job-editor");
    await expect(editor.getByRole("combobox", { name: "Dynamics table" })).toBeEnabled({ timeout: 30_000 });
    return editor;
  }

  async function pick(combo: Locator, text: string, option: string | RegExp) {
    await combo.fill(text);
    await combo.page().locator("dc-job-editor").getByRole("option", { name: option }).first().click();
  }

  async function chooseSourceAndTarget(editor: Locator, entity = "Contact", object = "Person") {
    await pick(editor.getByRole("combobox", { name: "Dynamics table" }), entity.toLowerCase(), new RegExp(`^${entity}\\b`));
    await pick(editor.getByRole("combobox", { name: "Target object" }), object, new RegExp(`^${object}`));
    await expect(editor.getByRole("list", { name: "Field mappings" })).toBeVisible();
  }

  test("searches 800+ tables on display and logical name, virtualised, and picks with the keyboard", async ({ page }) => {
    const editor = await open(page);
    const combo = editor.getByRole("combobox", { name: "Dynamics table" });
    await expect(combo).toHaveAttribute("placeholder", /Search 8\d\d tables/);
    await combo.focus();
    await combo.press("ArrowDown");
    await expect(combo).toHaveAttribute("aria-expanded", "true");
    const listbox = editor.getByRole("listbox", { name: "Dynamics table" });
    await expect(listbox.getByRole("option").first()).toBeVisible();
    // Virtualised: a few dozen option elements for 800+ tables.
    expect(await listbox.getByRole("option").count()).toBeLessThan(60);
    await expect(listbox.getByRole("option").first()).toHaveAttribute("aria-setsize", /^8\d\d$/);

    await combo.fill("cont");
    const first = listbox.getByRole("option").first();
    await expect(first).toContainText("Contact");
    await expect(first).toContainText("contact"); // logical name in grey
    await expect(first).toHaveAttribute("aria-selected", "true");
    await expect(combo).toHaveAttribute("aria-activedescendant", "opt-0");
    await combo.press("ArrowDown");
    await expect(combo).toHaveAttribute("aria-activedescendant", "opt-1");
    await combo.press("End");
    const last = Number(await listbox.getByRole("option").last().getAttribute("aria-setsize")) - 1;
    await expect(combo).toHaveAttribute("aria-activedescendant", `opt-${last}`);
    await expect(listbox.locator(`#opt-${last}`)).toBeVisible();
    await combo.press("Home");
    await expect(combo).toHaveAttribute("aria-activedescendant", "opt-0");
    await combo.press("Enter");
    await expect(combo).toHaveAttribute("aria-expanded", "false");
    await expect(combo).toHaveValue("Contact");

    // Logical-name search and the badges.
    await combo.fill("cr123_custom12");
    await expect(listbox.getByRole("option").first()).toContainText("Custom table 12");
    await expect(listbox.getByRole("option").first()).toContainText("Custom");
    await expect(listbox.getByRole("option").first()).toContainText("Change tracking");
    await combo.press("Escape");
    await expect(combo).toHaveAttribute("aria-expanded", "false");
    await expect(combo).toHaveValue("Contact");
  });

  test("lists required target fields first and hides columns of the wrong type behind Show all", async ({ page }) => {
    const editor = await open(page);
    await chooseSourceAndTarget(editor);
    const rows = editor.getByRole("listitem");
    await expect(rows.nth(0)).toContainText("Dynamics ID");
    await expect(rows.nth(0)).toContainText("Required");
    await expect(rows.nth(1)).toContainText("Last name");
    const birthday = editor.getByRole("combobox", { name: "Column for Birthday" });
    await birthday.fill("");
    await birthday.press("ArrowDown");
    const list = editor.getByRole("listbox", { name: "Column for Birthday" });
    await birthday.fill("first name");
    await expect(list.getByRole("option", { name: /First Name/ })).toHaveCount(0);
    const showAll = list.getByRole("option", { name: /Show all columns/ });
    await expect(showAll).toBeVisible();
    await showAll.click();
    await expect(list.getByRole("option", { name: /First Name/ }).first()).toContainText("does not fit Date");
    await birthday.fill("birth");
    await list
      .getByRole("option", { name: /Birthday/ })
      .first()
      .click();
    await expect(birthday).toHaveValue("Birthday");
  });

  test("Auto-map fills by name and type and marks its guesses for review", async ({ page }) => {
    const editor = await open(page);
    await chooseSourceAndTarget(editor);
    await editor.getByRole("button", { name: "Auto-map" }).click();
    await expect(editor.getByRole("combobox", { name: "Column for Dynamics ID" })).toHaveValue("Contact");
    await expect(editor.getByRole("combobox", { name: "Column for Last name" })).toHaveValue("Last Name");
    await expect(editor.getByRole("combobox", { name: "Column for Email" })).toHaveValue("Email");
    await expect(editor.getByText(/\d+ to review/)).toBeVisible();
    const row = editor.locator('[data-target="LastName"]');
    await expect(row.getByText("Review", { exact: true })).toBeVisible();
    await row.getByRole("button", { name: "Accept the guess for Last name" }).click();
    await expect(row.getByText("Review", { exact: true })).toHaveCount(0);
    await editor.getByRole("button", { name: "Accept all guesses" }).click();
    await expect(editor.getByText(/\d+ to review/)).toHaveCount(0);
  });

  test("a Customer column maps through lookup: Account or Contact, then its column", async ({ page }) => {
    const editor = await open(page);
    await chooseSourceAndTarget(editor);
    const combo = editor.getByRole("combobox", { name: "Column for Company name" });
    await pick(combo, "company name", /Company Name/);
    const row = editor.locator('[data-target="CompanyName"]');
    // A lookup read directly offers its record id or its name.
    await expect(row.getByRole("radio", { name: "Name" })).toBeChecked();
    await row.getByRole("checkbox", { name: /Through lookup/ }).check();
    const table = row.getByRole("combobox", { name: /Related table/ });
    await expect(table).toHaveValue("account");
    await table.selectOption("contact");
    const before = (await fake(page)).requests.length;
    const viaCol = row.getByRole("combobox", { name: "Column of Contact" });
    await pick(viaCol, "full name", /Full Name/);
    await expect(viaCol).toHaveValue("Full Name");
    const reqs = (await fake(page)).requests;
    expect(reqs.some((r) => r.path.endsWith("/entities/contact/attributes"))).toBe(true);
    expect(before).toBeGreaterThan(0);

    // Option sets choose Value or Label.
    await pick(editor.getByRole("combobox", { name: "Column for First name" }), "preferred method", /Preferred Method of Contact/);
    const first = editor.locator('[data-target="FirstName"]');
    await expect(first.getByRole("radio", { name: "Label" })).toBeChecked();
    await expect(first.getByRole("radio", { name: "Value" })).toBeEnabled();
  });

  test("the filter builder writes the OData text; hand-written text stays editable", async ({ page }) => {
    const editor = await open(page);
    await chooseSourceAndTarget(editor, "Account", "Company");
    await editor.getByRole("button", { name: "Add condition" }).click();
    await pick(editor.getByRole("combobox", { name: "Condition 1: column" }), "status", /^Status\b/);
    await editor.getByLabel("Condition 1: value").selectOption({ label: "Active" });
    await editor.getByRole("button", { name: "Add condition" }).click();
    await pick(editor.getByRole("combobox", { name: "Condition 2: column" }), "account name", /Account Name/);
    await editor.getByLabel("Condition 2: operator").selectOption("startswith");
    await editor.getByLabel("Condition 2: value").fill("O'Brien");
    const text = editor.getByLabel("OData filter");
    await expect(text).toHaveValue("statecode eq 0 and startswith(name,'O''Brien')");
    await text.fill("statecode eq 0 or statecode eq 1");
    await expect(editor.getByText("This filter was written by hand")).toBeVisible();
    await text.fill("revenue gt 1000");
    await expect(editor.getByRole("combobox", { name: "Condition 1: column" })).toHaveValue("Annual Revenue");
  });

  test("the schedule shows the words and the next three runs in the chosen time zone", async ({ page }) => {
    const editor = await open(page);
    await editor.getByLabel("Run", { exact: true }).selectOption("weekdays");
    await editor.getByLabel("Time", { exact: true }).fill("07:30");
    await pick(editor.getByRole("combobox", { name: "Time zone" }), "tokyo", /Asia\/Tokyo/);
    await expect(editor.getByText("At 07:30, Monday through Friday (Asia/Tokyo)")).toBeVisible();
    const runs = editor.getByRole("list", { name: "Next runs" }).getByRole("listitem");
    await expect(runs).toHaveCount(3);
    await expect(runs.first()).toContainText("07:30");
    await editor.getByLabel("Run", { exact: true }).selectOption("custom");
    await editor.getByLabel("Cron expression").fill("0 0 2 * * *");
    await expect(editor.getByText(/Use five parts/)).toBeVisible();
    await expect(editor.getByLabel("Cron expression")).toHaveAttribute("aria-invalid", "true");
    await editor.getByLabel("Cron expression").fill("*/15 8-18 * * 1-5");
    await expect(editor.getByText(/Every 15 minutes/)).toBeVisible();
  });

  test("validation errors from the edge land on the fields they name and the page scrolls to the first", async ({ page }) => {
    await page.setViewportSize({ width: 1000, height: 600 });
    const editor = await open(page);
    await chooseSourceAndTarget(editor);
    await editor.getByRole("button", { name: "Auto-map" }).click();
    await editor.getByLabel("E-mail when a run fails").fill("not-an-address");
    await page.evaluate(() => {
      (window as unknown as { __fake: FakeState }).__fake.failNextSave = [
        { path: "notify.onFailure.0", message: "Invalid email address" },
        { path: "mappings.1.source", message: "contact has no column lastname2" },
      ];
    });
    await editor.getByRole("button", { name: "Save", exact: true }).click();
    const sent = (await fake(page)).requests.find((r) => r.method === "POST" && r.path === "/jobs")!.body as { mappings: Array<{ target: string }> };
    const secondTarget = sent.mappings[1]!.target;
    const label = secondTarget === "LastName" ? "Last name" : secondTarget === "FirstName" ? "First name" : secondTarget;
    const combo = editor.getByRole("combobox", { name: `Column for ${label}` });
    await expect(combo).toHaveAttribute("aria-invalid", "true");
    await expect(editor.locator(`[data-target="${secondTarget}"]`)).toContainText("contact has no column lastname2");
    await expect(editor.getByLabel("E-mail when a run fails")).toHaveAttribute("aria-invalid", "true");
    await expect(editor.getByText("Invalid email address").first()).toBeVisible();
    await expect(combo).toBeFocused();
    await expect(combo).toBeInViewport();
    const banner = editor.getByRole("alert").filter({ hasText: "The job is not valid" });
    await expect(banner).toContainText("2 problems to fix");
    await banner.getByRole("button", { name: "E-mails on failure" }).click();
    await expect(editor.getByLabel("E-mail when a run fails")).toBeFocused();
  });

  test("a quota answer (422 quota_exceeded) lands on the field it names, with the limit in the banner", async ({ page }) => {
    const editor = await open(page);
    await chooseSourceAndTarget(editor);
    await editor.getByRole("button", { name: "Auto-map" }).click();
    await editor.getByLabel("Run", { exact: true }).selectOption("custom");
    await editor.getByLabel("Cron expression").fill("*/2 * * * *");
    const limit = "runs at most every 5 minutes on this deployment (QUOTA_MIN_SCHEDULE_MINUTES); this schedule fires 2 minutes apart";
    await page.evaluate((message) => {
      const f = (window as unknown as { __fake: FakeState }).__fake;
      f.failNextSave = [{ path: "schedule.cron", message }];
      f.failNextSaveAs = { status: 422, code: "quota_exceeded", message: `Quota exceeded: ${message}` };
    }, limit);
    await editor.getByRole("button", { name: "Save", exact: true }).click();
    await expect(editor.getByLabel("Cron expression")).toHaveAttribute("aria-invalid", "true");
    await expect(editor.locator("#sch-cron-err")).toHaveText(limit);
    await expect(editor.getByRole("alert").filter({ hasText: `Quota exceeded: ${limit}` })).toBeVisible();
  });

  test("Fetch 10 sample records previews a new job's draft without saving it, with per-cell errors", async ({ page }) => {
    const editor = await open(page);
    await chooseSourceAndTarget(editor);
    await editor.getByRole("button", { name: "Auto-map" }).click();
    await expect(editor.getByLabel("Job name")).toHaveValue("Contact → Person");
    await editor.getByRole("button", { name: "Fetch 10 sample records" }).click();
    const table = editor.getByRole("table");
    await expect(table.getByRole("row")).toHaveCount(11);
    const bad = table.locator("td.cell-error");
    await expect(bad).toHaveCount(1);
    await expect(bad).toContainText("=SUM(A1)");
    await expect(bad).toContainText("not an email address");
    const state = await fake(page);
    const preview = state.requests.find((r) => r.method === "POST" && r.path === "/jobs/preview")!;
    expect(preview.dynamicsToken).toBe("dyn-token-not-a-real-one");
    expect(preview.body).toMatchObject({
      connectionId: "conn_test",
      name: "Contact → Person",
      source: { entity: "contact", filter: null },
      target: { object: "Person" },
      mode: "upsert",
    });
    expect(state.requests.filter((r) => r.method !== "GET").map((r) => `${r.method} ${r.path}`)).toEqual(["POST /jobs/preview"]);
    expect(state.events.filter((e) => e.type === "dc-job-saved")).toEqual([]);
    await expect(editor.getByRole("heading", { name: "New job" })).toBeVisible();
    await expect(editor.getByText(/Unsaved changes|Draft saved locally/)).toBeVisible();
  });

  test("a saved job previews by its id while unchanged, and as a draft once edited", async ({ page }) => {
    const editor = await open(page, "?job=existing");
    await expect(editor.getByRole("combobox", { name: "Column for Name" })).toHaveValue("Account Name");
    await editor.getByRole("button", { name: "Fetch 10 sample records" }).click();
    await expect(editor.getByRole("table").getByRole("row")).toHaveCount(11);
    await editor.getByLabel("Job name").fill("Accounts → Companies (EU)");
    await editor.getByRole("button", { name: "Fetch 10 sample records" }).click();
    await expect
      .poll(async () => (await fake(page)).requests.filter((r) => r.method === "POST").map((r) => r.path))
      .toEqual(["/jobs/job_existing/preview", "/jobs/preview"]);
    expect((await fake(page)).requests.find((r) => r.path === "/jobs/preview")!.body).toMatchObject({ name: "Accounts → Companies (EU)" });
    await expect(editor.getByRole("heading", { name: "Edit job: Accounts → Companies" })).toBeVisible();
    await expect(editor.getByText(/Unsaved changes|Draft saved locally/)).toBeVisible();
  });

  test("validation errors on a draft preview land on the fields they name, and nothing is saved", async ({ page }) => {
    const editor = await open(page);
    await chooseSourceAndTarget(editor);
    await editor.getByRole("button", { name: "Auto-map" }).click();
    await page.evaluate(() => {
      (window as unknown as { __fake: FakeState }).__fake.failNextPreview = [{ path: "notify.onFailure.0", message: "Invalid email address" }];
    });
    await editor.getByRole("button", { name: "Fetch 10 sample records" }).click();
    await expect(editor.getByRole("alert").filter({ hasText: "The job is not valid" })).toContainText("1 problem to fix");
    await expect(editor.getByLabel("E-mail when a run fails")).toHaveAttribute("aria-invalid", "true");
    await expect(editor.getByRole("table")).toHaveCount(0);
    await editor.getByRole("button", { name: "Fetch 10 sample records" }).click();
    await expect(editor.getByRole("table").getByRole("row")).toHaveCount(11);
    await expect(editor.getByLabel("E-mail when a run fails")).not.toHaveAttribute("aria-invalid", "true");
    expect((await fake(page)).requests.some((r) => r.method === "POST" && r.path === "/jobs")).toBe(false);
  });

  test("Save sends the job JSON and emits dc-job-saved; a saved, unchanged job previews by its id", async ({ page }) => {
    const editor = await open(page);
    await chooseSourceAndTarget(editor);
    await editor.getByRole("button", { name: "Auto-map" }).click();
    await expect(editor.getByLabel("Job name")).toHaveValue("Contact → Person");
    await editor.getByRole("button", { name: "Save", exact: true }).click();
    await expect(editor.getByRole("heading", { name: "Edit job: Contact → Person" })).toBeVisible();
    await expect(editor.getByText("No unsaved changes")).toBeVisible();
    let state = await fake(page);
    const post = state.requests.find((r) => r.method === "POST" && r.path === "/jobs")!;
    expect(post.body).toMatchObject({
      connectionId: "conn_test",
      name: "Contact → Person",
      source: { entity: "contact", filter: null },
      target: { object: "Person" },
      mode: "upsert",
      schedule: null,
    });
    expect(state.events.find((e) => e.type === "dc-job-saved")).toMatchObject({ detail: { job: { id: "job_1", name: "Contact → Person" } } });
    await editor.getByRole("button", { name: "Fetch 10 sample records" }).click();
    await expect(editor.getByRole("table").getByRole("row")).toHaveCount(11);
    state = await fake(page);
    expect(state.requests.find((r) => r.path === "/jobs/job_1/preview")!.dynamicsToken).toBe("dyn-token-not-a-real-one");
    expect(state.requests.some((r) => r.path === "/jobs/preview")).toBe(false);
  });

  test("a lookup says apart what happens when no record matches and when the column is empty, and saves both", async ({ page }) => {
    const editor = await open(page);
    await chooseSourceAndTarget(editor);
    await editor.getByRole("button", { name: "Auto-map" }).click();
    await editor.getByRole("button", { name: "Add lookup" }).click();
    const lookup = editor.getByRole("group", { name: "Lookup 1" });
    await lookup.getByLabel("Field to fill").selectOption({ label: "Company (→ Company)" });
    await pick(lookup.getByRole("combobox", { name: "Column 1" }), "parentcustomerid", /parentcustomerid/);
    await lookup.getByLabel("equals field 1 of Company").selectOption({ label: "Dynamics ID" });
    await expect(lookup.getByLabel("When no record matches")).toHaveValue("null");
    await expect(lookup.getByLabel("When the column is empty")).toHaveValue("null");
    await lookup.getByLabel("When no record matches").selectOption({ label: "Report an error" });
    await lookup.getByLabel("When the column is empty").selectOption({ label: "Skip the record" });
    await editor.getByRole("button", { name: "Save", exact: true }).click();
    await expect(editor.getByText("No unsaved changes")).toBeVisible();
    const post = (await fake(page)).requests.find((r) => r.method === "POST" && r.path === "/jobs")!;
    expect((post.body as { lookups: unknown[] }).lookups).toEqual([
      {
        target: "CompanyId",
        object: "Company",
        match: [{ source: expect.stringMatching(/parentcustomerid/), field: "DynamicsId" }],
        onMissing: "error",
        onEmpty: "skip",
      },
    ]);
  });

  test("a draft autosaves to IndexedDB, survives a reload and never holds the Dynamics token", async ({ page }) => {
    const editor = await open(page, "?job=existing");
    await expect(editor.getByLabel("Job name")).toHaveValue("Accounts → Companies");
    await editor.getByLabel("Job name").fill("Accounts → Companies (EU)");
    await editor.getByLabel("Run", { exact: true }).selectOption("weekly");
    await expect(editor.getByText(/Draft saved locally/)).toBeVisible();
    await page.reload();
    const again = page.locator("dc-job-editor");
    await expect(again.getByText("Restored your unsaved changes")).toBeVisible({ timeout: 30_000 });
    await expect(again.getByLabel("Job name")).toHaveValue("Accounts → Companies (EU)");
    await expect(again.getByLabel("Run", { exact: true })).toHaveValue("weekly");
    const dump = await page.evaluate(async () => {
      return new Promise<string>((resolve, reject) => {
        const req = indexedDB.open("dynamics-connector");
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const db = req.result;
          const out: unknown[] = [];
          const tx = db.transaction(["drafts", "metadata"], "readonly");
          let pending = 2;
          for (const name of ["drafts", "metadata"]) {
            const all = tx.objectStore(name).getAll();
            all.onsuccess = () => {
              out.push({ name, values: all.result });
              if (--pending === 0) resolve(JSON.stringify(out));
            };
          }
        };
      });
    });
    expect(dump).toContain("Accounts → Companies (EU)");
    expect(dump).toContain("emailaddress1"); // metadata cached too
    expect(dump).not.toContain("dyn-token-not-a-real-one");
    await again.getByRole("button", { name: "Discard my changes" }).click();
    await expect(again.getByLabel("Job name")).toHaveValue("Accounts → Companies");
    await page.reload();
    await expect(page.locator("dc-job-editor").getByLabel("Job name")).toHaveValue("Accounts → Companies", { timeout: 30_000 });
    await expect(page.locator("dc-job-editor").getByText("Restored your unsaved changes")).toHaveCount(0);
  });

  test("refresh reloads tables and columns from the edge with ?refresh=1", async ({ page }) => {
    const editor = await open(page, "?job=existing");
    await editor.getByRole("button", { name: "Refresh tables and columns" }).click();
    await expect(editor.getByRole("button", { name: "Refresh tables and columns" })).toBeEnabled();
    const paths = (await fake(page)).requests.map((r) => r.path);
    expect(paths).toContain("/connections/conn_test/entities?refresh=1");
    expect(paths).toContain("/connections/conn_test/entities/account/attributes?refresh=1");
  });

  test("creates a custom object from the table and maps its fields", async ({ page }) => {
    const editor = await open(page);
    await pick(editor.getByRole("combobox", { name: "Dynamics table" }), "systemuser", /^User\b/);
    await editor.getByRole("button", { name: "Create a custom object from this table" }).click();
    await expect(editor.getByLabel("Object name")).toBeFocused();
    await editor.getByLabel("Object name").fill("CrmUser");
    await editor.getByLabel("Filter columns").fill("primary email");
    await editor.getByRole("checkbox", { name: /^Primary Email internalemailaddress/ }).check();
    await editor.getByRole("button", { name: "Create object and map its fields" }).click();
    await expect(editor.getByRole("combobox", { name: "Target object" })).toHaveValue("User");
    const post = (await fake(page)).requests.find((r) => r.method === "POST" && r.path === "/objects")!;
    const body = post.body as { name: string; fields: Array<{ name: string; type: string }> };
    expect(body.name).toBe("CrmUser");
    expect(body.fields[0]).toMatchObject({ name: "DynamicsId", type: "id" });
    expect(body.fields).toContainEqual(expect.objectContaining({ name: "PrimaryEmail", type: "email" }));
    await expect(editor.getByRole("combobox", { name: "Column for Primary Email", exact: true })).toHaveValue("Primary Email");
    await expect(editor.getByRole("combobox", { name: "Identifier 1: column" })).toHaveValue("User");
  });

  test("Add a field to Person: suggested from a column through a lookup, added with PATCH addFields, then mapped", async ({ page }) => {
    const editor = await open(page);
    await chooseSourceAndTarget(editor);
    const opener = editor.getByRole("button", { name: "Add a field to Person" });
    await opener.click();
    const dialog = editor.getByRole("dialog", { name: "Add a field to Person" });
    await expect(dialog).toBeVisible();
    const column = dialog.getByRole("combobox", { name: "Column to fill it from" });
    await expect(column).toBeFocused();
    await pick(column, "parentcustomerid", /Company Name/);
    // A lookup read directly gives the related record's name: text.
    await expect(dialog.getByLabel("Label")).toHaveValue("Company name");
    await dialog.getByRole("checkbox", { name: /Through lookup/ }).check();
    await expect(dialog.getByRole("combobox", { name: "Related table" })).toHaveValue("account");
    await pick(dialog.getByRole("combobox", { name: "Column of Account" }), "number of employees", /Number of Employees/);
    // Named after the lookup and the related column, typed by the related column; the name stays unique.
    await expect(dialog.getByLabel("Label")).toHaveValue("Company name number of employees");
    await expect(dialog.getByRole("combobox", { name: "Type" })).toHaveValue("integer");
    await pick(dialog.getByRole("combobox", { name: "Column of Account" }), "account name", /Account Name/);
    await expect(dialog.getByLabel("Label")).toHaveValue("Company name");
    await expect(dialog.getByLabel("Name", { exact: true })).toHaveValue("CompanyName2");
    await expect(dialog.getByRole("combobox", { name: "Type" })).toHaveValue("string");

    // What the admin types is theirs; the edge's validation lands on the field it names.
    await dialog.getByLabel("Label").fill("Employer");
    await dialog.getByLabel("Name", { exact: true }).fill("companyname");
    await dialog.getByRole("button", { name: "Add field" }).click();
    const name = dialog.getByLabel("Name", { exact: true });
    await expect(name).toHaveAttribute("aria-invalid", "true");
    await expect(name).toHaveAccessibleDescription(/a field named companyname already exists/);
    await expect(name).toBeFocused();
    await expect(dialog).toBeVisible();

    await name.fill("Employer");
    await dialog.getByRole("button", { name: "Add field" }).click();
    await expect(dialog).toBeHidden();
    const patch = (await fake(page)).requests.filter((r) => r.method === "PATCH");
    expect(patch.map((r) => [r.path, r.body])).toEqual([
      ["/objects/Person", { addFields: [{ name: "companyname", label: "Employer", type: "string", required: false }] }],
      ["/objects/Person", { addFields: [{ name: "Employer", label: "Employer", type: "string", required: false }] }],
    ]);
    // The new field has its row, mapped through the lookup, and focus is on it.
    const row = editor.locator('[part="mapping-row"][data-target="Employer"]');
    await expect(row).toContainText("Employer");
    await expect(row.getByRole("combobox", { name: "Column for Employer" })).toBeFocused();
    await expect(row.getByRole("combobox", { name: "Column for Employer" })).toHaveValue("Company Name");
    await expect(row.getByRole("combobox", { name: "Column of Account" })).toHaveValue("Account Name");
    await expect(editor.getByRole("status").filter({ hasText: "Added “Employer” to Person" })).toBeVisible();
    await editor.getByLabel("Job name").fill("Contacts → People");
    await editor.getByRole("button", { name: "Save", exact: true }).click();
    await expect.poll(async () => (await fake(page)).events.map((e) => e.type)).toContain("dc-job-saved");
    const saved = (await fake(page)).requests.find((r) => r.method === "POST" && r.path === "/jobs")!.body as { mappings: unknown[] };
    expect(saved.mappings).toContainEqual({ source: "parentcustomerid", target: "Employer", use: "value", via: { entity: "account", attribute: "name" } });
  });

  test("Add a field: Cancel and Escape close the dialog without changing the object, and focus returns", async ({ page }) => {
    const editor = await open(page);
    await chooseSourceAndTarget(editor);
    const opener = editor.getByRole("button", { name: "Add a field to Person" });
    await opener.click();
    const dialog = editor.getByRole("dialog", { name: "Add a field to Person" });
    await dialog.getByLabel("Label").fill("Nickname");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(dialog).toBeHidden();
    await expect(opener).toBeFocused();
    await opener.press("Enter");
    await expect(dialog).toBeVisible();
    // Reopened empty: nothing of the cancelled attempt is kept.
    await expect(dialog.getByLabel("Label")).toHaveValue("");
    await dialog.getByRole("button", { name: "Add field" }).click();
    await expect(dialog.getByLabel("Label")).toHaveAttribute("aria-invalid", "true");
    await page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
    await expect(opener).toBeFocused();
    expect((await fake(page)).requests.filter((r) => r.method === "PATCH")).toEqual([]);
  });

  test("Discard drops the draft and emits dc-editor-close", async ({ page }) => {
    const editor = await open(page, "?job=existing");
    await editor.getByLabel("Job name").fill("changed");
    await editor.getByRole("button", { name: "Discard" }).click();
    // The editor closes once the draft is deleted from IndexedDB (async): wait for the event, don't race it.
    await expect.poll(async () => (await fake(page)).events.map((e) => e.type)).toContain("dc-editor-close");
  });

  test("is axe clean and fits a 360 px wide screen", async ({ page }) => {
    await page.setViewportSize({ width: 360, height: 800 });
    const editor = await open(page, "?job=existing");
    await expect(editor.getByRole("combobox", { name: "Column for Name" })).toHaveValue("Account Name");
    await editor.getByRole("button", { name: "Add condition" }).click();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    // An open picker is part of what must be accessible.
    await editor.getByRole("combobox", { name: "Dynamics table" }).fill("acc");
    await expectNoAxeViolations(page, "dc-job-editor");
  });
});

test.describe("stack", () => {
  test("creates a Contact → Person job against the edge and previews live sandbox records", async ({ page, tenant }) => {
    const w = await connectedContoso(page, tenant);
    await w.getByRole("button", { name: "New job" }).click();
    const editor = w.locator("dc-job-editor");
    const table = editor.getByRole("combobox", { name: "Dynamics table" });
    await expect(table).toBeEnabled({ timeout: 30_000 });
    await table.fill("contact");
    await editor
      .getByRole("option", { name: /^Contact\b/ })
      .first()
      .click();
    const target = editor.getByRole("combobox", { name: "Target object" });
    await target.fill("Person");
    await editor
      .getByRole("option", { name: /^Person/ })
      .first()
      .click();
    await editor.getByRole("button", { name: "Auto-map" }).click();
    await expect(editor.getByText(/Auto-map filled \d+ field/)).toBeVisible();
    await editor.getByLabel("Job name").fill(`Contacts → People (${tenant})`);
    // The preview maps the unsaved draft (POST /jobs/preview); saving is a separate step.
    await editor.getByRole("button", { name: "Fetch 10 sample records" }).click();
    const problem = editor.getByRole("alert").filter({ hasText: /not valid|attention|Could not fetch/ });
    const tableEl = editor.getByRole("table");
    await expect(problem.or(tableEl)).toBeVisible({ timeout: 30_000 });
    if (await problem.isVisible()) throw new Error(`preview failed: ${await problem.innerText()}`);
    await expect(tableEl.getByRole("row").nth(1)).toBeVisible();
    await expect(editor.getByRole("heading", { name: "New job" })).toBeVisible();
    const saved = page.evaluate(
      () =>
        new Promise<string>((ok) =>
          document.querySelector("dynamics-connector")!.addEventListener("dc-job-saved", (e) => ok((e as CustomEvent).detail.job.id), { once: true }),
        ),
    );
    await editor.getByRole("group", { name: "Save or discard" }).getByRole("button", { name: "Save" }).click();
    expect(await saved).toMatch(/.+/);
  });
});
