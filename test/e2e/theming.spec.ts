/**
 * Issue 16: theming from the host page — custom properties on the element and `::part()` selectors reach the views
 * inside the widget's shadow roots (the inner elements forward their parts with exportparts).
 */
import { authorizedContoso, expect, test } from "./fixtures";

test("a host page's custom properties and ::part() rules style the widget's inner views", async ({ page, tenant }) => {
  const w = await authorizedContoso(page, tenant);
  // The host page's CSP allows only its own stylesheets: add the rules through the CSSOM, as a host's stylesheet would.
  await page.evaluate(() => {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(`
      dynamics-connector { --dc-accent: rgb(1, 2, 3); }
      dynamics-connector::part(connections) { outline: 3px solid rgb(200, 0, 0); }
      dynamics-connector::part(connection-card) { outline: 4px solid rgb(0, 150, 0); }
      dynamics-connector::part(readiness) { outline: 5px solid rgb(0, 0, 200); }
      dynamics-connector::part(jobs) { outline: 6px solid rgb(0, 0, 100); }
    `);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  });
  await expect(w.locator("dc-connection-card article").first()).toHaveCSS("outline-width", "4px");
  await expect(w.locator("dc-readiness-report section").first()).toHaveCSS("outline-width", "5px");
  await expect(w.locator("dc-jobs-table section").first()).toHaveCSS("outline-width", "6px");

  await w.getByRole("button", { name: "Connections" }).click();
  await expect(w.locator("dc-connections-view section").first()).toHaveCSS("outline-color", "rgb(200, 0, 0)");
  await expect(w.locator("dc-connection-card article").first()).toHaveCSS("outline-width", "4px");
  await expect(w.locator("dc-connections-view").getByRole("button", { name: "Create connection" }).first()).toHaveCSS("background-color", "rgb(1, 2, 3)");
});
