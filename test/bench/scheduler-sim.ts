/**
 * `npm run simulate:scheduler [-- --minutes 75]` — the scheduler under a flood, with simulated clocks.
 *
 * Drives the REAL scheduling code — the cron tick (`runSchedulerTick`: the fair `listDue` SQL, the set-based claim, the
 * enqueueing), the Worker's queue handler (`queues/consumer.ts`: run starts with their de-duplication) and the runs store
 * — against the real schema (every migration) in SQLite/WebAssembly (scheduler-sim/d1-sqljs.ts), the consumer settings
 * of wrangler.toml, and a discrete-event model of what is not code: the clock, queue delivery (batches of
 * max_batch_size or max_batch_timeout, max_concurrency consumers), the cost of each D1 round trip, queue send and Durable
 * Object call, and run durations. The JobRunner is replaced by a recorder that "runs" for a drawn duration and then ends
 * the run through the real store; what is measured is the start delay: from a tick's due time to the moment its run
 * was handed to its runner.
 *
 * Load: 10,000 quiet tenants × 4 jobs (2 hourly, 2 daily; half of the tenants use the top of the hour, the rest spread
 * over the hour; four time zones) and one noisy tenant with 5,000 every-minute jobs, from 11:50 to 13:05 UTC (two
 * top-of-the-hour bursts). Writes test/bench/scheduler-sim.json and the "Scheduler simulation" section of
 * docs/benchmarks.md. Not part of `npm test`; takes a minute or two.
 */
import Module from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SimD1 } from "./scheduler-sim/d1-sqljs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};

// ---------- the model of what is not code (documented in docs/benchmarks.md) ----------
const MODEL = {
  /** One D1 round trip (Worker → database → Worker), on top of the statement's own execution time measured here. */
  d1RoundTripMs: 4,
  /** One Queue.sendBatch call. */
  queueSendMs: 10,
  /** One Durable Object RPC (JobRunner.start). */
  durableObjectCallMs: 15,
  /** Queue delivery: time from a consumer slot freeing (or a batch filling) to the invocation running. */
  deliveryLatencyMs: 50,
  /** Run durations (uniform), seconds. Every-minute jobs that outlast a minute make their next ticks find them active. */
  quietRunSeconds: [5, 90] as [number, number],
  noisyRunSeconds: [20, 100] as [number, number],
};
const QUIET_TENANTS = arg("tenants", 10_000);
const NOISY_JOBS = arg("noisy-jobs", 5_000);
const MINUTES = arg("minutes", 75);
const T0 = Date.parse("2030-01-07T11:50:00Z");
const T_END = T0 + MINUTES * 60_000;
/** Ticks due after this are not measured (their runs could not have started before the end). */
const T_MEASURE_END = T_END - 5 * 60_000;
const ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"];

// ---------- the simulated clock: every Date the edge code reads ----------
let now = T0 - 60_000;
/** Cost multiplier of the running actor (a run-start consumer runs PARALLEL_STARTS starts at once). */
let costScale = 1;
const RealDate = Date;
class SimDate extends RealDate {
  constructor(...args: unknown[]) {
    if (args.length === 0) super(now);
    else super(...(args as [string | number]));
  }
  static override now(): number {
    return now;
  }
}
globalThis.Date = SimDate as DateConstructor;
const advance = (ms: number) => (now += ms * costScale);

// Workers-only modules reached by the imports (worker-mailer → cloudflare:sockets) resolve to a stub that throws.
const M = Module as unknown as { _resolveFilename: (r: string, ...a: unknown[]) => string };
const resolve = M._resolveFilename;
M._resolveFilename = function (request: string, ...rest: unknown[]) {
  if (request.startsWith("cloudflare:")) return join(ROOT, "test/bench/scheduler-sim/cloudflare-stub.cjs");
  return resolve.call(this, request, ...rest);
};

