/**
 * Issue 16: the edge serves the built widget (Workers static assets under /widget/, wrangler.toml [assets] and
 * dist/_headers) and the demo host loads it from there with one cross-origin script tag, as a real host does.
 */
import { connectedContoso, env, expect, openHost, test } from "./fixtures";

test("the host page loads the widget from the edge's /widget/ and signs in through its own redirect page", async ({ page, tenant }) => {
  const fromEdge: string[] = [];
  page.context().on("response", (r) => {
    const u = new URL(r.url());
    if (u.origin === env().edgeUrl && u.pathname.startsWith("/widget/") && r.ok()) fromEdge.push(u.pathname);
  });
  await openHost(page, tenant);
  expect(fromEdge).toContain("/widget/dynamics-connector.js");
  // Nothing of the widget comes from the host's origin.
  expect(
    await page.evaluate(() =>
      performance
        .getEntriesByType("resource")
        .filter((e) => new URL(e.name).pathname.includes("dynamics-connector.js"))
        .map((e) => new URL(e.name).origin),
    ),
  ).toEqual([env().edgeUrl]);
  // The sign-in popup lands on the host's /signin-redirect.html, which runs the edge's redirect bridge.
  await connectedContoso(page, tenant);
  expect(fromEdge).toContain("/widget/redirect.js");
});

test("widget files carry their cache, CORS and CSP headers; API routes and 404s are the Worker's", async ({ request }) => {
  const edge = env().edgeUrl;
  const entry = await request.get(`${edge}/widget/dynamics-connector.js`, { headers: { origin: "https://host.example" } });
  expect(entry.status()).toBe(200);
  expect(entry.headers()["content-type"]).toMatch(/javascript/);
  expect(entry.headers()["cache-control"]).toBe("public, max-age=300, must-revalidate");
  expect(entry.headers()["access-control-allow-origin"]).toBe("*");
  expect(entry.headers()["x-content-type-options"]).toBe("nosniff");

  // A chunk the entry imports: hashed name, cached for good.
  const chunk = /from"\.\/(chunks\/[^"]+\.js)"/.exec(await entry.text())?.[1];
  expect(chunk).toBeTruthy();
  const c = await request.get(`${edge}/widget/${chunk}`);
  expect(c.status()).toBe(200);
  expect(c.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
  expect(c.headers()["access-control-allow-origin"]).toBe("*");

  const redirect = await request.get(`${edge}/widget/redirect.html`, { maxRedirects: 0 });
  expect(redirect.status()).toBe(200);
  expect(redirect.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
  expect(redirect.headers()["referrer-policy"]).toBe("no-referrer");
  expect(await redirect.text()).toContain("redirect.js");

  // Not served: the config files and the build manifest.
  for (const path of ["/_headers", "/.assetsignore", "/widget/.vite/manifest.json"]) expect((await request.get(`${edge}${path}`)).status(), path).toBe(404);
  // A missing widget file falls through to the Worker: its JSON 404.
  const missing = await request.get(`${edge}/widget/nope.js`);
  expect(missing.status()).toBe(404);
  expect((await missing.json()).error.code).toBe("not_found");
  // The API is unchanged.
  expect((await request.get(`${edge}/api/v1/health`)).ok()).toBe(true);
});
