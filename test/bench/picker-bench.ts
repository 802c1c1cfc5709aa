/** Entity picker latency in Chromium (Playwright): the pure filter per keystroke and the real <dc-combobox>. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { chromium } from "@playwright/test";
import { build } from "vite";
import { percentile } from "./lib/load";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const HERE = fileURLToPath(new URL(".", import.meta.url));

export interface PickerResult {
  entities: number;
  pure: { calls: number; p50: number; p99: number; max: number; queries: string[] };
  component: { keys: number; domP50: number; domP99: number; domMax: number; frameP50: number; frameP99: number; frameMax: number; typed: string };
  chromium: string;
}

const QUERIES_TYPED = ["opportunity", "sales order", "cont", "custom project", "msdyn"];

export async function benchPicker(executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"): Promise<PickerResult> {
  const out = mkdtempSync(join(tmpdir(), "dc-bench-picker-"));
  try {
    await build({
      configFile: false,
      root: join(HERE, "picker"),
      base: "./",
      logLevel: "warn",
      build: { outDir: out, emptyOutDir: true, target: "es2022", minify: true, modulePreload: { polyfill: false } },
    });
    const server = createServer(async (req, res) => {
      const p = join(out, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname).replace(/^\/+/, "") || "index.html");
      try {
        const body = await readFile(p.endsWith("/") || p === out ? join(out, "index.html") : p);
        res.writeHead(200, { "Content-Type": p.endsWith(".js") ? "text/javascript" : "text/html" });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/index.html`;
    const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      await page.goto(url);
      await page.waitForFunction(() => window.benchReady === true);
      const count = await page.evaluate(() => window.benchCount);
      // (a) pure filter: every prefix of each query, as typed, 50 repetitions after a warm-up.
      const prefixes = QUERIES_TYPED.flatMap((q) => Array.from({ length: q.length }, (_, i) => q.slice(0, i + 1)));
      await page.evaluate((qs) => window.pureFilter(qs, 5), prefixes);
      const pure = await page.evaluate((qs) => window.pureFilter(qs, 50), prefixes);
      const ps = Float64Array.from(pure.perCall).sort();
      // (b) the real component: real key presses through Playwright, one at a time.
      const input = page.locator("dc-combobox input");
      await input.click();
      const timings: Array<{ dom: number; frame: number }> = [];
      let typed = "";
      for (const q of QUERIES_TYPED) {
        for (const ch of q) {
          await page.evaluate((k) => (window as unknown as { expectKey(k: string): void }).expectKey(k), ch);
          await page.keyboard.press(ch === " " ? "Space" : ch);
          timings.push(await page.evaluate(() => window.waitKey()));
          typed += ch;
        }
        await input.fill(""); // reset between queries (not timed)
        typed += " | ";
      }
      const dom = Float64Array.from(timings.map((t) => t.dom)).sort();
      const frame = Float64Array.from(timings.map((t) => t.frame)).sort();
      return {
        entities: count,
        pure: { calls: ps.length, p50: percentile(ps, 50), p99: percentile(ps, 99), max: ps[ps.length - 1]!, queries: QUERIES_TYPED },
        component: {
          keys: timings.length,
          domP50: percentile(dom, 50),
          domP99: percentile(dom, 99),
          domMax: dom[dom.length - 1]!,
          frameP50: percentile(frame, 50),
          frameP99: percentile(frame, 99),
          frameMax: frame[frame.length - 1]!,
          typed,
        },
        chromium: browser.version(),
      };
    } finally {
      await browser.close();
      server.close();
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchPicker(), null, 2));
