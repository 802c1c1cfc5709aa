/**
 * A Worker running locally in a child process of its own (demo/edge-worker.ts: wrangler's `unstable_startWorker`
 * with the devtools inspector off), in its own process group so a stop — or a simulated crash — takes workerd with it.
 * Used by the demo stack (the edge), the reliability suite (which SIGKILLs and restarts it on the same persisted
 * state) and the benchmark (the edge and the raw-pipe reference Worker).
 *
 * Why the inspector must be off: wrangler's InspectorProxyWorker turns on the runtime's Network domain and POSTs every
 * inspector message (one per ~4 KB chunk of every subrequest's response body) to wrangler's Node process over a new
 * loopback connection. A 50,000-row sync is ~14,000 such requests; whenever Node falls behind, workerd opens ever more
 * sockets (up to the fd limit, then the edge stops answering) and syncs run at about half speed.
 * docs/decisions/0008-local-workers-through-start-worker.md.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { EdgeWorkerOptions } from "./edge-worker";
import { REPO_ROOT } from "./host/server";

export const WRANGLER = join(REPO_ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const TSX = join(REPO_ROOT, "node_modules", "tsx", "dist", "esm", "index.mjs");

/** The environment of every wrangler process of ours: no metrics, no Request.cf download (offline it costs a 3 s timeout per start). */
export function wranglerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1", FORCE_COLOR: "0", CI: "true" };
}

/** The D1 shard bindings of the edge's wrangler.toml (DATA, DATA_2, …: docs/scaling.md "D1 shards"). */
export function shardBindings(config = join(REPO_ROOT, "wrangler.toml")): string[] {
  return [...readFileSync(config, "utf8").matchAll(/^binding = "(DATA(?:_\d+)?)"$/gm)].map((m) => m[1]!);
}

/** `wrangler d1 migrations apply <shard> --local` for every shard on a persisted state folder; throws with wrangler's output on failure. */
export function applyLocalMigrations(persistTo: string): void {
  for (const shard of shardBindings()) {
    const r = spawnSync(process.execPath, [WRANGLER, "d1", "migrations", "apply", shard, "--local", "--persist-to", persistTo], {
      cwd: REPO_ROOT,
      env: wranglerEnv(),
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`D1 migrations of ${shard} failed:\n${r.stdout}\n${r.stderr}`);
  }
}

export interface EdgeProcessOptions extends Omit<EdgeWorkerOptions, "config" | "host"> {
  /** wrangler.toml of the Worker; default the edge's. */
  config?: string;
  /** Path answering 200 once the Worker serves requests. */
  healthPath?: string;
  /** Echo the Worker's output with this prefix. */
  echo?: string;
  /** How much of the output to keep for output() (default 2 MB). */
  keepOutput?: number;
}

export interface EdgeProcess {
  url: string;
  /** The launcher's pid (leader of the process group that holds workerd). */
  pid: number;
  /** Milliseconds from spawn until the health path answered. */
  startMs: number;
  output(): string;
  running(): boolean;
  /** SIGTERM (dispose) and wait; SIGKILL the group when it does not stop within 5 s. */
  stop(): Promise<void>;
  /** SIGKILL the whole process group at once (a crash), and wait until the port no longer answers. */
  kill(): Promise<void>;
}

export async function startEdgeProcess(opts: EdgeProcessOptions): Promise<EdgeProcess> {
  const { healthPath = "/api/v1/health", echo, keepOutput = 2_000_000, config, ...worker } = opts;
  const options: EdgeWorkerOptions = { ...worker, config: config ?? join(REPO_ROOT, "wrangler.toml"), host: "127.0.0.1" };
  const t0 = Date.now();
  const child: ChildProcess = spawn(process.execPath, ["--import", TSX, join(REPO_ROOT, "demo", "edge-worker.ts"), JSON.stringify(options)], {
    cwd: REPO_ROOT,
    env: wranglerEnv(),
    stdio: ["ignore", "pipe", "pipe"],
    detached: process.platform !== "win32",
  });
  let output = "";
  const onData = (d: Buffer) => {
    const s = d.toString();
    output = (output + s).slice(-keepOutput);
    if (echo) process.stdout.write(s.replace(/^/gm, echo));
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<void>((ok) => child.once("exit", () => ok()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (process.platform !== "win32") process.kill(-child.pid!, sig);
      else child.kill(sig);
    } catch {
      /* already gone */
    }
  };
  const running = () => child.exitCode === null && child.signalCode === null;
  const url = `http://127.0.0.1:${opts.port}`;
  const portClosed = async () => {
    // workerd may outlive its launcher for a moment: wait until the port no longer answers.
    for (let i = 0; i < 50; i++) {
      try {
        await fetch(url + healthPath, { signal: AbortSignal.timeout(300) });
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const proc: EdgeProcess = {
    url,
    pid: child.pid!,
    startMs: 0,
    output: () => output,
    running,
    async stop() {
      if (!running()) return;
      signal("SIGTERM");
      if ((await Promise.race([exited.then(() => "ok"), new Promise((ok) => setTimeout(() => ok("timeout"), 5000))])) === "timeout") {
        signal("SIGKILL");
        await Promise.race([exited, new Promise((ok) => setTimeout(ok, 2000))]);
      }
      await portClosed();
    },
    async kill() {
      if (!running()) return;
      signal("SIGKILL");
      await Promise.race([exited, new Promise((ok) => setTimeout(ok, 5000))]);
      await portClosed();
    },
  };

  const deadline = Date.now() + 90_000;
  for (;;) {
    if (!running()) throw new Error(`the Worker (${options.config}) exited early:\n${output.slice(-4000)}`);
    try {
      const r = await fetch(url + healthPath, { signal: AbortSignal.timeout(5000) });
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`the Worker (${options.config}) did not answer on ${url} within 90 s:\n${output.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  proc.startMs = Date.now() - t0;
  return proc;
}