// The edge modules are loaded by path at run time: this file is typechecked with the Node project (tsconfig.json), the
// edge's with the Workers types (edge/tsconfig.json); the shapes used here are declared below.
interface Claimable {
  id: string;
  enabled: boolean;
  schedule: { cron: string; timezone: string } | null;
  dependsOn: string | null;
}
interface SimMessage {
  id: string;
  timestamp: Date;
  body: { type: string; tenant: string; jobId: string; tick: number };
  attempts: number;
  ack(): void;
  retry(o?: { delaySeconds?: number }): void;
}
interface Edge {
  runSchedulerTick(env: unknown, now: number): Promise<{ enqueued: string[] }>;
  TICK_SELECTION: { limit: number; perTenant: number };
  queue(batch: { queue: string; messages: SimMessage[]; ackAll(): void; retryAll(): void }, env: unknown): Promise<void>;
  syncScheduleIndex(env: unknown, tenant: string, job: Claimable): Promise<boolean>;
  /** Takes the tenant's shard database (stores keyed by run id reach their shard directly). */
  finishRun(db: unknown, runId: string, status: "succeeded"): Promise<boolean>;
  scheduledRunId(m: { tenant: string; jobId: string; tick: number }): Promise<string>;
  PARALLEL_STARTS: number;
}
const load = async <T>(p: string): Promise<T> => (await import(join(ROOT, p))) as T;
const edge: Edge = {
  ...(await load<Pick<Edge, "runSchedulerTick" | "TICK_SELECTION">>("edge/src/sync/scheduler.ts")),
  ...(await load<Pick<Edge, "queue">>("edge/src/queues/consumer.ts")),
  ...(await load<Pick<Edge, "syncScheduleIndex">>("edge/src/stores/schedule-index.ts")),
  ...(await load<Pick<Edge, "finishRun">>("edge/src/stores/runs.ts")),
  ...(await load<Pick<Edge, "scheduledRunId" | "PARALLEL_STARTS">>("edge/src/queues/run-starts.ts")),
};

// The consumer settings as deployed.
const { unstable_readConfig } = await import("wrangler");
const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml") });
interface ConsumerConfig {
  queue: string;
  max_batch_size?: number;
  max_batch_timeout?: number;
  max_concurrency?: number | null;
  max_retries?: number;
}
const consumers = (config.queues.consumers ?? []) as ConsumerConfig[];
const runConsumer = consumers.find((c) => c.queue === "dc-run-starts");
if (!runConsumer) throw new Error("wrangler.toml has no consumer for dc-run-starts");
const CONSUMER = {
  maxBatchSize: runConsumer.max_batch_size ?? 10,
  maxBatchTimeoutMs: (runConsumer.max_batch_timeout ?? 5) * 1000,
  maxConcurrency: runConsumer.max_concurrency ?? 250,
  maxRetries: runConsumer.max_retries ?? 3,
};

// ---------- the queue (discrete-event model) ----------
interface Pending {
  id: string;
  body: SimMessage["body"];
  attempts: number;
  availableAt: number;
}
let msgSeq = 0;
class SimQueue {
  pending: Pending[] = [];
  depthMax = 0;
  deadLettered = 0;
  constructor(readonly name: string) {}
  async send(body: Pending["body"], o?: { delaySeconds?: number }): Promise<void> {
    await this.sendBatch([{ body, ...(o?.delaySeconds ? { delaySeconds: o.delaySeconds } : {}) }]);
  }
  async sendBatch(msgs: Array<{ body: Pending["body"]; delaySeconds?: number }>): Promise<void> {
    if (msgs.length > 100) throw new Error("sendBatch takes at most 100 messages");
    advance(MODEL.queueSendMs);
    for (const m of msgs) this.add({ id: `m${msgSeq++}`, body: m.body, attempts: 1, availableAt: now + (m.delaySeconds ?? 0) * 1000 });
    this.depthMax = Math.max(this.depthMax, this.pending.length);
  }
  /** Keeps `pending` ordered by availableAt. */
  add(p: Pending): void {
    let lo = 0;
    let hi = this.pending.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.pending[mid]!.availableAt <= p.availableAt) lo = mid + 1;
      else hi = mid;
    }
    this.pending.splice(lo, 0, p);
  }
  /** When the next batch can start given a free slot at `slotFree`, or null when nothing waits. */
  readyAt(slotFree: number): number | null {
    if (!this.pending.length) return null;
    const full = this.pending.length >= CONSUMER.maxBatchSize ? this.pending[CONSUMER.maxBatchSize - 1]!.availableAt : Infinity;
    const timeout = this.pending[0]!.availableAt + CONSUMER.maxBatchTimeoutMs;
    return Math.max(slotFree, Math.min(full, timeout)) + MODEL.deliveryLatencyMs;
  }
  take(at: number): Pending[] {
    let n = 0;
    while (n < this.pending.length && n < CONSUMER.maxBatchSize && this.pending[n]!.availableAt <= at) n++;
    return this.pending.splice(0, n);
  }
}
const runQueue = new SimQueue("dc-run-starts");
const notifyQueue = new SimQueue("dc-notifications");

