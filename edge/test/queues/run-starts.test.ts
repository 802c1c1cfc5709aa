/**
 * The run queue's consumer, called as the runtime calls it (the Worker's `queue` export with a MessageBatch): it starts
 * the scheduled run, never twice for one tick however often the message arrives, retries what failed with backoff, and
 * records a dead-lettered start as a failed run.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { QUEUE_NAMES, type RunStartMessage, type WorkMessage } from "../../src/queues/messages";
import { scheduledRunId } from "../../src/queues/run-starts";

let seq = 0;
const message = (body: unknown, attempts = 1) => ({ id: `m-${Date.now()}-${seq++}`, timestamp: new Date(), attempts, body: body as WorkMessage });

/** Delivers `messages` to the Worker's queue handler as one batch of `queue`; the ack/retry answer per message. */
async function deliver(queue: string, messages: Array<ReturnType<typeof message>>) {
  const batch = createMessageBatch<WorkMessage>(queue, messages);
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return getQueueResult(batch, ctx);
}

async function runsOf(tenant: string, jobId: string) {
  const { results } = await env.DATA.prepare(
    "SELECT id, trigger, status, error_code, error_message FROM runs WHERE tenant = ? AND job_id = ? ORDER BY created_at",
  )
    .bind(tenant, jobId)
    .all<{ id: string; trigger: string; status: string; error_code: string | null; error_message: string | null }>();
  return results;
}

async function settled(tenant: string, jobId: string) {
  for (let i = 0; i < 100; i++) {
    const runs = await runsOf(tenant, jobId);
    if (runs.every((r) => r.status !== "queued" && r.status !== "running")) return runs;
    await new Promise((r) => setTimeout(r, 100));
  }
  return runsOf(tenant, jobId);
}

const start = (): RunStartMessage => ({
  type: "run.start",
  tenant: `t-${crypto.randomUUID()}`,
  jobId: `job_${crypto.randomUUID().slice(0, 8)}`,
  tick: Date.parse("2030-01-01T12:00:00Z"),
});

describe("run queue consumer", () => {
  it("starts the tick's scheduled run and acks the message", async () => {
    const body = start();
    const m = message(body);
    const result = await deliver(QUEUE_NAMES.runStarts, [m]);
    expect(result.explicitAcks).toEqual([m.id]);
    expect(result.retryMessages).toEqual([]);
    const [run] = await runsOf(body.tenant, body.jobId);
    expect(run).toMatchObject({ id: await scheduledRunId(body), trigger: "schedule" });
  });

  it("starts no second run for a message delivered twice — at once, or after the first run ended", async () => {
    const body = start();
    const [first, second] = [message(body), message(body)];
    // Two deliveries of one message in one batch (at-least-once delivery).
    const result = await deliver(QUEUE_NAMES.runStarts, [first, second]);
    expect(result.explicitAcks.sort()).toEqual([first.id, second.id].sort());
    // The job does not exist, so its runner ends the run (job_not_found); a later redelivery must not start another.
    const runs = await settled(body.tenant, body.jobId);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe("failed");
    const late = message(body, 2);
    expect((await deliver(QUEUE_NAMES.runStarts, [late])).explicitAcks).toEqual([late.id]);
    expect(await runsOf(body.tenant, body.jobId)).toHaveLength(1);
    // The next tick of the same job is a new run.
    await deliver(QUEUE_NAMES.runStarts, [message({ ...body, tick: body.tick + 3_600_000 })]);
    expect(await settled(body.tenant, body.jobId)).toHaveLength(2);
  });

  it("retries a start that failed instead of acking it (the queue dead-letters it after max_retries)", async () => {
    // A message whose job id is missing can't be inserted (D1 refuses the undefined value): the start fails.
    const broken = { ...start(), jobId: undefined };
    const ok = start();
    const [bad, good] = [message(broken), message(ok)];
    const result = await deliver(QUEUE_NAMES.runStarts, [bad, good]);
    expect(result.explicitAcks).toEqual([good.id]);
    expect(result.retryMessages.map((r: { msgId: string }) => r.msgId)).toEqual([bad.id]);
    expect(await runsOf(ok.tenant, ok.jobId)).toHaveLength(1);
  });

  it("records a dead-lettered start as a failed scheduled run (start_failed) the job's history shows", async () => {
    const body = start();
    const m = message(body);
    const result = await deliver(QUEUE_NAMES.deadLetters, [m]);
    expect(result.explicitAcks).toEqual([m.id]);
    const runs = await runsOf(body.tenant, body.jobId);
    expect(runs).toEqual([
      {
        id: await scheduledRunId(body),
        trigger: "schedule",
        status: "failed",
        error_code: "start_failed",
        error_message: expect.stringContaining("2030-01-01T12:00:00.000Z could not be started"),
      },
    ]);
    // A dead letter for a tick whose run exists after all records nothing more.
    await deliver(QUEUE_NAMES.deadLetters, [message(body)]);
    expect(await runsOf(body.tenant, body.jobId)).toHaveLength(1);
  });
});
