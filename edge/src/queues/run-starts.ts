/**
 * Scheduled run starts through the run queue. The cron tick claims each due tick in D1 first (stores/schedule-index.ts
 * claimTicks) and only then enqueues a `run.start` for it; this consumer starts the run and hands it to the job's
 * JobRunner Durable Object, which stays the executor. A message may arrive twice (queues deliver at least once): the
 * run's id is derived from (tenant, job, tick), so a second delivery hits the first one's primary key and starts nothing.
 */
import type { Env } from "../env";
import { createRun, finishRun, getRunRow, RunInProgressError } from "../stores/runs";
import type { TickClaim } from "../stores/schedule-index";
import { dbFor } from "../stores/shards";
import { onRunFinished } from "../sync/finish";
import { kickRunner } from "../sync/runner-api";
import { startRun } from "../sync/start";
import { consumerRetryDelaySeconds, errorText, sendAll, type RunStartMessage } from "./messages";

/** Enqueues one run start per claimed tick, in the order given (the tick's fair order). */
export async function enqueueRunStarts(env: Env, claims: TickClaim[]): Promise<void> {
  await sendAll(
    env.RUN_QUEUE,
    claims.map((c) => ({ type: "run.start", tenant: c.entry.tenant, jobId: c.entry.jobId, tick: c.entry.nextDueAt })),
  );
}

/** The id of the run a scheduled tick starts: a UUID-shaped SHA-256 of (tenant, job, tick), the same for every delivery. */
export async function scheduledRunId(m: Pick<RunStartMessage, "tenant" | "jobId" | "tick">): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`schedule\u0000${m.tenant}\u0000${m.jobId}\u0000${m.tick}`)));
  h[6] = (h[6]! & 0x0f) | 0x80; // version 8 (custom), RFC 9562
  h[8] = (h[8]! & 0x3f) | 0x80; // RFC variant
  const x = [...h.slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/**
 * What one `run.start` did: `started`; `duplicate` (an earlier delivery of the same message created the run — handed to
 * its runner again in case that delivery died in between); `in_progress` (another run of the job is active: the tick is
 * consumed, not queued, as it always was).
 */
export type RunStartOutcome = "started" | "duplicate" | "in_progress";

export async function startScheduledRun(env: Env, m: RunStartMessage): Promise<RunStartOutcome> {
  const id = await scheduledRunId(m);
  try {
    await startRun(env, m.tenant, m.jobId, "schedule", null, { id });
    return "started";
  } catch (e) {
    if (!(e instanceof RunInProgressError)) throw e;
    const own = e.activeRunId === id ? true : (await getRunRow(env, m.tenant, id)) !== null;
    if (!own) return "in_progress";
    if (e.activeRunId === id) await kickRunner(env, { tenant: m.tenant, jobId: m.jobId, runId: id });
    return "duplicate";
  }
}

/** Messages started at once by one consumer invocation: each start is two D1 statements and one Durable Object call. */
export const PARALLEL_STARTS = 10;

/** The run queue's consumer: each message acked once handled, retried with backoff when the start failed. */
export async function consumeRunStarts(env: Env, messages: readonly Message<RunStartMessage>[]): Promise<Record<RunStartOutcome | "retried", number>> {
  const counts = { started: 0, duplicate: 0, in_progress: 0, retried: 0 };
  let next = 0;
  const lane = async () => {
    while (next < messages.length) {
      const msg = messages[next++]!;
      try {
        counts[await startScheduledRun(env, msg.body)]++;
        msg.ack();
      } catch (e) {
        counts.retried++;
        console.warn(
          JSON.stringify({ level: "warn", msg: "scheduled run start failed, retrying", jobId: msg.body.jobId, attempts: msg.attempts, error: errorText(e) }),
        );
        msg.retry({ delaySeconds: consumerRetryDelaySeconds(msg.attempts) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_STARTS, messages.length) }, lane));
  return counts;
}

/**
 * A run start the queue gave up on (dead-lettered after its retries): the tick's run is recorded as failed with
 * `start_failed`, so the job's run history shows it and the job's failure notifications go out; logged as an error.
 * Nothing is recorded when the tick's run exists after all, or another run of the job is active.
 */
export async function recordDeadRunStart(env: Env, m: RunStartMessage): Promise<void> {
  const id = await scheduledRunId(m);
  const message = `The scheduled run due at ${new Date(m.tick).toISOString()} could not be started: every attempt of the run queue failed (the Worker's log has the reason)`;
  console.error(JSON.stringify({ level: "error", msg: "scheduled run start dead-lettered", tenant: m.tenant, jobId: m.jobId, tick: m.tick }));
  try {
    await createRun(env, m.tenant, m.jobId, "schedule", null, { id });
  } catch (e) {
    if (e instanceof RunInProgressError) return;
    throw e;
  }
  if (await finishRun(await dbFor(env, m.tenant), id, "failed", { code: "start_failed", message })) await onRunFinished(env, m.tenant, id);
}
