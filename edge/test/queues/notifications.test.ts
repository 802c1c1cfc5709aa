/**
 * Notifications through the notification queue: a run's rows are handed to the queue once (claim before enqueue), the
 * consumer delivers them and answers each message (ack when done, retry with the outbox's backoff when the receiver
 * failed), a repeated message sends nothing twice, the cron sweep re-hands rows whose message was lost, and a
 * dead-lettered message leaves its row failed with the reason.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ReceivedWebhook } from "../global-setup";
import worker from "../../src/index";
import { QUEUE_NAMES, type WorkMessage } from "../../src/queues/messages";
import { handOffNotifications } from "../../src/queues/notifications";
import { enqueueMessages, QUEUE_HANDOFF_MS } from "../../src/stores/outbox";
import { runSchedulerTick } from "../../src/sync/scheduler";

let seq = 0;
const message = (body: WorkMessage, attempts = 1) => ({ id: `n-${Date.now()}-${seq++}`, timestamp: new Date(), attempts, body });

async function deliver(queue: string, messages: Array<ReturnType<typeof message>>) {
  const batch = createMessageBatch<WorkMessage>(queue, messages);
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return getQueueResult(batch, ctx);
}

async function received(path: string): Promise<ReceivedWebhook[]> {
  const res = await fetch(`${env.WEBHOOK_RECEIVER}/_received?path=${encodeURIComponent(path)}`);
  return (await res.json()) as ReceivedWebhook[];
}

async function row(runId: string) {
  return env.DATA.prepare("SELECT id, tenant, status, attempts, last_error, next_attempt_at, claim_id FROM notifications_outbox WHERE run_id = ?")
    .bind(runId)
    .first<{ id: string; tenant: string; status: string; attempts: number; last_error: string | null; next_attempt_at: number; claim_id: string | null }>();
}

/** One webhook row of a fresh run, as a run's end writes it. */
async function webhookRow(url: string) {
  const tenant = `t-${crypto.randomUUID()}`;
  const runId = crypto.randomUUID();
  await enqueueMessages(env, tenant, runId, `job_${crypto.randomUUID().slice(0, 8)}`, [
    { channel: "webhook", recipient: url, subject: null, body: JSON.stringify({ type: "run.finished", runId }) },
  ]);
  const r = (await row(runId))!;
  return { tenant, runId, id: r.id, msg: () => message({ type: "notification", tenant, id: r.id, channel: "webhook" }) };
}

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let v = await f();
  for (let i = 0; i < 100 && !ok(v); i++) {
    await new Promise((r) => setTimeout(r, 100));
    v = await f();
  }
  return v;
}

describe("notification queue", () => {
  it("a run's notifications are handed to the queue once, and its consumer delivers them", async () => {
    const path = `/queued-${crypto.randomUUID()}`;
    const { runId } = await webhookRow(`${env.WEBHOOK_RECEIVER}${path}`);
    const before = Date.now();
    const handed = await Promise.all([handOffNotifications(env, { runId }), handOffNotifications(env, { runId })]);
    expect(handed.sort()).toEqual([0, 1]); // overlapping hand-offs: the row goes to the queue once
    expect((await row(runId))!.next_attempt_at).toBeGreaterThanOrEqual(before + QUEUE_HANDOFF_MS);
    // The real queue delivers it to the Worker's consumer.
    expect(
      await until(
        () => received(path),
        (r) => r.length > 0,
      ),
    ).toHaveLength(1);
    expect(
      await until(
        () => row(runId),
        (r) => r!.status === "sent",
      ),
    ).toMatchObject({ status: "sent", attempts: 1 });
  });

  it("acks a delivered message, and sends nothing for the same message delivered again", async () => {
    const path = `/once-${crypto.randomUUID()}`;
    const w = await webhookRow(`${env.WEBHOOK_RECEIVER}${path}`);
    const [m1, m2] = [w.msg(), w.msg()];
    expect((await deliver(QUEUE_NAMES.notifications, [m1])).explicitAcks).toEqual([m1.id]);
    expect((await deliver(QUEUE_NAMES.notifications, [m2])).explicitAcks).toEqual([m2.id]);
    expect(await received(path)).toHaveLength(1);
    expect(await row(w.runId)).toMatchObject({ status: "sent", attempts: 1, claim_id: null });
  });

  it("retries the message when the receiver fails, keeping the row pending past the queue's retry", async () => {
    const path = `/down-${crypto.randomUUID()}`;
    const w = await webhookRow(`${env.WEBHOOK_RECEIVER}${path}?status=503`);
    const m = w.msg();
    const before = Date.now();
    const result = await deliver(QUEUE_NAMES.notifications, [m]);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((r: { msgId: string }) => r.msgId)).toEqual([m.id]);
    const r = (await row(w.runId))!;
    expect(r).toMatchObject({ status: "pending", attempts: 1, last_error: "receiver answered 503", claim_id: null });
    // 15 s or more of backoff (30 s with jitter), plus the hand-off window: the sweep leaves it to the queue's retry.
    expect(r.next_attempt_at).toBeGreaterThanOrEqual(before + 15_000 + QUEUE_HANDOFF_MS);
  });

  it("acks a URL refused at delivery (failed for good, nothing to retry)", async () => {
    const w = await webhookRow("https://169.254.169.254/latest/meta-data/");
    const m = w.msg();
    expect((await deliver(QUEUE_NAMES.notifications, [m])).explicitAcks).toEqual([m.id]);
    expect((await row(w.runId))!.status).toBe("failed");
  });

  it("the cron sweep hands over a due row whose message was lost, and the queue delivers it", async () => {
    const path = `/lost-${crypto.randomUUID()}`;
    const w = await webhookRow(`${env.WEBHOOK_RECEIVER}${path}`);
    const tick = await runSchedulerTick(env, Date.now());
    expect(tick.notifications).toBeGreaterThanOrEqual(1);
    expect(
      await until(
        () => received(path),
        (r) => r.length > 0,
      ),
    ).toHaveLength(1);
    expect(
      await until(
        () => row(w.runId),
        (r) => r!.status === "sent",
      ),
    ).toMatchObject({ status: "sent" });
  });

  it("a dead-lettered notification leaves its row failed with the reason, and a sent row untouched", async () => {
    const w = await webhookRow(`${env.WEBHOOK_RECEIVER}/dead-${crypto.randomUUID()}`);
    const m = w.msg();
    expect((await deliver(QUEUE_NAMES.deadLetters, [m])).explicitAcks).toEqual([m.id]);
    const r = (await row(w.runId))!;
    expect(r.status).toBe("failed");
    expect(r.last_error).toMatch(/^dead-lettered: /);

    const sentPath = `/sent-${crypto.randomUUID()}`;
    const s = await webhookRow(`${env.WEBHOOK_RECEIVER}${sentPath}`);
    await deliver(QUEUE_NAMES.notifications, [s.msg()]);
    await deliver(QUEUE_NAMES.deadLetters, [s.msg()]);
    expect((await row(s.runId))!.status).toBe("sent");
  });
});
