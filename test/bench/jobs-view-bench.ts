/**
 * The widget's jobs view at a customer's size, in Chromium against the real stack (sandbox + edge + demo host page):
 * a connection with N jobs (made through the API), then Open → the jobs table. Measured per N: the edge API requests
 * the page sends, the time from the click to the table being interactive, the elements in the widget's shadow trees,
 * a search keystroke's time to the next frame, and GET /jobs on its own.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Page } from "@playwright/test";
import { startStack, type Stack } from "../../demo/stack";
import { EdgeClient, hostToken } from "./lib/edge";
import { percentile } from "./lib/load";
import { CHROMIUM_ARGS } from "./picker-bench";

export interface JobsViewFigures {
  jobs: number;
  /** Edge API requests from the page load to the table settled (GET /connections included). */
  requests: number;
  /** Of those, requests for runs (the old view sent one per job). */
  runRequests: number;
  /** The requests by method and path (ids and queries left out), with their counts: worst sample. */
  requestPaths: Record<string, number>;
  /** Click on "Open" → the table's rows and last runs rendered, to the next animation frame (median of `samples`). */
  interactiveMs: number;
  interactiveMaxMs: number;
  samples: number;
  /** Long tasks (> 50 ms) on the main thread in that window, summed (worst sample). */
  longTaskMs: number;
  /** Table rows in the DOM once interactive. */
  rows: number;
  /** Elements in the widget's shadow trees once interactive. */
  elements: number;
  /** A search keystroke → filtered rows rendered, to the next frame: p50 and max over the typed queries. */
  searchP50Ms: number;
  searchMaxMs: number;
  /** GET /jobs?connectionId= alone (Node fetch on loopback): median of 10. */
  getJobsMs: number;
  getJobsBytes: number;
  /** Creating the N jobs through the API (8 at a time), not part of the view. */
  setupS: number;
}

export interface JobsViewResult {
  sizes: JobsViewFigures[];
  chromium: string;
}

const SAMPLES = 5;
const QUERIES = ["job 1", "job 19", "job 999", "contact", ""];

/** A connection (never authorized: the view needs no Dynamics) with `n` disabled jobs of alternating tables. */
async function connectionWithJobs(api: EdgeClient, orgUrl: string, n: number): Promise<string> {
  const conn = await api.req<{ id: string }>("POST", "/connections", { name: `Bench ${n} jobs`, orgUrl });
  await api.req("GET", "/objects"); // the tenant's standard objects (Company) exist from its first read
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < n; i = next++) {
        const contact = i % 2 === 1;
        await api.req("POST", "/jobs", {
          connectionId: conn.id,
          name: `Job ${String(i).padStart(4, "0")}`,
          enabled: false,
          source: { entity: contact ? "contact" : "account" },
          target: { object: "Company" },
          identifiers: [{ source: contact ? "contactid" : "accountid", target: "DynamicsId" }],
          mappings: [{ source: contact ? "fullname" : "name", target: "Name" }],
        });
      }
    }),
  );
  return conn.id;
}

/**
 * Timing code that runs in the page, as plain JavaScript: tsx would wrap named functions passed to page.evaluate in
 * its `__name` helper, which the page does not have. Installed as `window.dcJobsBench` before the page's own scripts.
 */
