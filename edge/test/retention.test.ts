/**
 * Retention (sync/retention.ts, stores/retention.ts): the cron's sweep deletes only what is older than the deployment
 * keeps, always keeps each job's latest run and anything of an active run, keeps pending notifications, and deletes at
 * most RETENTION_BATCH rows per table per tick. Rows are written straight to D1 with their ages; the sweep runs at the
 * real `now`, so rows other tests write (all recent) are never in its way.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RETENTION_BATCH, sweepRetention } from "../src/sync/retention";
import { runSchedulerTick } from "../src/sync/scheduler";

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

interface RunSeed {
  job: string;
  /** Days since the run was created (it finished an hour later unless active). */
  age: number;
  status?: "succeeded" | "failed" | "queued" | "running";
  pages?: number;
  errors?: number;
}

/** A run of `tenant` with its page log and per-record errors; returns its id. */
async function seedRun(tenant: string, r: RunSeed): Promise<string> {
  const id = crypto.randomUUID();
  const status = r.status ?? "succeeded";
  const active = status === "queued" || status === "running";
  const created = ago(r.age);
  const finished = active ? null : new Date(Date.parse(created) + 3_600_000).toISOString();
  await env.DATA.prepare("INSERT INTO runs (id, tenant, job_id, trigger, status, created_at, started_at, finished_at) VALUES (?, ?, ?, 'schedule', ?, ?, ?, ?)")
    .bind(id, tenant, r.job, status, created, created, finished)
    .run();
  await seedChildren(id, tenant, r.pages ?? 0, r.errors ?? 0, created);
  return id;
}

/** `pages` page-log rows and `errors` per-record errors of run `id`, in one statement each (recursive CTE counters). */
async function seedChildren(id: string, tenant: string, pages: number, errors: number, at: string): Promise<void> {
  if (pages)
    await env.DATA.prepare(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2) INSERT INTO run_pages (run_id, page, committed_at) SELECT ?1, i, ?3 FROM n",
    )
      .bind(id, pages, at)
      .run();
  if (errors)
    await env.DATA.prepare(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2) INSERT INTO run_errors (run_id, seq, tenant, source_id, reason) SELECT ?1, i, ?3, 'src-' || i, 'bad value' FROM n",
    )
      .bind(id, errors, tenant)
      .run();
}

