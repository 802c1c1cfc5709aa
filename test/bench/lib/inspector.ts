/**
 * The edge isolate's JS heap, read from workerd's OWN inspector socket — not through wrangler's inspector proxy.
 *
 * Why not wrangler's proxy (`dev.inspector`): its InspectorProxyWorker enables the Network domain and relays every
 * inspector message to wrangler's Node process; syncs ran at about half speed and the edge ran out of sockets
 * (demo/edge-process.ts, docs/decisions/0008-*.md). workerd's own `--inspector-addr` only answers what a client asks.
 *
 * How it is switched on without touching the shared launcher: miniflare starts workerd from `MINIFLARE_WORKERD_PATH`
 * when set. `withWorkerdInspector` points it, for the duration of a stack's start only, at a two-line wrapper that
 * execs the real workerd with `--inspector-addr=127.0.0.1:0`. Both workerd processes of a launcher (wrangler's proxy
 * and the user worker's) then get an inspector on an ephemeral port; `findUserIsolate` probes the listening sockets
 * of each and keeps the one listing the `core:user:<worker>` target. Nothing connects until the bench samples, and
 * the only calls are `Runtime.getHeapUsage` (and, after a run, `HeapProfiler.collectGarbage`).
 *
 * One target, one isolate: workerd runs a Worker and its Durable Objects (the JobRunner, which executes the sync's
 * pages) in the same isolate, so the user target's heap is the one the sync pages use.
 */
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listeningPorts } from "./proc";

export interface HeapUsage {
  usedMB: number;
  totalMB: number;
}

type WsLike = { on(ev: string, cb: (...a: unknown[]) => void): void; send(s: string): void; close(): void };

async function wsConstructor(): Promise<new (url: string) => WsLike> {
  const wsModule = "ws"; // a transitive dependency (wrangler/miniflare); a name in a variable keeps it untyped here
  return ((await import(wsModule)) as { default: new (url: string) => WsLike }).default;
}

/** The workerd binary wrangler's miniflare would start (wrangler's own dependency, then the top-level one). */
function realWorkerd(): string {
  for (const from of ["wrangler/node_modules/miniflare/package.json", "miniflare/package.json"]) {
    try {
      const req = createRequire(createRequire(import.meta.url).resolve(from));
      return (req(req.resolve("workerd")) as { default: string }).default;
    } catch {
      /* try the next */
    }
  }
  throw new Error("workerd binary not found (neither wrangler's miniflare nor miniflare resolves 'workerd')");
}

/** Runs `start` (which spawns the Worker launcher) with workerd's own inspector on; restores the environment after. */
export async function withWorkerdInspector<T>(start: () => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "dc-bench-workerd-"));
  const wrapper = join(dir, "workerd");
  // argv[1] is the subcommand (`serve`); the flag goes after it, before miniflare's own flags and the `-` (config on stdin).
  writeFileSync(wrapper, `#!/bin/sh\nsub="$1"; shift\nexec '${realWorkerd()}' "$sub" --inspector-addr=127.0.0.1:0 "$@"\n`);
  chmodSync(wrapper, 0o755);
  const before = process.env.MINIFLARE_WORKERD_PATH;
  process.env.MINIFLARE_WORKERD_PATH = wrapper;
  try {
    return await start();
  } finally {
    if (before === undefined) delete process.env.MINIFLARE_WORKERD_PATH;
    else process.env.MINIFLARE_WORKERD_PATH = before;
  }
}

interface Target {
  id: string;
  webSocketDebuggerUrl?: string;
}

/** Among `pids` (workerd processes), the one whose inspector lists the user Worker's target, with that target's URL. */
export async function findUserIsolate(pids: number[]): Promise<{ pid: number; port: number; targetId: string; wsUrl: string; otherTargets: string[] } | null> {
  for (const pid of pids) {
    for (const port of listeningPorts(pid)) {
      let list: Target[];
      try {
        const r = await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(2000) });
        if (!r.ok) continue;
        list = (await r.json()) as Target[];
        if (!Array.isArray(list)) continue;
      } catch {
        continue;
      }
      const user = list.find((t) => t.id.startsWith("core:user:") && t.id !== "core:user:ProxyWorker" && t.webSocketDebuggerUrl);
      if (user) return { pid, port, targetId: user.id, wsUrl: user.webSocketDebuggerUrl!, otherTargets: list.map((t) => t.id).filter((id) => id !== user.id) };
    }
  }
  return null;
}

