import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Job } from "#contract/job";
import { syncScheduleIndex } from "../../src/stores/schedule-index";
import { scheduledRunId } from "../../src/queues/run-starts";
import { runSchedulerTick } from "../../src/sync/scheduler";

const job = (over: Partial<Job>): Job =>
  ({
    id: `job_${crypto.randomUUID().slice(0, 8)}`,
    connectionId: "conn_x",
    name: "n",
    enabled: true,
    source: { entity: "account", filter: null },
    target: { object: "Company" },
    mode: "upsert",
    deletes: "ignore",
    identifiers: [{ source: "accountid", target: "DynamicsId" }],
    mappings: [{ source: "name", target: "Name", use: "value" }],
    lookups: [],
    schedule: { cron: "0 * * * *", timezone: "Europe/Berlin" },
    dependsOn: null,
    notify: { onSuccess: [], onPartial: [], onFailure: [], webhook: null },
    createdAt: "",
    updatedAt: "",
    ...over,
  }) as Job;

async function runsOf(tenant: string, jobId: string) {
  const { results } = await env.DATA.prepare("SELECT id, trigger FROM runs WHERE tenant = ? AND job_id = ?")
    .bind(tenant, jobId)
    .all<{ id: string; trigger: string }>();
  return results;
}

/** The runs of a job once the run queue's consumer got to them (it batches for up to a second). */
async function runsOnceStarted(tenant: string, jobId: string) {
  for (let i = 0; i < 100; i++) {
    const runs = await runsOf(tenant, jobId);
    if (runs.length) return runs;
    await new Promise((r) => setTimeout(r, 100));
  }
  return [];
}

const setDue = (tenant: string, jobId: string, at: number) =>
  env.DATA.prepare("UPDATE schedule_index SET next_due_at = ? WHERE tenant = ? AND job_id = ?").bind(at, tenant, jobId).run();

describe("scheduler tick", () => {
  it("enqueues a due job once per tick even when two invocations overlap, and the queue's consumer starts it (not again for the ticks it missed)", async () => {
    const tenant = `t-${crypto.randomUUID()}`;
    const j = job({});
    await syncScheduleIndex(env, tenant, j);
    // the worker was down: the stored tick is three hours old
    const now = Date.parse("2030-01-01T12:00:00Z");
    const tick = now - 3 * 3_600_000;
    await setDue(tenant, j.id, tick);
    const [a, b] = await Promise.all([runSchedulerTick(env, now), runSchedulerTick(env, now)]);
    expect([...a.enqueued, ...b.enqueued].filter((id) => id === j.id)).toHaveLength(1);
    const next = await env.DATA.prepare("SELECT next_due_at FROM schedule_index WHERE tenant = ? AND job_id = ?")
      .bind(tenant, j.id)
      .first<{ next_due_at: number }>();
    expect(next!.next_due_at).toBe(Date.parse("2030-01-01T13:00:00Z"));
    const again = await runSchedulerTick(env, now + 60_000);
    expect(again.enqueued).not.toContain(j.id);
    // The run was started by the run queue's consumer: its id is the one derived from the claimed tick.
    expect(await runsOnceStarted(tenant, j.id)).toEqual([{ id: await scheduledRunId({ tenant, jobId: j.id, tick }), trigger: "schedule" }]);
  });

  it("does not schedule a disabled job, and forgets a deleted one", async () => {
    const tenant = `t-${crypto.randomUUID()}`;
    const j = job({ enabled: false });
    await syncScheduleIndex(env, tenant, j);
    await setDue(tenant, j.id, 0);
    expect((await runSchedulerTick(env, Date.now())).enqueued).not.toContain(j.id);
    await syncScheduleIndex(env, tenant, { id: j.id, deleted: true });
    expect(await env.DATA.prepare("SELECT 1 FROM schedule_index WHERE tenant = ? AND job_id = ?").bind(tenant, j.id).first()).toBeNull();
  });

  it("is fair under a flood: every quiet tenant's due job is enqueued in the first tick, however many older jobs another tenant has", async () => {
    const now = Date.now();
    const flood = `flood-${crypto.randomUUID()}`;
    const floodJobs = Array.from({ length: 500 }, () => job({ schedule: { cron: "* * * * *", timezone: "UTC" } }));
    // 500 jobs due for an hour already: oldest-first would fill any tick with them.
    for (let i = 0; i < floodJobs.length; i += 50)
      await Promise.all(floodJobs.slice(i, i + 50).map((fj) => syncScheduleIndex(env, flood, fj).then(() => setDue(flood, fj.id, now - 3_600_000))));
    const quiet = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const tenant = `quiet-${crypto.randomUUID()}`;
        const qj = job({});
        await syncScheduleIndex(env, tenant, qj);
        await setDue(tenant, qj.id, now - 30_000);
        return qj.id;
      }),
    );
    const tick = await runSchedulerTick(env, now, { limit: 100, perTenant: 50 });
    for (const id of quiet) expect(tick.enqueued).toContain(id);
    const fromFlood = tick.enqueued.filter((id) => floodJobs.some((fj) => fj.id === id));
    expect(fromFlood.length).toBeGreaterThan(0);
    expect(fromFlood.length).toBeLessThanOrEqual(50);
    // The flood's other jobs stay due for the next ticks.
    const left = await env.DATA.prepare("SELECT COUNT(*) AS n FROM schedule_index WHERE tenant = ? AND next_due_at <= ?")
      .bind(flood, now)
      .first<{ n: number }>();
    expect(left!.n).toBe(500 - fromFlood.length);
    // Keep the flood from firing in later tests' ticks.
    await env.DATA.prepare("UPDATE schedule_index SET enabled = 0 WHERE tenant = ?").bind(flood).run();
  });
});
