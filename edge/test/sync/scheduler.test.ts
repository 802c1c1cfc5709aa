import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Job } from "#contract/job";
import { syncScheduleIndex } from "../../src/stores/schedule-index";
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
  const { results } = await env.DATA.prepare("SELECT trigger FROM runs WHERE tenant = ? AND job_id = ?").bind(tenant, jobId).all<{ trigger: string }>();
  return results;
}

describe("scheduler tick", () => {
  it("starts a due job once per tick even when two invocations overlap, and not again for the ticks it missed", async () => {
    const tenant = `t-${crypto.randomUUID()}`;
    const j = job({});
    await syncScheduleIndex(env, tenant, j);
    // the worker was down: the stored tick is three hours old
    const now = Date.parse("2030-01-01T12:00:00Z");
    await env.DATA.prepare("UPDATE schedule_index SET next_due_at = ? WHERE tenant = ? AND job_id = ?")
      .bind(now - 3 * 3_600_000, tenant, j.id)
      .run();
    const [a, b] = await Promise.all([runSchedulerTick(env, now), runSchedulerTick(env, now)]);
    expect([...a.started, ...b.started].filter((id) => id === j.id)).toHaveLength(1);
    const next = await env.DATA.prepare("SELECT next_due_at FROM schedule_index WHERE tenant = ? AND job_id = ?")
      .bind(tenant, j.id)
      .first<{ next_due_at: number }>();
    expect(next!.next_due_at).toBe(Date.parse("2030-01-01T13:00:00Z"));
    const again = await runSchedulerTick(env, now + 60_000);
    expect(again.started).not.toContain(j.id);
    expect(await runsOf(tenant, j.id)).toEqual([{ trigger: "schedule" }]);
  });

  it("does not schedule a disabled job, and forgets a deleted one", async () => {
    const tenant = `t-${crypto.randomUUID()}`;
    const j = job({ enabled: false });
    await syncScheduleIndex(env, tenant, j);
    await env.DATA.prepare("UPDATE schedule_index SET next_due_at = 0 WHERE tenant = ? AND job_id = ?").bind(tenant, j.id).run();
    expect((await runSchedulerTick(env, Date.now())).started).not.toContain(j.id);
    await syncScheduleIndex(env, tenant, { id: j.id, deleted: true });
    expect(await env.DATA.prepare("SELECT 1 FROM schedule_index WHERE tenant = ? AND job_id = ?").bind(tenant, j.id).first()).toBeNull();
  });
});
