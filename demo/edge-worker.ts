/**
 * Child-process entry that runs one Worker locally through wrangler's programmatic API (`unstable_startWorker`), the
 * documented way to turn wrangler's devtools inspector proxy off (`dev.inspector: false`). Started by
 * demo/edge-process.ts, never imported: its options are its one argument (JSON, no secret: those come from the env
 * file; visible in `ps`, which the benchmark reads), it prints `ready <url>` once the Worker answers, and disposes the Worker (workerd included) on SIGTERM/SIGINT. Why not `wrangler dev`:
 * docs/decisions/0008-local-workers-through-start-worker.md.
 */
import { unstable_startWorker } from "wrangler";

export interface EdgeWorkerOptions {
  /** wrangler.toml of the Worker. */
  config: string;
  host: string;
  port: number;
  /** Folder of the local KV/D1/DO state (what `--persist-to` names on the command line). */
  persistTo: string;
  /** .env-style file with the secrets (never passed on a command line or in the environment of other processes). */
  envFile?: string;
  /** Plain-text vars that win over wrangler.toml [vars]. */
  vars: Record<string, string>;
  logLevel: "debug" | "info" | "log" | "warn" | "error" | "none";
  /** Keep wrangler's devtools inspector on this port (costs about half the sync throughput: demo/edge-process.ts). */
  inspectorPort?: number;
  /** Serve /cdn-cgi/handler/scheduled (the demo's "run the cron now"). */
  testScheduled?: boolean;
}

const raw = process.argv[2];
if (!raw) throw new Error("edge-worker: no options (start it through demo/edge-process.ts)");
const opts = JSON.parse(raw) as EdgeWorkerOptions;

const worker = await unstable_startWorker({
  config: opts.config,
  envFiles: opts.envFile ? [opts.envFile] : [],
  sendMetrics: false,
  bindings: Object.fromEntries(Object.entries(opts.vars).map(([name, value]) => [name, { type: "plain_text" as const, value }])),
  dev: {
    server: { hostname: opts.host, port: opts.port },
    inspector: opts.inspectorPort ? { hostname: "127.0.0.1", port: opts.inspectorPort } : false,
    persist: opts.persistTo,
    logLevel: opts.logLevel,
    watch: false,
    liveReload: false,
    testScheduled: opts.testScheduled ?? false,
    enableContainers: false,
    // No `registry`: unlike `wrangler dev`, this Worker joins no dev registry (it binds no other local Worker), so
    // nothing another local session writes there reaches it.
  },
});
await worker.ready;
console.log(`ready ${(await worker.url).href}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  try {
    await worker.dispose();
  } finally {
    process.exit(0);
  }
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
