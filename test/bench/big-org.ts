/**
 * The "big org" stage of `npm run bench`: a first full sync of the contoso accounts against an org whose pages take as
 * long as real Dataverse pages with annotations — the sandbox's `latencyPer1000RowsMs` = 400, so a 5,000-row page
 * takes 2 s and a `$top=1` query does not — once with one stream permit per organization (`ORG_STREAM_PERMITS=1`:
 * one stream, the single-stream read with fetch-ahead) and once with the default (4: a partitioned first load). Each on
 * a fresh stack (new edge, empty D1; run.ts drives them). The sandbox's stats give the most concurrent requests,
 * overall and per path. Here: preparing the org, reading its stats, and the report's row and section.
 */
import type { Stack } from "../../demo/stack";
import { delegatedToken, type RunView } from "./lib/edge";

/** 5,000 rows in 2 s, as the "2 s per page" for Dataverse's largest page. */
export const BIG_ORG_LATENCY_PER_1000_ROWS_MS = 400;

/** One configuration's first sync (and, with partitions, the two runs after it). */
export interface BigOrgRun {
  permits: number;
  rows: number;
  run: RunView;
  /** The run's own startedAt → finishedAt. */
  edgeMs: number;
  wallMs: number;
  /** Most requests in flight at the org at once, all paths (metadata included). */
  maxConcurrent: number;
  /** Most reads of the accounts table in flight at once (the page streams). */
  maxConcurrentPages: number;
  requests: number;
  exact: boolean;
  partitionNote: string | null;
  /** The isolate's heap during the first sync — max used, and the live set at its peak (after forced GCs) — when sampled. */
  heapMaxMB: number | null;
  heapLiveMB: number | null;
  workerdHwmMB: number;
  /** CPU seconds during the first sync: workerd (the edge isolate, its Durable Objects, local D1) and this Node process (the sandbox, the bench). */
  cpu: { workerdS: number; sandboxS: number };
  /** After a partitioned load: the run with change tracking (one full stream), then a run with nothing changed. */
  after: { baseline: { run: RunView; edgeMs: number }; delta: { run: RunView; edgeMs: number } } | null;
}

export interface BigOrgResult {
  latencyPer1000RowsMs: number;
  one: BigOrgRun;
  dflt: BigOrgRun;
}

