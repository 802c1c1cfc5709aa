/**
 * Issue 16: the widget in German and French (@lit/localize, runtime mode). The `locale` attribute wins; without it the
 * page's `lang` decides. Texts the edge writes (readiness check labels and fixes, error messages) and names the
 * admin typed are not the widget's strings and are left out of the "no English left" check.
 */
import { readFileSync } from "node:fs";
import type { Locator, Page } from "@playwright/test";
import { env, expect, openHost, signInPopup, test } from "./fixtures";

/** Every English source string of the widget whose German differs (widget/l10n/de.xlf), longest first. */
const englishStrings = (() => {
  const xlf = readFileSync(new URL("../../widget/l10n/de.xlf", import.meta.url), "utf8");
  const out: string[] = [];
  for (const m of xlf.matchAll(/<source>([\s\S]*?)<\/source>\s*<target>([\s\S]*?)<\/target>/g)) {
    const [source, target] = [m[1]!, m[2]!].map((t) => t.replace(/<x [^>]*\/>/g, "\u0000"));
    // Parts around placeholders that German shares ("Jobs {0}–{1} of {2}" / "Jobs {0}–{1} von {2}") are not English.
    if (source !== target) out.push(...source!.split("\u0000").filter((part) => part.trim().length > 3 && !target!.includes(part.trim())));
  }
  return [...new Set(out)].sort((a, b) => b.length - a.length);
})();

/** The widget's own visible text inside `scope` (shadow roots included), without what the edge or the admin wrote. */
async function widgetText(scope: Locator): Promise<string> {
  return scope.evaluate((root) => {
    const skip = (el: Element) => el.matches("[data-check] > span:not(.icon), .fix, .banner.error span, h3.card-title, .card-title, [data-user-text]");
    const walk = (node: Node): string => {
      if (node.nodeType === Node.TEXT_NODE) return node.textContent ?? "";
      if (node instanceof Element && (skip(node) || node.matches("style, script, [hidden]"))) return "";
      const kids = [...(node instanceof Element && node.shadowRoot ? node.shadowRoot.childNodes : []), ...node.childNodes];
      return kids.map(walk).join(" ");
    };
    return walk(root).replace(/\s+/g, " ");
  });
}

function englishIn(text: string): string[] {
  return englishStrings.filter((s) => text.includes(s));
}

async function setLocale(page: Page, locale: string): Promise<void> {
  await page.locator("dynamics-connector").evaluate((el, l) => el.setAttribute("locale", l), locale);
}

test("in German: the connections list, the new-connection form, the connection card, readiness, jobs and runs have no English left; dates are German", async ({
  page,
  tenant,
}) => {
  const chunks: string[] = [];
  page.on("request", (r) => chunks.push(new URL(r.url()).pathname));
  await openHost(page, tenant);
  // English first paint: no locale module loaded.
  expect(chunks.filter((p) => /\/chunks\/(de|fr)-/.test(p))).toEqual([]);
  await setLocale(page, "de");
  const w = page.locator("dynamics-connector");
  await expect(w.getByRole("heading", { name: "Verbindungen" })).toBeVisible();
  expect(chunks.some((p) => /\/chunks\/de-/.test(p))).toBe(true);
  expect(englishIn(await widgetText(w))).toEqual([]);

  await w.getByRole("button", { name: "Verbindung anlegen" }).first().click();
  const form = w.locator("dc-connection-form");
  await expect(form.getByRole("heading", { name: "Neue Verbindung" })).toBeVisible();
  await form.getByLabel("Name", { exact: true }).fill("Contoso DE");
  await form.getByLabel("Umgebungs-URL").fill(env().org("contoso").url);
  expect(englishIn(await widgetText(form))).toEqual([]);
  await form.getByRole("button", { name: "Verbindung anlegen" }).click();

  const card = w.locator("dc-connection-card").filter({ hasText: "Contoso DE" }).first();
  await expect(card.locator(".chip").first()).toHaveText("Nicht autorisiert");
  const popupPromise = page.waitForEvent("popup");
  await card.getByRole("button", { name: "Autorisieren" }).click();
  await signInPopup(await popupPromise, "admin@contoso.example");
  await expect(w.locator("dc-connection-card").first().locator(".chip").first()).toHaveText("Autorisiert", { timeout: 30_000 });

  const report = w.locator("dc-readiness-report");
  await expect(report.getByRole("heading", { name: "Bereitschaft" })).toBeVisible();
  // Intl in German ("Geprüft 01.12.2026, 04:12"; English would be "Checked Dec 1, 2026, 4:12 AM").
  await expect(report.getByText(/^Geprüft \d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}$/)).toBeVisible();
  expect(englishIn(await widgetText(w.locator("dc-connection-card").first()))).toEqual([]);
  expect(englishIn(await widgetText(report))).toEqual([]);
  const jobs = w.locator("dc-jobs-table");
  await expect(jobs.getByRole("heading", { name: "Jobs" })).toBeVisible();
  await expect(jobs.getByRole("button", { name: "Jetzt ausführen" }).first()).toBeVisible();
  expect(englishIn(await widgetText(jobs))).toEqual([]);

  // A job's runs: the view and its empty state in German.
  await w.locator("dc-jobs-table tr", { hasText: "Accounts → Companies" }).first().getByRole("button", { name: "Läufe" }).click();
  const runs = w.locator("dc-runs-view");
  await expect(runs.getByRole("heading", { name: /^Läufe von „/ })).toBeVisible();
  await expect(runs.getByText("Dieser Job ist noch nicht gelaufen.")).toBeVisible();
  expect(englishIn(await widgetText(runs))).toEqual([]);
});

test("without a locale attribute the page's lang decides, also when it changes; the element's locale wins over it", async ({ page, tenant }) => {
  await openHost(page, tenant);
  const w = page.locator("dynamics-connector");
  await expect(w.getByRole("heading", { name: "Connections" })).toBeVisible();
  await page.evaluate(() => (document.documentElement.lang = "fr-CA"));
  await expect(w.getByRole("heading", { name: "Connexions" })).toBeVisible();
  expect(await w.evaluate((el) => el.shadowRoot!.querySelector(".shell")!.getAttribute("lang"))).toBe("fr");
  await setLocale(page, "de-AT");
  await expect(w.getByRole("heading", { name: "Verbindungen" })).toBeVisible();
  await page.evaluate(() => (document.documentElement.lang = "en"));
  await expect(w.getByRole("heading", { name: "Verbindungen" })).toBeVisible();
  await setLocale(page, "");
  await expect(w.getByRole("heading", { name: "Connections" })).toBeVisible();
});
