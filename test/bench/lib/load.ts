/**
 * A small closed-loop HTTP load generator (reusable: the benchmarks and the reliability suite import it).
 *
 * `concurrency` clients each send one request, read the whole body, and send the next, until `durationMs` has passed
 * (requests in flight at the deadline are awaited and counted). Latency = request start → body fully read, in ms.
 * An error is a network failure, a timeout or a non-2xx status; `statuses` counts every status (0 = no response).
 */
export interface LoadOptions {
  url: string;
  headers?: Record<string, string>;
  concurrency: number;
  durationMs: number;
  /** HTTP method (default GET). */
  method?: string;
  /** Per-request timeout (default 30 s); a timeout counts as status 0. */
  timeoutMs?: number;
  /** Requests not measured before the clock starts, per client (default 0): warms connections and caches. */
  warmupPerClient?: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  statuses: Record<number, number>;
  /** Latency percentiles in ms (nearest-rank). */
  p50: number;
  p99: number;
  rps: number;
  /** Extra detail (not part of the minimal contract). */
  p90?: number;
  max?: number;
  mean?: number;
  elapsedMs?: number;
  firstError?: string;
}

/** Nearest-rank percentile of a sorted array (q in 0..100). */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((q / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const { url, headers = {}, concurrency, durationMs } = opts;
  if (!(concurrency >= 1)) throw new Error("runLoad: concurrency must be >= 1");
  if (!(durationMs > 0)) throw new Error("runLoad: durationMs must be > 0");
  const method = opts.method ?? "GET";
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const statuses: Record<number, number> = {};
  let errors = 0;
  let firstError: string | undefined;
  // Growable typed buffer: no per-sample object, cheap sort.
  let lat = new Float64Array(1 << 14);
  let n = 0;

  const once = async (record: boolean): Promise<void> => {
    const t0 = performance.now();
    let status: number;
    try {
      const res = await fetch(url, { method, headers, signal: AbortSignal.timeout(timeoutMs) });
      status = res.status;
      await res.arrayBuffer();
      if (!res.ok && record && !firstError) firstError = `HTTP ${res.status} from ${method} ${url}`;
    } catch (e) {
      status = 0;
      if (record && !firstError) firstError = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    if (!record) return;
    const ms = performance.now() - t0;
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status < 200 || status >= 300) errors++;
    if (n === lat.length) {
      const bigger = new Float64Array(lat.length * 2);
      bigger.set(lat);
      lat = bigger;
    }
    lat[n++] = ms;
  };

  const warm = opts.warmupPerClient ?? 0;
  if (warm > 0)
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = 0; i < warm; i++) await once(false);
      }),
    );

  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) await once(true);
    }),
  );
  const elapsedMs = performance.now() - start;
  const sorted = lat.subarray(0, n).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    requests: n,
    errors,
    statuses,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    rps: n / (elapsedMs / 1000),
    p90: percentile(sorted, 90),
    max: n ? sorted[n - 1]! : NaN,
    mean: n ? sum / n : NaN,
    elapsedMs,
    ...(firstError ? { firstError } : {}),
  };
}
