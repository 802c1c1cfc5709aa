/** Starts the benchmark-only Worker (test/bench/raw-pipe) under its own `wrangler dev` and drives its stages. */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../../../demo/host/server";
import { freePort, wranglerEnv, type Stack } from "../../../demo/stack";

const WRANGLER = join(REPO_ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
export const RAW_PIPE_CONFIG = join(REPO_ROOT, "test", "bench", "raw-pipe", "wrangler.toml");

export interface RawPipe {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startRawPipe(stack: Stack, persistTo: string): Promise<RawPipe> {
  const app = stack.sandbox.apps[0]!;
  const port = await freePort();
  const inspector = await freePort();
  const args = [
    WRANGLER,
    "dev",
    "-c",
    RAW_PIPE_CONFIG,
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspector),
    "--persist-to",
    persistTo,
    "--show-interactive-dev-session=false",
    "--log-level",
    "warn",
    "--var",
    `AUTHORITY_HOST:${stack.sandbox.identity.httpUrl}`,
    "--var",
    `DYNAMICS_CLIENT_ID:${app.clientId}`,
    "--var",
    `DYNAMICS_CLIENT_SECRET:${app.clientSecret}`,
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    // The edge's environment (no inspector proxy: the reference must not pay a cost the edge does not), plus its own
    // dev registry: registering in the edge's would make the edge's wrangler reload its workerd.
    env: { ...wranglerEnv(), WRANGLER_REGISTRY_PATH: join(persistTo, "registry") },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-8000)));
  child.stderr?.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-8000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null) return;
    const gone = new Promise<void>((ok) => child.once("exit", () => ok()));
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      /* gone */
    }
    const t = await Promise.race([gone.then(() => "ok"), new Promise((ok) => setTimeout(() => ok("timeout"), 5000))]);
    if (t === "timeout") {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`raw-pipe wrangler dev exited:\n${out}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`raw-pipe worker did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 400));
  }
  return { url, pid: child.pid!, stop };
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
