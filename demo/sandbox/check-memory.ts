/**
 * Pages through N accounts (default 100,000) with Prefer: odata.maxpagesize=5000 against an in-process sandbox and
 * reports process RSS growth. `npx tsx demo/sandbox/check-memory.ts [--rows 100000] [--select name,revenue]`
 * Exit code 1 when the growth exceeds --limit-mb (default 200).
 */
import { parseArgs } from "node:util";
import { startSandbox } from "./index";

export interface MemoryReport {
  rows: number;
  pages: number;
  seconds: number;
  rssStartMb: number;
  rssPeakMb: number;
  rssEndMb: number;
  growthMb: number;
}

export async function checkMemory(rows: number, select?: string): Promise<MemoryReport> {
  const mb = (n: number): number => Math.round((n / 1048576) * 10) / 10;
  const sb = await startSandbox({ rows, quiet: true });
  try {
    const org = sb.orgs[0]!;
    const app = sb.apps[0]!;
    const tr = await fetch(`${sb.identity.httpUrl}/${org.tenantId}/oauth2/v2.0/token`, {
      method: "POST",
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: app.clientId, client_secret: app.clientSecret, scope: `${org.url}/.default` }),
    });
    const { access_token } = (await tr.json()) as { access_token: string };
    globalThis.gc?.();
    const start = process.memoryUsage().rss;
    let peak = start;
    const t0 = Date.now();
    let next: string | undefined = `${org.url}/api/data/v9.2/accounts${select ? `?$select=${select}` : ""}`;
    let n = 0;
    let pages = 0;
    let last = "";
    while (next) {
      const r = await fetch(next, { headers: { Authorization: `Bearer ${access_token}`, Prefer: 'odata.maxpagesize=5000, odata.include-annotations="*"' } });
      if (r.status !== 200) throw new Error(`page ${pages + 1}: HTTP ${r.status} ${await r.text()}`);
      const body = (await r.json()) as { value: Array<{ accountid: string }>; "@odata.nextLink"?: string };
      for (const row of body.value) {
        if (row.accountid <= last) throw new Error(`order broken at ${row.accountid}`);
        last = row.accountid;
      }
      n += body.value.length;
      pages++;
      next = body["@odata.nextLink"];
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    if (n !== rows) throw new Error(`expected ${rows} rows, got ${n}`);
    globalThis.gc?.();
    const end = process.memoryUsage().rss;
    return { rows: n, pages, seconds: (Date.now() - t0) / 1000, rssStartMb: mb(start), rssPeakMb: mb(peak), rssEndMb: mb(end), growthMb: mb(peak - start) };
  } finally {
    await sb.stop();
  }
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const { values } = parseArgs({
    options: { rows: { type: "string", default: "100000" }, select: { type: "string" }, "limit-mb": { type: "string", default: "200" } },
  });
  const report = await checkMemory(Number(values.rows), values.select);
  console.log(JSON.stringify(report, null, 2));
  if (report.growthMb > Number(values["limit-mb"])) {
    console.error(`RSS grew by ${report.growthMb} MB (limit ${values["limit-mb"]} MB)`);
    process.exit(1);
  }
}