// ---------- the runner (a recorder) and the measurements ----------
const rand = (lo: number, hi: number) => lo + Math.random() * (hi - lo);
const NOISY = "tenant-noisy";
const tickOfRun = new Map<string, { tenant: string; tick: number }>();
const delays = { quiet: [] as number[], noisy: [] as number[] };
const running = new Set<string>();
const startedRuns = new Set<string>();
interface Ev {
  t: number;
  run: () => Promise<void>;
}
const events: Ev[] = [];
/** Keeps `events` ordered by time (binary insertion: thousands of runs are in flight at once). */
const schedule = (t: number, run: () => Promise<void>) => {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (events[mid]!.t <= t) lo = mid + 1;
    else hi = mid;
  }
  events.splice(lo, 0, { t, run });
};
const runner = {
  idFromName: (name: string) => name,
  get: () => ({
    async start(ref: { tenant: string; jobId: string; runId: string }) {
      advance(MODEL.durableObjectCallMs);
      if (running.has(ref.runId)) return; // a re-kick of a run already running
      running.add(ref.runId);
      startedRuns.add(ref.runId);
      const t = tickOfRun.get(ref.runId);
      if (t) (t.tenant === NOISY ? delays.noisy : delays.quiet).push((now - t.tick) / 1000);
      const [lo, hi] = ref.tenant === NOISY ? MODEL.noisyRunSeconds : MODEL.quietRunSeconds;
      schedule(now + rand(lo, hi) * 1000, async () => {
        await edge.finishRun(env.DATA, ref.runId, "succeeded"); // one shard in the simulation: DATA
        running.delete(ref.runId);
      });
    },
    async current() {
      return null;
    },
  }),
};

const db = await SimD1.create(join(ROOT, "edge/migrations"), (ms) => advance(MODEL.d1RoundTripMs + ms));
const env = {
  DATA: db,
  RUN_QUEUE: runQueue,
  NOTIFY_QUEUE: notifyQueue,
  JOB_RUNNER: runner,
  RECONCILE_EVERY_HOURS: "0",
  RETENTION_DAYS: "",
  RETENTION_RECORD_ERRORS_DAYS: "",
};
// Record each run.start's tick under the run id the consumer will derive, as messages are sent.
const sendBatch = runQueue.sendBatch.bind(runQueue);
runQueue.sendBatch = async (msgs) => {
  for (const m of msgs) tickOfRun.set(await edge.scheduledRunId(m.body), { tenant: m.body.tenant, tick: m.body.tick });
  return sendBatch(msgs);
};

// ---------- the load ----------
const wall0 = performance.now();
let jobs = 0;
const addJob = async (tenant: string, cron: string, timezone: string) => {
  await edge.syncScheduleIndex(env, tenant, { id: `job_${jobs++}`, enabled: true, schedule: { cron, timezone }, dependsOn: null });
};
for (let i = 0; i < QUIET_TENANTS; i++) {
  const tenant = `tenant-${i}`;
  const zone = ZONES[i % ZONES.length]!;
  const m1 = i % 2 === 0 ? 0 : (i * 7) % 60; // half of the tenants keep the top of the hour
  await addJob(tenant, `${m1} * * * *`, zone);
  await addJob(tenant, `${(i * 11) % 60} * * * *`, zone);
  await addJob(tenant, `${(i * 13) % 60} ${i % 24} * * *`, zone);
  await addJob(tenant, `${(i * 17) % 60} ${(i + 12) % 24} * * *`, zone);
}
for (let j = 0; j < NOISY_JOBS; j++) await addJob(NOISY, "* * * * *", "UTC");
const seedSeconds = (performance.now() - wall0) / 1000;
process.stderr.write(`seeded ${jobs} jobs in ${Math.round(seedSeconds)} s\n`);

