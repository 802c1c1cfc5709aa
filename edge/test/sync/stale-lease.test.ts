/**
 * A run whose runner went quiet — its Durable Object evicted or restarted and the alarm lost, the deployed form of the
 * "edge stops answering" hunted in issue 17 — must not stay active for ever and block its job (one active run per
 * job): the cron tick re-kicks every active run whose lease expired, and the real JobRunner drives it to the end.
 */
import { env } from "cloudflare:test";
import { expect, it } from "vitest";
import { createRun, getRunRow } from "../../src/stores/runs";
import { runSchedulerTick } from "../../src/sync/scheduler";
import { fixture, PROJECT_FIELDS } from "./helpers";

it("the scheduler tick re-kicks a run whose runner stopped renewing its lease, and the run ends", async () => {
  const fx = await fixture("contoso", { object: { name: "Project", fields: PROJECT_FIELDS } });
  // Inserted as startRun inserts it, but never handed to a runner: as if the Durable Object died before its first alarm.
  const run = await createRun(env, fx.tenant, fx.job.id, "manual");
  await env.DATA.prepare("UPDATE runs SET lease_until = ? WHERE id = ?")
    .bind(Date.now() - 1000, run.id)
    .run();

  const notYet = await runSchedulerTick(env, Date.now() - 5000); // before the lease ran out: left alone
  expect(notYet.rekicked).not.toContain(run.id);

  const tick = await runSchedulerTick(env, Date.now());
  expect(tick.rekicked).toContain(run.id);
  let row = await getRunRow(env, fx.tenant, run.id);
  for (let i = 0; i < 150 && (row!.status === "queued" || row!.status === "running"); i++) {
    await new Promise((r) => setTimeout(r, 200));
    row = await getRunRow(env, fx.tenant, run.id);
  }
  expect(row!.status).toBe("succeeded");
  expect(row!.read_count).toBeGreaterThan(0);
  expect(row!.lease_until).toBeNull();
});