const IN_PAGE = `
window.dcJobsBench = (() => {
  const deep = (root, sel) => {
    const hit = root.querySelector(sel);
    if (hit) return hit;
    for (const el of root.querySelectorAll("*")) {
      const found = el.shadowRoot ? deep(el.shadowRoot, sel) : null;
      if (found) return found;
    }
    return null;
  };
  const countDeep = (root) => {
    let n = 0;
    for (const el of root.querySelectorAll("*")) {
      n++;
      if (el.shadowRoot) n += countDeep(el.shadowRoot);
    }
    return n;
  };
  const frame = () => new Promise((r) => requestAnimationFrame(r));
  // Clicks the connection's Open; resolves when the jobs table shows its rows with their last runs (no skeleton).
  const openAndTime = async (expected) => {
    let longTaskMs = 0;
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) longTaskMs += e.duration;
    });
    obs.observe({ type: "longtask" });
    const card = deep(document, "dc-connection-card");
    const open = [...(card?.shadowRoot?.querySelectorAll("button") ?? [])].find((b) => b.textContent.trim() === "Open");
    if (!open) throw new Error("no Open button on the connection card");
    const t0 = performance.now();
    open.click();
    for (;;) {
      await frame();
      const table = deep(document, "dc-jobs-table")?.shadowRoot;
      const rows = table?.querySelectorAll("tbody tr").length ?? 0;
      if (table && rows === expected && !table.querySelector("tbody .skeleton")) {
        await frame(); // the frame that shows it
        const ms = performance.now() - t0;
        obs.disconnect();
        return { ms, longTaskMs, rows, elements: countDeep(document.querySelector("dynamics-connector").shadowRoot) };
      }
      if (performance.now() - t0 > 60000) throw new Error("the jobs table did not show " + expected + " rows within 60 s (saw " + rows + ")");
    }
  };
  // Sets each query into the jobs search; time from the input event to the frame after Lit's update and layout.
  const searchTimes = async (queries) => {
    const table = deep(document, "dc-jobs-table");
    const input = table.shadowRoot.querySelector("#dc-jobs-search");
    const out = [];
    for (const q of queries) {
      const t0 = performance.now();
      input.value = q;
      input.dispatchEvent(new Event("input", { bubbles: true, composed: true }));
      await table.updateComplete;
      table.getBoundingClientRect();
      await frame();
      out.push(performance.now() - t0);
    }
    return out;
  };
  return { openAndTime, searchTimes };
})();
`;

interface InPage {
  openAndTime(expected: number): Promise<{ ms: number; longTaskMs: number; rows: number; elements: number }>;
  searchTimes(queries: string[]): Promise<number[]>;
}
declare global {
  interface Window {
    dcJobsBench: InPage;
  }
}

const openAndTime = (page: Page, expected: number) => page.evaluate((n) => window.dcJobsBench.openAndTime(n), expected);
const searchTimes = (page: Page, queries: string[]) => page.evaluate((qs) => window.dcJobsBench.searchTimes(qs), queries);

async function measureSize(stack: Stack, browser: Awaited<ReturnType<typeof chromium.launch>>, n: number, log: (s: string) => void): Promise<JobsViewFigures> {
  const tenant = `bench-jobs-${n}-${Date.now().toString(36)}`;
  const api = new EdgeClient(stack.edgeUrl, await hostToken(stack.hostJwtSecret, tenant));
  const org = stack.sandbox.orgs.find((o) => o.key === "contoso") ?? stack.sandbox.orgs[0]!;
  const t0 = performance.now();
  const connectionId = await connectionWithJobs(api, org.url, n);
  const setupS = (performance.now() - t0) / 1000;
  log(`  ${n} jobs created in ${setupS.toFixed(1)} s`);

  const getJobs: number[] = [];
  let getJobsBytes = 0;
  for (let i = 0; i < 11; i++) {
    const s = performance.now();
    const r = await fetch(`${stack.edgeUrl}/api/v1/jobs?connectionId=${connectionId}`, { headers: api.headers() });
    const body = await r.arrayBuffer();
    if (!r.ok) throw new Error(`GET /jobs → ${r.status}`);
    if (i > 0) getJobs.push(performance.now() - s); // the first warms the isolate
    getJobsBytes = body.byteLength;
  }
  getJobs.sort((a, b) => a - b);

  const apiPath = `${new URL(stack.edgeUrl).host}/api/v1/`;
  const times: number[] = [];
  let longTaskMs = 0;
  let last: { rows: number; elements: number } = { rows: 0, elements: 0 };
  let requests: string[] = [];
  let search: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ignoreHTTPSErrors: true });
    try {
      await context.addInitScript({ content: IN_PAGE });
      const page = await context.newPage();
      const seen: string[] = [];
      page.on("request", (r) => {
        if (r.url().includes(apiPath) && r.method() !== "OPTIONS") seen.push(`${r.method()} ${new URL(r.url()).pathname.replace(/\/api\/v1/, "")}`);
      });
      // Generous timeouts: the machine is shared, and a slow load is not what is measured (the click → table is).
      await page.goto(`${stack.hostUrl}/settings/integrations?tenant=${encodeURIComponent(tenant)}`, { waitUntil: "domcontentloaded", timeout: 120_000 });
      await page
        .locator("dynamics-connector")
        .getByRole("button", { name: "Open" })
        .waitFor({ timeout: 120_000 })
        .catch(async (e: unknown) => {
          const shot = join(tmpdir(), `dc-bench-jobs-view-${n}.png`);
          await page.screenshot({ path: shot, fullPage: true });
          throw new Error(`${e instanceof Error ? e.message.split("\n")[0] : String(e)} (the page: ${shot})`);
        });
      const r = await openAndTime(page, Math.min(n, 50));
      await page.waitForLoadState("networkidle");
      times.push(r.ms);
      longTaskMs = Math.max(longTaskMs, r.longTaskMs);
      last = r;
      if (seen.length >= requests.length) requests = seen;
      if (s === SAMPLES - 1) {
        await searchTimes(page, ["warm", ""]);
        search = await searchTimes(page, QUERIES);
      }
    } finally {
      await context.close();
    }
  }
  times.sort((a, b) => a - b);
  const sortedSearch = [...search].sort((a, b) => a - b);
  return {
    jobs: n,
    requests: requests.length,
    runRequests: requests.filter((r) => r.includes("/runs")).length,
    requestPaths: requests.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r]: (acc[r] ?? 0) + 1 }), {}),
    interactiveMs: percentile(times, 50),
    interactiveMaxMs: times[times.length - 1]!,
    samples: SAMPLES,
    longTaskMs,
    rows: last.rows,
    elements: last.elements,
    searchP50Ms: percentile(sortedSearch, 50),
    searchMaxMs: sortedSearch[sortedSearch.length - 1]!,
    getJobsMs: percentile(getJobs, 50),
    getJobsBytes,
    setupS,
  };
}

