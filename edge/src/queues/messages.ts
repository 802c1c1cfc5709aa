/**
 * The messages on the Worker's queues (wrangler.toml [[queues.*]]; why queues: docs/decisions/0010-scheduling-on-queues.md).
 * Bodies are small JSON objects that name the work, never carry it: the consumer reads the truth (the schedule's claimed
 * tick, the outbox row) from D1, so a late or repeated message can't act on stale content.
 */
import type { Env } from "../env";

/** The queue names of wrangler.toml (a batch says which queue it came from; the dead-letter queue is told apart by it). */
export const QUEUE_NAMES = { runStarts: "dc-run-starts", notifications: "dc-notifications", deadLetters: "dc-dead-letters" } as const;

/** Start the scheduled run of `jobId` for its claimed tick `tick` (epoch ms). */
export interface RunStartMessage {
  type: "run.start";
  tenant: string;
  jobId: string;
  tick: number;
}

/** Deliver the outbox row `id` (a webhook or one e-mail). */
export interface NotificationMessage {
  type: "notification";
  tenant: string;
  id: string;
  channel: "email" | "webhook";
}

export type WorkMessage = RunStartMessage | NotificationMessage;

/** Queues.sendBatch takes at most 100 messages (and 256 KB) per call; our bodies are ~150 bytes. */
const SEND_BATCH_MAX = 100;

/** Sends `bodies` to `queue`, 100 per call, in order (the order is the fairness order the producer chose). */
export async function sendAll(queue: Env["RUN_QUEUE"], bodies: WorkMessage[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += SEND_BATCH_MAX)
    await queue.sendBatch(bodies.slice(i, i + SEND_BATCH_MAX).map((body) => ({ body, contentType: "json" as const })));
}

/** Backoff of a message the consumer could not process (its own failure, not the receiver's): 10 s, 20 s, 40 s … ≤ 5 min. */
export function consumerRetryDelaySeconds(attempts: number): number {
  return Math.min(300, 10 * 2 ** Math.max(0, attempts - 1));
}

/** A failure's text for a log line, bounded. */
export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e)).slice(0, 300);