// ---------- the event loop ----------
for (let t = T0; t < T_END; t += 60_000) {
  const tick = t;
  schedule(tick, async () => {
    const r = await edge.runSchedulerTick(env, tick);
    if ((tick - T0) % (10 * 60_000) === 0)
      process.stderr.write(`${new RealDate(tick).toISOString().slice(11, 16)} tick enqueued ${r.enqueued.length}, queue ${runQueue.pending.length}\n`);
  });
}
const slots: number[] = Array.from({ length: CONSUMER.maxConcurrency }, () => T0);
let invocations = 0;
while (true) {
  const slot = slots.indexOf(Math.min(...slots));
  const dispatchAt = runQueue.readyAt(slots[slot]!);
  const next = events[0];
  if (dispatchAt !== null && (!next || dispatchAt <= next.t) && dispatchAt < T_END) {
    // A consumer invocation: the real queue handler with the messages available now.
    now = dispatchAt;
    const batch = runQueue.take(now);
    if (!batch.length) {
      slots[slot] = now;
      continue;
    }
    const answers = new Map<string, { retry: boolean; delaySeconds?: number }>();
    const messages: SimMessage[] = batch.map((p) => ({
      id: p.id,
      timestamp: new RealDate(p.availableAt),
      body: p.body,
      attempts: p.attempts,
      ack: () => answers.set(p.id, { retry: false }),
      retry: (o) => answers.set(p.id, { retry: true, ...(o?.delaySeconds ? { delaySeconds: o.delaySeconds } : {}) }),
    }));
    costScale = 1 / Math.min(edge.PARALLEL_STARTS, messages.length);
    await edge.queue({ queue: runQueue.name, messages, ackAll() {}, retryAll() {} }, env);
    costScale = 1;
    invocations++;
    slots[slot] = now;
    for (const p of batch) {
      const a = answers.get(p.id);
      if (!a?.retry) continue;
      if (p.attempts > CONSUMER.maxRetries) runQueue.deadLettered++;
      else runQueue.add({ ...p, attempts: p.attempts + 1, availableAt: now + (a.delaySeconds ?? 0) * 1000 });
    }
    continue;
  }
  if (!next || next.t >= T_END) break;
  events.shift();
  now = next.t;
  await next.run();
}

// Ticks still due and never claimed, and claimed ticks never started, count with the delay they had reached at the end.
const { results: unclaimed } = await db
  .prepare("SELECT tenant, next_due_at FROM schedule_index WHERE enabled = 1 AND next_due_at <= ?")
  .bind(T_MEASURE_END)
  .all<{ tenant: string; next_due_at: number }>();
let censored = 0;
for (const u of unclaimed) {
  (u.tenant === NOISY ? delays.noisy : delays.quiet).push((T_END - u.next_due_at) / 1000);
  censored++;
}
for (const p of runQueue.pending) {
  if (p.body.tick > T_MEASURE_END || startedRuns.has(await edge.scheduledRunId(p.body))) continue;
  (p.body.tenant === NOISY ? delays.noisy : delays.quiet).push((T_END - p.body.tick) / 1000);
  censored++;
}
const { results: counts } = await db.prepare("SELECT tenant = ? AS noisy, COUNT(*) AS n FROM runs GROUP BY 1").bind(NOISY).all<{ noisy: number; n: number }>();

const pct = (xs: number[], p: number) => {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! * 10) / 10;
};
const all = [...delays.quiet, ...delays.noisy];
const result = {
  tenants: QUIET_TENANTS + 1,
  jobs,
  p50StartDelayS: pct(all, 50),
  p99StartDelayS: pct(all, 99),
  quietTenantDelayP99S: pct(delays.quiet, 99),
  noisyTenantDelayP99S: pct(delays.noisy, 99),
  queueDepthMax: runQueue.depthMax,
  detail: {
    simulated: { from: new RealDate(T0).toISOString(), to: new RealDate(T_END).toISOString(), minutes: MINUTES },
    quietTenantDelayP50S: pct(delays.quiet, 50),
    quietTenantDelayMaxS: pct(delays.quiet, 100),
    noisyTenantDelayP50S: pct(delays.noisy, 50),
    runsStarted: { quiet: counts.find((c) => !c.noisy)?.n ?? 0, noisy: counts.find((c) => c.noisy)?.n ?? 0 },
    measuredStarts: { quiet: delays.quiet.length, noisy: delays.noisy.length, notStartedByEnd: censored },
    consumerInvocations: invocations,
    deadLettered: runQueue.deadLettered,
    tickSelection: edge.TICK_SELECTION,
    consumer: CONSUMER,
    model: MODEL,
    d1: { roundTrips: db.roundTrips, statements: db.statements },
    wallSeconds: { seed: Math.round(seedSeconds), total: Math.round((performance.now() - wall0) / 1000) },
  },
};
for (const [sql, ms] of [...db.timeBySql].sort((a, b) => b[1] - a[1]).slice(0, 5))
  process.stderr.write(`${(ms / 1000).toFixed(1)} s  ${sql.replace(/\s+/g, " ").slice(0, 140)}\n`);
