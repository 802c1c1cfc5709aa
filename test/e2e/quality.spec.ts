import { readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { authorize, axeViolations, authorizedContoso, createConnection, env, expect, expectNoAxeViolations as axe, jobRow, openHost, test } from "./fixtures";

const DIST = fileURLToPath(new URL("../../dist/widget/", import.meta.url));

/** Static import closure of the entry: what a first paint may load. */
function entryClosure(): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(join(DIST, file), "utf8");
    // Relative to the importing file (chunks sit in chunks/, the entry beside it).
    for (const m of src.matchAll(/(?:^|[;}\s])import\s*(?:[\w*{}\s,$]+from\s*)?["'](\.\.?\/[^"']+)["']/g)) visit(posix.join(posix.dirname(file), m[1]!));
  };
  visit("dynamics-connector.js");
  return seen;
}

type Manifest = Record<string, { file: string; imports?: string[]; isDynamicEntry?: boolean }>;
const manifest = (): Manifest => JSON.parse(readFileSync(join(DIST, ".vite", "manifest.json"), "utf8")) as Manifest;
/** The chunk files of a lazily imported module and of what only it needs (not shared with the entry). */
function lazyChunks(match: (key: string) => boolean): string[] {
  const m = manifest();
  const closure = entryClosure();
  const out = new Set<string>();
  for (const [key, v] of Object.entries(m)) {
    if (!match(key)) continue;
    out.add(v.file);
    for (const i of v.imports ?? []) {
      const f = m[i]?.file;
      if (f && !closure.has(f)) out.add(f);
    }
  }
  return [...out];
}

test("first paint loads neither msal-browser nor the job editor; both arrive when needed", async ({ page, tenant }) => {
  const requested: string[] = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    // The host page loads the widget from the edge (/widget/).
    if (u.origin === env().edgeUrl && u.pathname.startsWith("/widget/")) requested.push(u.pathname.slice("/widget/".length));
  });
  await openHost(page, tenant);
  await expect(page.locator("dynamics-connector").getByText("A connection links this product")).toBeVisible();
  await page.waitForLoadState("networkidle");
  const msalChunks = lazyChunks((k) => k.includes("@azure/msal-browser/dist/index.mjs"));
  // Chunks the editor shares with the connection's pages (views/connection-pages.ts: schedule words…) are not the editor.
  const pageChunks = lazyChunks((k) => k.endsWith("src/views/connection-pages.ts"));
  const editorChunks = lazyChunks((k) => k.endsWith("src/editor/job-editor.ts")).filter(
    (f) => !posix.basename(f).startsWith("cronstrue") && !pageChunks.includes(f),
  );
  expect(msalChunks.length).toBeGreaterThan(0);
  expect(editorChunks.length).toBeGreaterThan(0);
  const firstPaint = [...new Set(requested)];
  for (const f of firstPaint) expect(entryClosure(), `first paint requested ${f}`).toContain(f);
  for (const f of [...msalChunks, ...editorChunks]) expect(firstPaint).not.toContain(f);
  const gzip = firstPaint.reduce((n, f) => n + gzipSync(readFileSync(join(DIST, f))).length, 0);
  test.info().annotations.push({ type: "first-paint-gzip-bytes", description: String(gzip) });
  console.log(`first paint JS: ${firstPaint.join(", ")} = ${(gzip / 1024).toFixed(1)} KB gzip`);
  expect(gzip).toBeLessThan(40 * 1024);

  // Opening the sign-in fetches msal; opening a job fetches the editor.
  const card = await createConnection(page, "Contoso", env().org("contoso").url);
  await authorize(page, card);
  await expect(page.locator("dynamics-connector dc-connection-card .chip").first()).toHaveText("Authorized", { timeout: 30_000 });
  expect(requested.some((f) => msalChunks.includes(f))).toBe(true);
  expect(requested.some((f) => editorChunks.includes(f))).toBe(false);
  await jobRow(page.locator("dynamics-connector"), "Accounts → Companies").getByRole("button", { name: "Edit" }).click();
  await expect(page.locator("dc-job-editor")).toBeAttached();
  expect(requested.some((f) => editorChunks.includes(f))).toBe(true);
});