/** Starts its own stack (the widget is built if dist/ is missing), measures each size, stops the stack. */
export async function benchJobsView(
  sizes: number[],
  log: (s: string) => void,
  executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
): Promise<JobsViewResult> {
  const dir = mkdtempSync(join(tmpdir(), "dc-bench-jobs-view-"));
  const stack = await startStack({
    persistTo: join(dir, "state"),
    rows: 100,
    build: "if-missing",
    allowTenantOverride: true,
    log: (l) => log(l),
    // 1,000 jobs for one tenant: over a deployment's default quota (200, docs/api.md "Quotas"), raised for this stage.
    edgeVars: { QUOTA_JOBS_PER_TENANT: String(Math.max(...sizes) + 10) },
  });
  try {
    const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    try {
      const out: JobsViewFigures[] = [];
      for (const n of sizes) {
        log(`jobs view with ${n} jobs…`);
        const f = await measureSize(stack, browser, n, log);
        log(
          `  ${f.requests} API requests (${f.runRequests} for runs), interactive in ${f.interactiveMs.toFixed(0)} ms (max ${f.interactiveMaxMs.toFixed(0)}), ${f.elements} elements, search p50 ${f.searchP50Ms.toFixed(1)} ms`,
        );
        out.push(f);
      }
      return { sizes: out, chromium: browser.version() };
    } finally {
      await browser.close();
    }
  } finally {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------- report ----------
/** Markers around the generated "Jobs view" section, so `--only jobs-view` can replace it alone. */
export const JOBS_VIEW_START = "<!-- jobs-view: generated by npm run bench (--only jobs-view refreshes this section alone) -->";
export const JOBS_VIEW_END = "<!-- /jobs-view -->";
/** Rows of the results table this stage owns (their first cell starts with this). */
export const JOBS_VIEW_ROW = "| Jobs view";
/** The view's requests may not grow with the number of jobs: GET /connections, GET /jobs, GET /objects. */
export const JOBS_VIEW_MAX_REQUESTS = 3;

const n0 = (x: number, d = 0) => x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

export function jobsViewRows(r: JobsViewResult | { error: string } | undefined): string[] {
  if (!r || "error" in r) return [`${JOBS_VIEW_ROW} | ${r ? "not measured (failed)" : "n/a"} | | ≤ ${JOBS_VIEW_MAX_REQUESTS} requests |`];
  return r.sizes.map(
    (f) =>
      `${JOBS_VIEW_ROW}, ${n0(f.jobs)} jobs | **${f.requests} API requests** (${f.runRequests} for runs); interactive in ${n0(f.interactiveMs)} ms (median of ${f.samples}) | ${n0(f.rows)} rows, ${n0(f.elements)} elements in the DOM | ≤ ${JOBS_VIEW_MAX_REQUESTS} requests whatever the jobs — ${f.requests <= JOBS_VIEW_MAX_REQUESTS && f.runRequests === 0 ? "✅ met" : "❌ missed"} |`,
  );
}

export function jobsViewSection(r: JobsViewResult | { error: string } | undefined, startedAt: string): string {
  const body =
    !r || "error" in r
      ? `\n${r ? `Not measured: ${r.error.split("\n")[0]}` : "Skipped."}\n`
      : `
Measured ${startedAt} by \`npm run bench -- --only jobs-view\` (\`test/bench/jobs-view-bench.ts\`), ${r.chromium} headless, against the demo
stack (sandbox + edge + demo host page). Per size: a host tenant with one connection and N disabled jobs made through
the API, then the connection page opened from a fresh browser context ${r.sizes[0]?.samples ?? ""} times.

| jobs | API requests (for runs) | click → table interactive, median (max) | long tasks | rows / elements in the widget | search keystroke → frame, p50 (max) | GET /jobs alone, median | its body |
|---|---|---|---|---|---|---|---|
${r.sizes
  .map(
    (f) =>
      `| ${n0(f.jobs)} | ${f.requests} (${f.runRequests}) | ${n0(f.interactiveMs)} ms (${n0(f.interactiveMaxMs)} ms) | ${n0(f.longTaskMs)} ms | ${n0(f.rows)} / ${n0(f.elements)} | ${n0(f.searchP50Ms, 1)} ms (${n0(f.searchMaxMs, 1)} ms) | ${n0(f.getJobsMs)} ms | ${n0(f.getJobsBytes / 1024, 1)} KB |`,
  )
  .join("\n")}

- **API requests**: every edge request the page sent from its load until the network was idle with the table shown
  (the worst of the samples): ${r.sizes
    .map(
      (f) =>
        `${n0(f.jobs)} jobs: ${Object.entries(f.requestPaths)
          .map(([p, c]) => (c > 1 ? `${p} ×${c}` : p))
          .join(", ")}`,
    )
    .join("; ")}.
  \`GET /jobs?connectionId=\` carries each job's \`lastRun\` (one D1 query).
  Before (issue 18), the view sent one \`GET /jobs/:id/runs?limit=1\` per job: 203 requests for 200 jobs.
- **Interactive**: from the click on the connection's "Open" to the animation frame after the table shows its rows
  with their last runs (no skeleton left), measured in the page; long tasks are the main thread's tasks over 50 ms in
  that window (worst sample). Rows are paged 50 at a time, so the DOM does not grow with the jobs (issue 18 saw ~3,900
  elements for 200 rows).
- **Search**: queries ${QUERIES.map((q) => `"${q}"`).join(", ")} set into "Search jobs" one at a time; from the input event to the frame
  after Lit's update (style and layout forced).
- **GET /jobs alone**: loopback fetch from Node, median of 10 after one warm-up: the KV list and bulk reads of the jobs
  (100 a read, \`listValues\` in \`edge/src/stores/kv.ts\`), the one D1 query for the last runs, and the JSON.
- Creating the jobs (not part of the view) took ${r.sizes.map((f) => `${n0(f.setupS, 1)} s for ${n0(f.jobs)}`).join(", ")} (8 POSTs at a time).
`;
  return `${JOBS_VIEW_START}\n## Jobs view\n${body}${JOBS_VIEW_END}`;
}

/**
 * `--only jobs-view`: puts this stage's section and rows into an existing docs/benchmarks.md, leaving every other
 * figure as the last full run wrote it.
 */
export function spliceJobsView(md: string, r: JobsViewResult | { error: string }, startedAt: string, analysisMarker: string): string {
  const section = jobsViewSection(r, startedAt);
  const start = md.indexOf(JOBS_VIEW_START);
  const end = md.indexOf(JOBS_VIEW_END);
  let out =
    start >= 0 && end > start
      ? md.slice(0, start) + section + md.slice(end + JOBS_VIEW_END.length)
      : md.replace(/\n## Edge API under load/, `\n${section}\n\n## Edge API under load`);
  if (!out.includes(section)) out = out.replace(analysisMarker, `${section}\n\n${analysisMarker}`);
  const lines = out.split("\n").filter((l) => !l.startsWith(JOBS_VIEW_ROW));
  // The results table: its rows follow the "| figure |" header; ours go last.
  const header = lines.findIndex((l) => l.startsWith("| figure |"));
  if (header >= 0) {
    let i = header + 2;
    while (i < lines.length && lines[i]!.startsWith("|")) i++;
    lines.splice(i, 0, ...jobsViewRows(r));
  }
  return lines.join("\n");
}