now = RealDate.now();
writeFileSync(join(ROOT, "test/bench/scheduler-sim.json"), JSON.stringify(result, null, 2) + "\n");
writeBenchmarksSection(result);
console.log(JSON.stringify(result, null, 2));

/** Replaces (or appends) the "Scheduler simulation" section of docs/benchmarks.md, between its markers. */
function writeBenchmarksSection(r: typeof result): void {
  const file = join(ROOT, "docs/benchmarks.md");
  const begin = "<!-- scheduler-sim: written by npm run simulate:scheduler -->";
  const end = "<!-- /scheduler-sim -->";
  const d = r.detail;
  const section = `${begin}
## Scheduler simulation (\`npm run simulate:scheduler\`)
The real tick, fair due-selection SQL, claim, queue consumer and runs store (test/bench/scheduler-sim.ts) on SQLite,
with simulated time: ${r.tenants - 1} quiet tenants × 4 jobs (2 hourly — half at the top of the hour — and 2 daily, four
time zones) and one noisy tenant with ${NOISY_JOBS} every-minute jobs; ${d.simulated.minutes} simulated minutes from
${d.simulated.from} (two top-of-the-hour bursts). Start delay = a tick's due time → its run handed to its runner.
Consumer as in wrangler.toml: batches of ${d.consumer.maxBatchSize} or ${d.consumer.maxBatchTimeoutMs / 1000} s,
${d.consumer.maxConcurrency} at once; tick: ≤ ${d.tickSelection.limit} due jobs, ≤ ${d.tickSelection.perTenant} per tenant.
Model: D1 round trip ${MODEL.d1RoundTripMs} ms + measured execution, sendBatch ${MODEL.queueSendMs} ms, Durable Object call
${MODEL.durableObjectCallMs} ms, delivery ${MODEL.deliveryLatencyMs} ms; runs ${MODEL.quietRunSeconds.join("–")} s (quiet),
${MODEL.noisyRunSeconds.join("–")} s (noisy).

| measure | value |
|---|---|
| tenants / jobs | ${r.tenants} / ${r.jobs} |
| start delay p50 / p99 (all runs) | ${r.p50StartDelayS} s / ${r.p99StartDelayS} s |
| quiet tenants: p50 / p99 / max | ${d.quietTenantDelayP50S} s / **${r.quietTenantDelayP99S} s** / ${d.quietTenantDelayMaxS} s (goal p99 ≤ 60 s) |
| noisy tenant: p50 / p99 | ${d.noisyTenantDelayP50S} s / ${r.noisyTenantDelayP99S} s |
| runs started (quiet / noisy) | ${d.runsStarted.quiet} / ${d.runsStarted.noisy} |
| due ticks not started by the end (counted at their delay then) | ${d.measuredStarts.notStartedByEnd} |
| run queue depth, max | ${r.queueDepthMax} |
| consumer invocations / dead-lettered | ${d.consumerInvocations} / ${d.deadLettered} |
| D1 round trips / statements | ${d.d1.roundTrips} / ${d.d1.statements} |
| wall time (seeding / total) | ${d.wallSeconds.seed} s / ${d.wallSeconds.total} s |

The noisy tenant's delay is its share at work: a tick takes at most ${d.tickSelection.perTenant} of one tenant's due jobs, so
each of its ${NOISY_JOBS} every-minute jobs starts about every ${Math.ceil(NOISY_JOBS / d.tickSelection.perTenant)} minutes; the all-runs p50 / p99 are
dominated by its ${d.runsStarted.noisy} runs. The quiet tenants' delay is the tick's own time plus queue delivery,
including the top-of-the-hour bursts.
${end}`;
  const text = readFileSync(file, "utf8");
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  writeFileSync(file, i >= 0 && j > i ? text.slice(0, i) + section + text.slice(j + end.length) : text.trimEnd() + "\n\n" + section + "\n");
}