test("axe finds no violations in the empty state, the form, a connection with jobs and the runs view", async ({ page, tenant }) => {
  test.setTimeout(120_000); // a run and seven axe passes
  await openHost(page, tenant);
  const w = page.locator("dynamics-connector");
  await expect(w.getByText("A connection links this product")).toBeVisible();
  await axe(page);
  await w.getByRole("button", { name: "Create connection" }).click();
  await w.getByLabel("Environment URL").fill("https://contoso.api.crm.dynamics.com/main.aspx");
  await axe(page);
  await w.getByLabel("Environment URL").fill("nope nope");
  await w.getByLabel("Environment URL").blur();
  await axe(page);
  await w.getByRole("button", { name: "Cancel" }).click();
  const card = await createConnection(page, "Contoso", env().org("contoso").url);
  await authorize(page, card);
  await expect(w.locator("dc-readiness-report")).toContainText("Signed in");
  await expect(jobRow(w, "Accounts → Companies").getByText(/Never|Success|Running|Queued/)).toBeVisible();
  await axe(page);
  await w.locator("dc-connection-card").getByRole("button", { name: "Rename" }).click();
  await axe(page);
  await page.keyboard.press("Escape");
  await jobRow(w, "Accounts → Companies").getByRole("button", { name: "Run now" }).click();
  await expect(w.locator('dc-runs-view [part="run-detail"] .chip').first()).toHaveText(/Success|Partial success/, { timeout: 60_000 });
  await axe(page);
  await page.getByLabel("Dark mode").check();
  await axe(page);
  // The check sees into the widget's shadow roots: an unnamed button there is a finding.
  await page.evaluate(() => document.querySelector("dynamics-connector")!.shadowRoot!.append(document.createElement("button")));
  expect((await axeViolations(page)).join("\n")).toMatch(/^button-name:/m);
});

test("no CSS leaks in either direction, and the host's font is inherited", async ({ page, tenant }) => {
  await openHost(page, tenant);
  const w = page.locator("dynamics-connector");
  const button = w.getByRole("button", { name: "Create connection" });
  await expect(button).toBeVisible();
  // The host styles every button uppercase on a brand pill; the widget's buttons stay its own.
  expect(await button.evaluate((b) => getComputedStyle(b).textTransform)).toBe("none");
  expect(await button.evaluate((b) => getComputedStyle(b).borderRadius)).not.toBe("999px");
  const fonts = await page.evaluate(() => ({
    host: getComputedStyle(document.documentElement).fontFamily,
    widget: getComputedStyle(document.querySelector("dynamics-connector")!).fontFamily,
  }));
  expect(fonts.widget).toBe(fonts.host);
  await button.click();
  // Nothing was added to the document's styles; the host's own elements are untouched.
  const doc = await page.evaluate(() => ({
    styles: document.querySelectorAll("style").length,
    adopted: document.adoptedStyleSheets.length,
    sheets: [...document.styleSheets].map((s) => s.href ?? "inline"),
  }));
  expect(doc.styles).toBe(0);
  expect(doc.adopted).toBe(0);
  expect(doc.sheets.every((h) => h.endsWith("/host/host.css"))).toBe(true);
});

test("runs under the host's CSP (no inline script, no eval) without violations", async ({ page, tenant }) => {
  const violations: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  page.on("pageerror", (e) => violations.push(e.message));
  const w = await authorizedContoso(page, tenant);
  await jobRow(w, "Users → Users").getByRole("button", { name: "Runs" }).click();
  await expect(w.locator("dc-runs-view")).toBeVisible();
  expect(violations).toEqual([]);
});

test("fits a 360 px wide screen without horizontal scrolling", async ({ page, tenant }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  const w = await authorizedContoso(page, tenant);
  await expect(jobRow(w, "Accounts → Companies")).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await jobRow(w, "Accounts → Companies").getByRole("button", { name: "Runs" }).click();
  await expect(w.locator("dc-runs-view")).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
});

test("creating a connection works with the keyboard alone", async ({ page, tenant }) => {
  await openHost(page, tenant);
  const w = page.locator("dynamics-connector");
  await w.getByRole("button", { name: "Create connection" }).focus();
  await page.keyboard.press("Enter");
  await expect(w.getByLabel("Name", { exact: true })).toBeFocused();
  await page.keyboard.type("Keyboard Co");
  await page.keyboard.press("Tab");
  await expect(w.getByLabel("Environment URL")).toBeFocused();
  await page.keyboard.type(env().org("contoso").url);
  await page.keyboard.press("Enter");
  await expect(w.locator("dc-connection-card")).toContainText("Keyboard Co");
  // Focus moved to the new page's title (breadcrumb) so the next Tab continues from there.
  await expect(w.locator("nav [aria-current]")).toBeFocused();
});
