/** Starts the benchmark-only Worker (test/bench/raw-pipe) in its own process (demo/edge-process.ts) and drives its stages. */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startEdgeProcess } from "../../../demo/edge-process";
import { REPO_ROOT } from "../../../demo/host/server";
import { freePort, writeEdgeEnvFile, type Stack } from "../../../demo/stack";

export const RAW_PIPE_CONFIG = join(REPO_ROOT, "test", "bench", "raw-pipe", "wrangler.toml");

export interface RawPipe {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startRawPipe(stack: Stack, persistTo: string): Promise<RawPipe> {
  const app = stack.sandbox.apps[0]!;
  const envFile = join(persistTo, "raw-pipe.env");
  mkdirSync(persistTo, { recursive: true });
  writeEdgeEnvFile(envFile, { DYNAMICS_CLIENT_ID: app.clientId, DYNAMICS_CLIENT_SECRET: app.clientSecret });
  const worker = await startEdgeProcess({
    config: RAW_PIPE_CONFIG,
    port: await freePort(),
    persistTo,
    envFile,
    logLevel: "warn",
    healthPath: "/health",
    keepOutput: 8000,
    vars: { AUTHORITY_HOST: stack.sandbox.identity.httpUrl },
  });
  return { url: worker.url, pid: worker.pid, stop: () => worker.stop() };
}

export interface StageResult {
  mode: string;
  pages: number;
  rows: number;
  mappedOk: number;
  statements: number;
  /** Page loop time measured inside the Worker (first request → last page handled). */
  ms: number;
  initMs: number;
  wallMs: number;
  deltaLink: boolean;
  select: string[];
}

/**
 * Runs one stage over the whole entity: this process follows the nextLinks, the Worker does each page step.
 * `ms` sums the in-Worker page times (fetch → parse [→ map → write]); `wallMs` adds the loopback hop per page.
 */
export async function runStage(pipe: RawPipe, mode: "raw" | "map" | "write", body: Record<string, unknown>): Promise<StageResult> {
  const t0 = performance.now();
  let path: string | null = null;
  let pages = 0;
  let rows = 0;
  let mappedOk = 0;
  let statements = 0;
  let ms = 0;
  let initMs = 0;
  let deltaLink = false;
  let select: string[];
  do {
    const r = await fetch(`${pipe.url}/page?mode=${mode}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ...body, path }),
    });
    const j = (await r.json()) as {
      error?: string;
      rows: number;
      mappedOk: number;
      statements: number;
      ms: number;
      initMs: number;
      nextLink: string | null;
      deltaLink: string | null;
      select: string[];
    };
    if (!r.ok || j.error) throw new Error(`raw-pipe ${mode} page ${pages + 1}: ${j.error ?? r.status}`);
    pages++;
    rows += j.rows;
    mappedOk += j.mappedOk;
    statements += j.statements;
    ms += j.ms;
    initMs += j.initMs;
    select = j.select;
    path = j.nextLink;
    if (!path) deltaLink = j.deltaLink !== null;
  } while (path);
  return { mode, pages, rows, mappedOk, statements, ms, initMs, wallMs: performance.now() - t0, deltaLink, select };
}
