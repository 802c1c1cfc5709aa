/** Extra screenshots for docs/ (dark theme, 360 px, the editor in both); runs only with DOCS_SCREENSHOTS=1. The journey writes the rest. */
import { fileURLToPath } from "node:url";
import type { Locator } from "@playwright/test";
import { connectedContoso, expect, jobRow, test } from "./fixtures";

const DOCS = fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));
test.skip(!process.env.DOCS_SCREENSHOTS, "set DOCS_SCREENSHOTS=1 to refresh docs/screenshots");

async function openEditor(w: Locator): Promise<Locator> {
  await jobRow(w, "Contacts → People").getByRole("button", { name: "Edit" }).click();
  const editor = w.locator("dc-job-editor");
  await expect(editor.locator('[part="mapping-row"]').first()).toBeVisible({ timeout: 30_000 });
  return editor;
}

test("dark theme", async ({ page, tenant }) => {
  const w = await connectedContoso(page, tenant);
  await page.getByLabel("Dark mode").check();
  await expect(jobRow(w, "Accounts → Companies")).toBeVisible();
  await page.screenshot({ path: `${DOCS}12-dark-theme.png`, fullPage: true });
});

test("360 px", async ({ page, tenant }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  const w = await connectedContoso(page, tenant);
  await expect(jobRow(w, "Accounts → Companies")).toBeVisible();
  await page.screenshot({ path: `${DOCS}13-narrow-360px.png`, fullPage: true });
});

test("editor, dark theme", async ({ page, tenant }) => {
  const w = await connectedContoso(page, tenant);
  await page.getByLabel("Dark mode").check();
  const editor = await openEditor(w);
  await editor.getByRole("button", { name: "Add condition" }).click();
  await w.screenshot({ path: `${DOCS}14-editor-dark-theme.png` });
  await editor.getByRole("button", { name: "Add a field to Person" }).click();
  await expect(editor.getByRole("dialog", { name: "Add a field to Person" })).toBeVisible();
  await page.screenshot({ path: `${DOCS}15-add-field-dark-theme.png` });
});

test("editor, 360 px", async ({ page, tenant }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  const w = await connectedContoso(page, tenant);
  await openEditor(w);
  await page.screenshot({ path: `${DOCS}16-editor-narrow-360px.png`, fullPage: true });
});