/** One CDP session on one isolate target: request/response by id; events ignored. */
export class InspectorSession {
  private _nextId = 1;
  private readonly _waiting = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();
  private constructor(private readonly _ws: WsLike) {
    _ws.on("message", (data) => {
      let msg: { id?: number; result?: unknown; error?: { message: string } };
      try {
        msg = JSON.parse(String(data)) as typeof msg;
      } catch {
        return;
      }
      const w = msg.id !== undefined ? this._waiting.get(msg.id) : undefined;
      if (!w) return;
      this._waiting.delete(msg.id!);
      if (msg.error) w.fail(new Error(msg.error.message));
      else w.ok(msg.result);
    });
    _ws.on("close", () => {
      for (const w of this._waiting.values()) w.fail(new Error("inspector closed"));
      this._waiting.clear();
    });
  }

  static async open(wsUrl: string): Promise<InspectorSession> {
    const Ws = await wsConstructor();
    const ws = new Ws(wsUrl);
    await new Promise<void>((ok, fail) => {
      ws.on("open", () => ok());
      ws.on("error", (e) => fail(e as Error));
    });
    return new InspectorSession(ws);
  }

  send<T>(method: string, params?: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
    const id = this._nextId++;
    return new Promise<T>((ok, fail) => {
      const t = setTimeout(() => {
        this._waiting.delete(id);
        fail(new Error(`${method}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this._waiting.set(id, {
        ok: (v) => {
          clearTimeout(t);
          ok(v as T);
        },
        fail: (e) => {
          clearTimeout(t);
          fail(e);
        },
      });
      this._ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async heapUsage(): Promise<HeapUsage> {
    const r = await this.send<{ usedSize: number; totalSize: number }>("Runtime.getHeapUsage");
    return { usedMB: r.usedSize / 1048576, totalMB: r.totalSize / 1048576 };
  }

  /** A full GC of the isolate: what stays used after it is what the isolate retains. */
  async collectGarbage(): Promise<void> {
    await this.send("HeapProfiler.collectGarbage", undefined, 30_000);
  }

  close(): void {
    this._ws.close();
  }
}

export interface HeapSeries {
  maxUsedMB: number;
  /** Total (committed) heap at the sample where used was highest. */
  totalAtMaxMB: number;
  maxTotalMB: number;
  samples: number;
  /** Longest time between two samples: the isolate answers between its tasks, so a busy isolate answers late. */
  maxGapMs: number;
  /** [ms since start, used MB, total MB] */
  series: Array<[number, number, number]>;
  /**
   * The live set: the highest used heap right after a forced full GC, taken every `liveEveryMs` (a major GC on a heap
   * this size costs a few tens of ms: a few % of the run at one a second). Unlike maxUsedMB it does not depend on when V8 collects.
   */
  maxLiveMB: number;
  liveSamples: number;
  /** Every live-set sample, in order (MB). */
  live: number[];
}

/**
 * Samples the isolate's heap every `everyMs` (one request in flight at a time) until stopped. With `live`, each sample
 * follows a forced full GC, so it reads the live set rather than live + not yet collected garbage (this costs a GC per
 * sample: evidence, not the headline figure).
 */
export function sampleHeap(session: InspectorSession, everyMs = 500, live = false, liveEveryMs = 1_000): { stop(): Promise<HeapSeries> } {
  const t0 = performance.now();
  const series: Array<[number, number, number]> = [];
  const liveSeries: number[] = [];
  let lastLive = t0;
  let running = true;
  const tick = async () => {
    try {
      const collect = live || performance.now() - lastLive >= liveEveryMs;
      if (collect) {
        await session.collectGarbage();
        lastLive = performance.now();
      }
      const h = await session.heapUsage();
      series.push([Math.round(performance.now() - t0), h.usedMB, h.totalMB]);
      if (collect) liveSeries.push(h.usedMB);
    } catch {
      /* a missed sample; the next one counts */
    }
  };
  const loop = (async () => {
    while (running) {
      await tick();
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await tick();
      let max = series[0] ?? [0, NaN, NaN];
      for (const s of series) if (s[1] > max[1]) max = s;
      const maxGapMs = Math.max(0, ...series.slice(1).map((s, i) => s[0] - series[i]![0]));
      return {
        maxUsedMB: max[1],
        totalAtMaxMB: max[2],
        maxTotalMB: Math.max(...series.map((s) => s[2])),
        samples: series.length,
        maxGapMs,
        series,
        maxLiveMB: liveSeries.length ? Math.max(...liveSeries) : NaN,
        liveSamples: liveSeries.length,
        live: liveSeries,
      };
    },
  };
}