async function seedAudit(tenant: string, days: number, count = 1): Promise<void> {
  await env.DATA.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?3)
     INSERT INTO audit_log (tenant, at, actor_sub, action, resource_type, resource_id, changes) SELECT ?1, ?2, 'admin-1', 'job.update', 'job', 'job_' || i, '[]' FROM n`,
  )
    .bind(tenant, ago(days), count)
    .run();
}

async function seedNotification(tenant: string, days: number, channel: "email" | "webhook", status: "pending" | "sent" | "failed"): Promise<string> {
  const id = crypto.randomUUID();
  await env.DATA.prepare(
    "INSERT INTO notifications_outbox (id, tenant, run_id, job_id, channel, recipient, body, status, next_attempt_at, created_at) VALUES (?, ?, ?, 'job_n', ?, ?, '{}', ?, 0, ?)",
  )
    .bind(id, tenant, crypto.randomUUID(), channel, `${id}@host.example`, status, ago(days))
    .run();
  return id;
}

const tenant = () => `t-${crypto.randomUUID()}`;
const count = async (sql: string, ...binds: unknown[]) =>
  (await env.DATA.prepare(sql)
    .bind(...binds)
    .first<{ n: number }>())!.n;
const runsOf = async (t: string) =>
  (await env.DATA.prepare("SELECT id FROM runs WHERE tenant = ? ORDER BY created_at").bind(t).all<{ id: string }>()).results.map((r) => r.id);
const pagesOf = (run: string) => count("SELECT COUNT(*) AS n FROM run_pages WHERE run_id = ?", run);
const errorsOf = (run: string) => count("SELECT COUNT(*) AS n FROM run_errors WHERE run_id = ?", run);

/** Sweeps until a pass deletes nothing (other tests' expired rows may share a batch); returns the passes made. */
async function sweepAll(vars: Record<string, string> = {}): Promise<number> {
  for (let passes = 1; passes < 20; passes++) {
    const r = await sweepRetention({ ...env, ...vars }, Date.now());
    if (Object.values(r).every((n) => n === 0)) return passes;
  }
  throw new Error("the sweep never finished");
}

describe("retention sweep", () => {
  it("deletes runs, their pages, audit entries and finished notifications older than 90 days, per-record errors older than 30", async () => {
    const t = tenant();
    const old = await seedRun(t, { job: "job_a", age: 100, pages: 3, errors: 2 });
    const month = await seedRun(t, { job: "job_a", age: 40, pages: 2, errors: 2 });
    const recent = await seedRun(t, { job: "job_a", age: 10, pages: 2, errors: 2 });
    const latest = await seedRun(t, { job: "job_a", age: 1, pages: 1 });
    await seedAudit(t, 100, 2);
    await seedAudit(t, 10, 3);
    const kept = [
      await seedNotification(t, 100, "email", "pending"),
      await seedNotification(t, 100, "webhook", "pending"),
      await seedNotification(t, 10, "email", "sent"),
      await seedNotification(t, 10, "webhook", "failed"),
    ];
    await seedNotification(t, 100, "email", "sent");
    await seedNotification(t, 100, "webhook", "sent");
    await seedNotification(t, 100, "webhook", "failed");

    await sweepAll();

    expect(await runsOf(t)).toEqual([month, recent, latest]);
    expect([await pagesOf(old), await errorsOf(old)]).toEqual([0, 0]);
    expect([await pagesOf(month), await errorsOf(month)]).toEqual([2, 0]); // run and pages kept 90 days, its errors 30
    expect([await pagesOf(recent), await errorsOf(recent)]).toEqual([2, 2]);
    expect(await count("SELECT COUNT(*) AS n FROM audit_log WHERE tenant = ?", t)).toBe(3);
    const left = (await env.DATA.prepare("SELECT id FROM notifications_outbox WHERE tenant = ?").bind(t).all<{ id: string }>()).results.map((r) => r.id);
    expect(left.sort()).toEqual([...kept].sort());
  });

  it("keeps each job's latest run with its pages and errors however old, and never touches an active run", async () => {
    const t = tenant();
    const only = await seedRun(t, { job: "job_only", age: 400, pages: 2, errors: 2 });
    // The latest finished run stays while a newer run is still going; the active run (even an old one) stays too.
    const lastFinished = await seedRun(t, { job: "job_busy", age: 200, pages: 1, errors: 1 });
    const running = await seedRun(t, { job: "job_busy", age: 0, status: "running", pages: 1 });
    const stuck = await seedRun(t, { job: "job_stuck", age: 300, status: "queued" });
    const older = await seedRun(t, { job: "job_two", age: 200, pages: 1, errors: 1 });
    const newer = await seedRun(t, { job: "job_two", age: 150, pages: 1, errors: 1 });

    await sweepAll();

    expect((await runsOf(t)).sort()).toEqual([only, lastFinished, running, stuck, newer].sort());
    expect([await pagesOf(only), await errorsOf(only)]).toEqual([2, 2]);
    expect([await pagesOf(lastFinished), await errorsOf(lastFinished)]).toEqual([1, 1]);
    expect(await pagesOf(running)).toBe(1);
    expect([await pagesOf(newer), await errorsOf(newer)]).toEqual([1, 1]);
    expect([await pagesOf(older), await errorsOf(older)]).toEqual([0, 0]);
  });

  it("reads RETENTION_DAYS and RETENTION_RECORD_ERRORS_DAYS", async () => {
    const t = tenant();
    const twelve = await seedRun(t, { job: "job_v", age: 12, pages: 1, errors: 1 });
    const seven = await seedRun(t, { job: "job_v", age: 7, pages: 1, errors: 1 });
    const three = await seedRun(t, { job: "job_v", age: 3, errors: 1 });
    await seedRun(t, { job: "job_v", age: 0 });
    await sweepAll({ RETENTION_DAYS: "10", RETENTION_RECORD_ERRORS_DAYS: "5" });
    expect(await runsOf(t)).not.toContain(twelve);
    expect([await pagesOf(seven), await errorsOf(seven)]).toEqual([1, 0]);
    expect(await errorsOf(three)).toBe(1);
  });

  it("runs in every cron tick", async () => {
    const t = tenant();
    await seedAudit(t, 100);
    await seedAudit(t, 1);
    await runSchedulerTick(env, Date.now());
    expect(await count("SELECT COUNT(*) AS n FROM audit_log WHERE tenant = ?", t)).toBe(1);
  });

  it("refuses a RETENTION_DAYS that is not a whole number of days ≥ 1, deleting nothing", async () => {
    const t = tenant();
    await seedAudit(t, 100);
    await expect(sweepRetention({ ...env, RETENTION_DAYS: "0" }, Date.now())).rejects.toThrow(/RETENTION_DAYS/);
    await expect(sweepRetention({ ...env, RETENTION_RECORD_ERRORS_DAYS: "-1" }, Date.now())).rejects.toThrow(/RETENTION_RECORD_ERRORS_DAYS/);
    expect(await count("SELECT COUNT(*) AS n FROM audit_log WHERE tenant = ?", t)).toBe(1);
  });

  it(`deletes at most ${RETENTION_BATCH} rows per table per tick; the rest goes in the next ticks, the run after its errors`, async () => {
    const t = tenant();
    await sweepAll(); // nothing expired of other tests is left in the way
    const heavy = await seedRun(t, { job: "job_h", age: 120, errors: RETENTION_BATCH + 1, pages: RETENTION_BATCH + 1 });
    await seedRun(t, { job: "job_h", age: 1 });
    await seedAudit(t, 120, RETENTION_BATCH + 1);

    const first = await sweepRetention(env, Date.now());
    expect(first).toMatchObject({ runErrors: RETENTION_BATCH, runPages: RETENTION_BATCH, runs: 0, auditEntries: RETENTION_BATCH });
    expect([await pagesOf(heavy), await errorsOf(heavy)]).toEqual([1, 1]);
    expect(await runsOf(t)).toContain(heavy); // never a run without its pages and errors

    const second = await sweepRetention(env, Date.now());
    expect(second).toMatchObject({ runErrors: 1, runPages: 1, runs: 1, auditEntries: 1 });
    expect(await runsOf(t)).not.toContain(heavy);
    expect(await count("SELECT COUNT(*) AS n FROM audit_log WHERE tenant = ?", t)).toBe(0);
  });
});