async function control(orgUrl: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${orgUrl}/_sandbox/${path}`, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`sandbox ${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** Responses of the org take this long per 1,000 rows they return (the sandbox's `latencyPer1000RowsMs`). */
export async function setPageTimes(orgUrl: string, latencyPer1000RowsMs: number): Promise<void> {
  await control(orgUrl, "PUT", "settings", { latencyPer1000RowsMs, pageLatencyMs: 0 });
}

/** The org as the stage measures it: its scan warmed, Dataverse-like page times, stats from zero. */
export async function prepareBigOrg(stack: Stack, orgUrl: string): Promise<void> {
  // The sandbox generates rows on the fly; a filtered scan keeps them (docs/sandbox.md "Memory and speed"), as
  // Dataverse would answer from an index. Warm that once, before either configuration is measured.
  const warm = await fetch(`${orgUrl}/api/data/v9.2/accounts?$select=createdon&$orderby=createdon asc&$top=1`, {
    headers: { Authorization: `Bearer ${await delegatedToken(stack, orgUrl)}` },
  });
  if (!warm.ok) throw new Error(`warming the sandbox's scan: ${warm.status} ${await warm.text()}`);
  await setPageTimes(orgUrl, BIG_ORG_LATENCY_PER_1000_ROWS_MS);
  await control(orgUrl, "DELETE", "stats");
}

/** What the org saw since prepareBigOrg: the most concurrent requests (all, and reads of accounts) and their number. */
export async function bigOrgStats(orgUrl: string): Promise<Pick<BigOrgRun, "maxConcurrent" | "maxConcurrentPages" | "requests">> {
  const stats = (await control(orgUrl, "GET", "stats")) as { maxConcurrent: number; maxConcurrentByPath: Record<string, number>; total: number };
  return { maxConcurrent: stats.maxConcurrent, maxConcurrentPages: stats.maxConcurrentByPath.accounts ?? 0, requests: stats.total };
}

export function isExact(run: RunView, rows: number): boolean {
  return run.counts.read === rows && run.counts.inserted === rows && run.counts.failed === 0;
}

export const partitionNoteOf = (run: RunView): string | null => (run.notes ?? []).find((n) => n.startsWith("partitioned first load")) ?? null;

const s1 = (ms: number) => (ms / 1000).toFixed(1);

/** The Results table's row. */
export function bigOrgRow(r: BigOrgResult): string {
  const speedup = r.one.edgeMs / r.dflt.edgeMs;
  const met = speedup >= 3 && r.dflt.edgeMs <= 13_000 && r.dflt.maxConcurrent <= 8 && r.one.exact && r.dflt.exact;
  return `| Big org first sync, ${r.one.rows.toLocaleString("en-US")} rows at 2 s per 5,000-row page | 4 permits ${s1(r.dflt.edgeMs)} s vs 1 permit ${s1(r.one.edgeMs)} s; most concurrent requests ${r.dflt.maxConcurrent} | **${speedup.toFixed(1)}×** faster, counts ${r.one.exact && r.dflt.exact ? "exact" : "NOT exact"} | ≥ 3×, ≤ 13 s, ≤ 8 concurrent — ${met ? "✅ met" : "❌ missed"} |`;
}

/** The stage's own section of docs/benchmarks.md. */
export function bigOrgSection(r: BigOrgResult): string {
  const mb = (x: number | null) => (x === null ? "n/a" : `${x.toFixed(1)} MB`);
  const line = (x: BigOrgRun) =>
    `| ${x.permits} | ${x.partitionNote ? x.partitionNote.replace(/^partitioned first load: /, "") : "one stream (fetch-ahead)"} | ${s1(x.edgeMs)} | ${s1(x.wallMs)} | ${(x.run.counts.read ?? 0).toLocaleString("en-US")} / ${(x.run.counts.inserted ?? 0).toLocaleString("en-US")} / ${x.run.counts.failed ?? 0} | ${x.maxConcurrentPages} | ${x.maxConcurrent} | ${x.requests} | ${mb(x.heapLiveMB)} / ${mb(x.heapMaxMB)} | ${mb(x.workerdHwmMB)} | ${x.cpu.workerdS.toFixed(1)} / ${x.cpu.sandboxS.toFixed(1)} |`;
  const after = r.dflt.after;
  const afterText = after
    ? [
        "",
        `After the partitioned load (4 permits): the next run is the one full read with change tracking that gives the job its`,
        `delta link — strategy \`${after.baseline.run.strategy}\`, read ${(after.baseline.run.counts.read ?? 0).toLocaleString("en-US")}, updated ${(after.baseline.run.counts.updated ?? 0).toLocaleString("en-US")}, ${s1(after.baseline.edgeMs)} s (one stream);`,
        `the run after it reads changes only — strategy \`${after.delta.run.strategy}\`, read ${(after.delta.run.counts.read ?? 0).toLocaleString("en-US")}, ${s1(after.delta.edgeMs)} s.`,
      ]
    : [];
  return [
    "## Big org: partitioned first sync under per-org permits",
    "",
    `A first full sync of ${r.one.rows.toLocaleString("en-US")} accounts (the Companies job) against a sandbox org whose responses take`,
    `${r.latencyPer1000RowsMs} ms per 1,000 rows returned (a 5,000-row page: 2 s; a \`$top=1\` query: ~0 s), each configuration on a fresh`,
    "stack (new edge, empty D1). `ORG_STREAM_PERMITS=1` reads with one stream (no partitions: the single-stream read",
    "with fetch-ahead); the default, 4, partitions the first load into createdon ranges read side by side. The timed runs",
    "are unobserved (workerd without an inspector port: with one, even idle, the same sync took ~15% longer); the heap of",
    "the partitioned load is from one more four-permit load on its own fresh stack, with the inspector and the memory",
    "stage's sampler (every other sample after a forced GC). The single stream's heap is the memory stage's.",
    "",
    "| permits | read | s (startedAt→finishedAt) | s (wall, POST→poll, polled every 1 s) | read / inserted / failed | most concurrent page reads | most concurrent requests (all) | requests | isolate heap: live set at its peak / max used | workerd peak RSS | CPU s: workerd / sandbox+bench |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    line(r.one),
    line(r.dflt),
    "",
    `Speed-up: **${(r.one.edgeMs / r.dflt.edgeMs).toFixed(2)}×**. The sandbox's \`maxConcurrentByPath.accounts\` counts the page reads in flight at once;`,
    "the overall figure includes the run's metadata reads (the table's attribute casts are read 8 at a time at init).",
    ...afterText,
  ].join("\n");
}

const BIG_ORG_START = "<!-- big-org: generated by npm run bench (--only big-org refreshes this section alone) -->";
const BIG_ORG_END = "<!-- /big-org -->";
const BIG_ORG_ROW = "| Big org first sync";

/** The section between its markers, for docs/benchmarks.md. */
export function bigOrgBlock(r: BigOrgResult): string {
  return `${BIG_ORG_START}\n${bigOrgSection(r)}\n${BIG_ORG_END}`;
}

/** Replaces the section and the results row of an earlier run (or adds them: before `before`, after the table's rows). */
export function spliceBigOrg(md: string, r: BigOrgResult, before: string): string {
  const block = bigOrgBlock(r);
  const start = md.indexOf(BIG_ORG_START);
  const end = md.indexOf(BIG_ORG_END);
  const out = start >= 0 && end > start ? md.slice(0, start) + block + md.slice(end + BIG_ORG_END.length) : md.replace(before, `${block}\n\n${before}`);
  const lines = out.split("\n").filter((l) => !l.startsWith(BIG_ORG_ROW));
  const header = lines.findIndex((l) => l.startsWith("| figure |"));
  if (header >= 0) {
    let i = header + 2;
    while (i < lines.length && lines[i]!.startsWith("|")) i++;
    lines.splice(i, 0, bigOrgRow(r));
  }
  return lines.join("\n");
}
