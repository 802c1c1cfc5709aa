/**
 * Issue 16: the widget in German and French (@lit/localize, runtime mode). The `locale` attribute wins; without it the
 * page's `lang` decides. What the edge writes (readiness check labels and fixes, a field's validation detail) and what
 * the admin or Dynamics named (connection and job names, tables, columns, object fields) are data, not the widget's
 * strings, and are left out of the "no English left" check.
 */
import { readFileSync } from "node:fs";
import type { Locator, Page } from "@playwright/test";
import { env, expect, jobRow, openHost, signInPopup, test } from "./fixtures";

/** Every English source string of the widget whose German differs (widget/l10n/de.xlf), longest first. */
const englishStrings = (() => {
  const xlf = readFileSync(new URL("../../widget/l10n/de.xlf", import.meta.url), "utf8");
  const out: string[] = [];
  for (const m of xlf.matchAll(/<source>([\s\S]*?)<\/source>\s*<target>([\s\S]*?)<\/target>/g)) {
    const [source, target] = [m[1]!, m[2]!].map((t) =>
      t
        .replace(/<x [^>]*\/>/g, "\u0000")
        .replace(/&quot;/g, '"')
        .replace(/&amp;/g, "&"),
    );
    // Parts around placeholders that German shares ("Jobs {0}–{1} of {2}" / "Jobs {0}–{1} von {2}") are not English.
    if (source !== target) out.push(...source!.split("\u0000").filter((part) => part.trim().length > 3 && !target!.includes(part.trim())));
  }
  return [...new Set(out.map((s) => s.trim()))].sort((a, b) => b.length - a.length);
})();
// Schedules in words come from cronstrue, not from de.xlf: its English for the built-in jobs' schedules.
const englishCron = ["Every hour", "At 02:30"];
// A placeholder that shows an example job name (data, like the job names themselves).
const examples = new Set(["Accounts → Companies"]);
// Whole words only ("Date" is English, "Datensätze" is not).
const patterns = [...englishStrings.filter((s) => !examples.has(s)), ...englishCron].map((s) => ({
  s,
  re: new RegExp(`(?<![\\p{L}\\p{N}])${s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\p{L}\\p{N}])`, "u"),
}));

/**
 * The widget's own visible text inside `scope` (shadow roots included) and its accessible names, without what the edge,
 * Dynamics or the admin wrote: readiness checks, edge messages, and every `translate="no"` element (names of
 * connections, jobs, objects and fields), whose texts are also cut out of the labels that quote them ("Spalte für Email").
 */
async function widgetText(scope: Locator): Promise<string> {
  return scope.evaluate((root) => {
    const edge = ["[data-check] > span:not(.icon)", ".fix", ".banner.error span", ".card-title", "[data-user-text]"].join(", ");
    const names = new Set<string>();
    const walk = (node: Node): string => {
      if (node.nodeType === Node.TEXT_NODE) return node.textContent ?? "";
      if (!(node instanceof Element)) return [...node.childNodes].map(walk).join(" ");
      if (node.matches("style, script, [hidden], option:not(:checked)") || node.matches(edge)) return "";
      if (node.matches('[translate="no"]')) {
        names.add((node.textContent ?? "").trim());
        return "";
      }
      const kids = [...(node.shadowRoot ? node.shadowRoot.childNodes : []), ...node.childNodes];
      // Labels and accessible names count too: they are read out.
      const named = ["aria-label", "placeholder", "title", "label"].map((a) => node.getAttribute(a) ?? "").join(" ");
      return `${named} ${kids.map(walk).join(" ")}`;
    };
    let text = walk(root);
    for (const n of [...names].filter(Boolean).sort((a, b) => b.length - a.length)) text = text.split(n).join(" ");
    return text.replace(/\s+/g, " ");
  });
}

/** The English strings found in `text`, each with what surrounds it (so a failure says where). */
function englishIn(text: string): string[] {
  return patterns.flatMap((p) => {
    const m = p.re.exec(text);
    return m ? [`${p.s} in “…${text.slice(Math.max(0, m.index - 40), m.index + p.s.length + 40)}…”`] : [];
  });
}

