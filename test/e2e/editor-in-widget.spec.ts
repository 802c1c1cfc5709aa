/**
 * The job editor inside the full widget on the demo host page (dist/, the host's strict CSP, the real edge and
 * sandbox): no CSP violations, axe-clean in dark mode, and a new job's route follows it once saved.
 */
import type { Locator, Page } from "@playwright/test";
import { connectedContoso, expect, expectNoAxeViolations, jobRow, test } from "./fixtures";

/** Collects CSP violations two ways: the `securitypolicyviolation` event (composed, so shadow roots report too) and the console. */
async function watchCsp(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener(
      "securitypolicyviolation",
      (e) => {
        w.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sample || (e.target as Element)?.nodeName})`);
      },
      true,
    );
  });
  const console: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) console.push(m.text());
  });
  return async () => [...(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)), ...console];
}

/** Opens a built-in job in the editor and waits for its mapping rows. */
async function openEditor(w: Locator, job: string): Promise<Locator> {
  await jobRow(w, job).getByRole("button", { name: "Edit" }).click();
  const editor = w.locator("dc-job-editor");
  await expect(editor.locator('[part="mapping-row"]').first()).toBeVisible({ timeout: 30_000 });
  return editor;
}

test("the job editor runs under the host page's strict style-src without CSP violations", async ({ page, tenant }) => {
  const violations = await watchCsp(page);
  const w = await connectedContoso(page, tenant);
  // The page has the CSP the test relies on.
  const csp = (await page.request.get(page.url())).headers()["content-security-policy"] ?? "";
  expect(csp).toContain("style-src 'self'");
  expect(csp).not.toContain("unsafe-inline");

  const editor = await openEditor(w, "Contacts → People");
  // Open a picker (virtualised list), the filter builder, the custom-object form and the add-field dialog: every
  // part of the editor that used to carry a style attribute.
  const column = editor.getByRole("combobox", { name: "Column for First name" });
  await column.click();
  await expect(editor.getByRole("listbox", { name: "Column for First name" }).getByRole("option").first()).toBeVisible();
  await column.press("Escape");
  await editor.getByRole("button", { name: "Add condition" }).click();
  await editor.getByRole("button", { name: "Create a custom object from this table" }).click();
  await expect(editor.getByLabel("Object name")).toBeVisible();
  await editor.getByRole("button", { name: "Cancel" }).click();
  await editor.getByRole("button", { name: "Add a field to Person" }).click();
  await expect(editor.getByRole("dialog", { name: "Add a field to Person" })).toBeVisible();
  await editor.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
  // Laid out as designed: the radio groups stack (they used to rely on an inline flex-direction).
  const choices = editor.locator('fieldset[data-field-key="mode"] .choices');
  await expect(choices).toHaveCSS("flex-direction", "column");
  await page.getByLabel("Dark mode").check();
  await expect(editor.locator('[part="footer"]')).toBeVisible();
  expect(await violations()).toEqual([]);
});

test("axe finds no violations in the job editor inside the widget in dark mode", async ({ page, tenant }) => {
  test.setTimeout(150_000); // the whole editor, a picker and a dialog checked: ~40 s on a quiet 2-core machine, three times that when busy
  const w = await connectedContoso(page, tenant);
  await page.getByLabel("Dark mode").check();
  const editor = await openEditor(w, "Contacts → People");
  await editor.getByRole("button", { name: "Add condition" }).click();
  await expectNoAxeViolations(page);
  // An open picker and the add-field dialog are part of what must be accessible too.
  await editor.getByRole("combobox", { name: "Column for First name" }).click();
  // The active option is the selected one, scrolled into view (it is far down a virtualised list).
  await expect(editor.getByRole("listbox", { name: "Column for First name" }).locator('[aria-selected="true"]')).toBeVisible();
  await expectNoAxeViolations(page);
  await editor.getByRole("combobox", { name: "Column for First name" }).press("Escape");
  await editor.getByRole("button", { name: "Add a field to Person" }).click();
  await expect(editor.getByRole("dialog", { name: "Add a field to Person" })).toBeVisible();
  await expectNoAxeViolations(page);
});

test("a new job, once saved, is the route: the breadcrumb names it and a reload reopens it in the editor", async ({ page, tenant }) => {
  const w = await connectedContoso(page, tenant);
  await w.getByRole("button", { name: "New job" }).click();
  const editor = w.locator("dc-job-editor");
  const crumb = w.getByRole("navigation", { name: "Breadcrumb" }).locator("[aria-current]");
  await expect(crumb).toHaveText("New job");
  const table = editor.getByRole("combobox", { name: "Dynamics table" });
  await expect(table).toBeEnabled({ timeout: 30_000 });
  await table.fill("contact");
  await editor
    .getByRole("option", { name: /^Contact\b/ })
    .first()
    .click();
  await editor.getByRole("combobox", { name: "Target object" }).fill("Person");
  await editor
    .getByRole("option", { name: /^Person/ })
    .first()
    .click();
  await editor.getByRole("button", { name: "Auto-map" }).click();
  const name = `Contacts → People (${tenant})`;
  await editor.getByLabel("Job name").fill(name);
  const saved = page.evaluate(
    () =>
      new Promise<string>((ok) =>
        document.querySelector("dynamics-connector")!.addEventListener("dc-job-saved", (e) => ok((e as CustomEvent).detail.job.id), { once: true }),
      ),
  );
  await editor.getByRole("group", { name: "Save or discard" }).getByRole("button", { name: "Save" }).click();
  expect(await saved).toMatch(/.+/);
  // The editor stays on the saved job (it is not reset to a blank new one) and the breadcrumb names it.
  await expect(crumb).toHaveText(name);
  await expect(editor.getByRole("heading", { name: `Edit job: ${name}` })).toBeVisible();
  await expect(editor.getByLabel("Job name")).toHaveValue(name);
  await expect(editor.getByText("No unsaved changes")).toBeVisible();

  await page.reload();
  await expect(w.locator("dc-job-editor").getByRole("heading", { name: `Edit job: ${name}` })).toBeVisible({ timeout: 30_000 });
  await expect(crumb).toHaveText(name);
  await expect(w.locator("dc-job-editor").getByRole("combobox", { name: "Column for Last name" })).toHaveValue("Last Name");
  // Leaving the editor leaves it for good: the next reload starts at the connections list again.
  await w.locator("dc-job-editor").getByRole("button", { name: "Back to jobs" }).click();
  await expect(jobRow(w, name)).toBeVisible();
  await page.reload();
  await expect(w.getByRole("button", { name: "Open" }).first()).toBeVisible();
});
