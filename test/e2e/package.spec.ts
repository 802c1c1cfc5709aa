/**
 * Issue 16: the widget as a package — exports with types, custom-elements.json, typed element/events for a host's
 * TypeScript, and the React wrapper in a React host page (demo/react-host/) in Chromium. Runs after `npm run build`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createConnection, env, expect, test } from "./fixtures";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  exports: Record<string, string | Record<string, string>>;
  types: string;
  customElements: string;
};

interface CemDeclaration {
  tagName?: string;
  attributes?: Array<{ name: string; fieldName?: string }>;
  members?: Array<{ name: string; kind: string; privacy?: string }>;
  events?: Array<{ name: string; type?: { text: string } }>;
  cssParts?: Array<{ name: string }>;
  cssProperties?: Array<{ name: string; default?: string }>;
}

test("every export of package.json points at a built file; types and custom-elements.json are there", () => {
  const targets = Object.values(pkg.exports).flatMap((t) => (typeof t === "string" ? [t] : Object.values(t)));
  expect(targets.length).toBeGreaterThan(5);
  for (const t of [...targets, pkg.types, pkg.customElements]) expect(existsSync(join(ROOT, t)), t).toBe(true);
  const types = readFileSync(join(ROOT, pkg.types), "utf8");
  expect(types).toContain('"dynamics-connector": DynamicsConnector');
  expect(types).toMatch(/interface GlobalEventHandlersEventMap/);
});

test("custom-elements.json describes <dynamics-connector>: attributes, properties, events, CSS parts and custom properties", () => {
  const cem = JSON.parse(readFileSync(join(ROOT, pkg.customElements), "utf8")) as { modules: Array<{ path: string; declarations: CemDeclaration[] }> };
  const decl = cem.modules.flatMap((m) => m.declarations).find((d) => d.tagName === "dynamics-connector");
  expect(decl).toBeTruthy();
  expect(existsSync(join(ROOT, cem.modules[0]!.path))).toBe(true);
  expect(decl!.attributes!.map((a) => a.name)).toEqual(expect.arrayContaining(["api-base", "client-id", "authority", "redirect-uri", "theme", "locale"]));
  const publicMembers = decl!.members!.filter((m) => m.kind === "field" && !m.privacy).map((m) => m.name);
  expect(publicMembers).toEqual(expect.arrayContaining(["apiBase", "clientId", "getHostToken", "locale"]));
  expect(publicMembers.filter((n) => n.startsWith("_"))).toEqual([]);
  expect(decl!.events!.map((e) => e.name).sort()).toEqual(
    ["dc-connection-authorized", "dc-connection-created", "dc-error", "dc-job-saved", "dc-request-delete", "dc-run-finished", "dc-run-started"].sort(),
  );
  expect(decl!.events!.every((e) => e.type?.text.startsWith("CustomEvent<"))).toBe(true);
  expect(decl!.cssParts!.map((p) => p.name)).toEqual(
    expect.arrayContaining(["shell", "connections", "jobs", "runs", "readiness", "error-banner", "status-chip"]),
  );
  expect(decl!.cssProperties!.find((p) => p.name === "--dc-accent")?.default).toBe("#0f6cbd");
});

test("a host's TypeScript gets the element from its tag, typed event details and typed React props", () => {
  const r = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "test/e2e/package-consumer/tsconfig.json"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  expect(r.stdout + r.stderr).toBe("");
  expect(r.status).toBe(0);
});

test("React host page: the wrapper renders the widget, passes properties and delivers its events to on… props", async ({ page, tenant }) => {
  await page.goto(`${env().hostUrl}/react/?tenant=${encodeURIComponent(tenant)}`);
  const w = page.locator("dynamics-connector");
  await expect(w.getByText("Microsoft Dynamics 365", { exact: true })).toBeVisible();
  // getHostToken (a function prop) reached the element: the connections list loaded from the edge.
  await expect(w.getByRole("button", { name: "Create connection" }).first()).toBeVisible();
  await createConnection(page, "From React", env().org("contoso").url);
  await expect(page.locator("#event-log")).toContainText("connection created: From React");
  // A prop change reaches the element: the React page's language picker sets `locale`.
  await page.getByLabel("Widget language").selectOption("fr");
  await expect(w.locator("dc-connection-card").getByRole("button", { name: "Autoriser" })).toBeVisible();
});