async function setLocale(page: Page, locale: string): Promise<void> {
  await page.locator("dynamics-connector").evaluate((el, l) => el.setAttribute("locale", l), locale);
}

test("in German: connections, the new-connection form, a connection card, readiness, jobs, runs, a run's detail and the job editor (a job, a new one) have no English left; dates are German", async ({
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
  // The address check's notes too ("This is a local address…").
  await expect(form.getByText(/lokale Adresse/)).toBeVisible();
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
  // Schedules in words through cronstrue's German, built-in notes and entity names in German.
  await expect(jobRow(w, "Users → Users")).toContainText("Um 02:30 (UTC)");
  await expect(jobRow(w, "Accounts → Companies")).toContainText("Für Sie angelegt");
  await expect(jobRow(w, "Accounts → Companies")).toContainText("Firma →");
  expect(englishIn(await widgetText(jobs))).toEqual([]);

  // A job's runs: the view and its empty state in German.
  await jobRow(w, "Accounts → Companies").getByRole("button", { name: "Läufe" }).click();
  const runs = w.locator("dc-runs-view");
  await expect(runs.getByRole("heading", { name: /^Läufe von „/ })).toBeVisible();
  await expect(runs.getByText("Dieser Job ist noch nicht gelaufen.")).toBeVisible();
  expect(englishIn(await widgetText(runs))).toEqual([]);

  // Run now → the run's detail with its counts, in German (numbers and dates through Intl).
  const breadcrumb = w.getByRole("navigation", { name: "Brotkrumennavigation" });
  await breadcrumb.getByRole("button", { name: "Jobs" }).click();
  await jobRow(w, "Users → Users").getByRole("button", { name: "Jetzt ausführen" }).click();
  await expect(runs.getByRole("heading", { name: "Läufe von „Users → Users“" })).toBeVisible();
  const detail = runs.locator('[part="run-detail"]');
  await expect(detail.locator(".chip").first()).toHaveText(/Erfolgreich|Teilweise erfolgreich/, { timeout: 60_000 });
  await expect(detail.locator("dl.counts")).toContainText("Gelesen");
  await expect(runs.getByRole("img", { name: /^Letzte 1 Läufe: / })).toBeVisible();
  expect(englishIn(await widgetText(runs))).toEqual([]);

  // The editor of an existing job: every section, its pickers' labels, the schedule in words.
  await breadcrumb.getByRole("button", { name: "Jobs" }).click();
  await jobRow(w, "Accounts → Companies").getByRole("button", { name: "Bearbeiten" }).click();
  const editor = w.locator("dc-job-editor");
  await expect(editor.getByRole("heading", { name: /Quelle und Ziel/ })).toBeVisible({ timeout: 30_000 });
  await expect(editor.locator("[part=mapping-row]").first()).toBeVisible({ timeout: 30_000 });
  for (const h of [/Feldzuordnungen/, /Bezeichner und Suchen/, /Filter/, /Zeitplan und Benachrichtigungen/, /Vorschau/])
    await expect(editor.getByRole("heading", { name: h })).toBeVisible();
  await expect(editor.getByText("Jede Stunde (UTC)")).toBeVisible();
  await expect(editor.getByRole("button", { name: "10 Beispieldatensätze abrufen" })).toBeVisible();
  expect(englishIn(await widgetText(editor))).toEqual([]);

  // A new job: the empty editor, then Save to see the editor's own validation messages.
  await breadcrumb.getByRole("button", { name: "Jobs" }).click();
  await w.locator("dc-jobs-table").getByRole("button", { name: "Neuer Job" }).click();
  await expect(editor.getByRole("heading", { name: "Neuer Job" })).toBeVisible({ timeout: 30_000 });
  await expect(editor.getByRole("heading", { name: /Quelle und Ziel/ })).toBeVisible();
  await editor.getByRole("button", { name: "Speichern", exact: true }).click();
  await expect(editor.getByText("Einige Felder brauchen Ihre Aufmerksamkeit")).toBeVisible();
  await expect(editor.getByText("Geben Sie dem Job einen Namen.").first()).toBeVisible();
  expect(englishIn(await widgetText(editor))).toEqual([]);
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
