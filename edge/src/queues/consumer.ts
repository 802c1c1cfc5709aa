/**
 * The Worker's `queue` handler: one entry for the three queues of wrangler.toml. Work messages are dispatched by type;
 * a batch from the dead-letter queue is recorded where an admin sees it (a failed run, a failed outbox row) and logged.
 */
import type { Env } from "../env";
import { errorText, QUEUE_NAMES, type NotificationMessage, type RunStartMessage, type WorkMessage } from "./messages";
import { consumeNotifications, recordDeadNotification } from "./notifications";
import { consumeRunStarts, recordDeadRunStart } from "./run-starts";

export async function queue(batch: MessageBatch<WorkMessage>, env: Env): Promise<void> {
  if (batch.queue === QUEUE_NAMES.deadLetters) return deadLetters(batch.messages, env);
  const starts = batch.messages.filter((m): m is Message<RunStartMessage> => m.body?.type === "run.start");
  const notes = batch.messages.filter((m): m is Message<NotificationMessage> => m.body?.type === "notification");
  for (const m of batch.messages) if (m.body?.type !== "run.start" && m.body?.type !== "notification") unknownMessage(m);
  if (starts.length) await consumeRunStarts(env, starts);
  if (notes.length) await consumeNotifications(env, notes);
}

/** A message this Worker can't read (another producer, an older shape): logged and dropped, never retried for ever. */
function unknownMessage(m: Message<unknown>): void {
  console.error(JSON.stringify({ level: "error", msg: "unknown queue message dropped", id: m.id }));
  m.ack();
}

async function deadLetters(messages: readonly Message<WorkMessage>[], env: Env): Promise<void> {
  for (const m of messages) {
    try {
      if (m.body?.type === "run.start") await recordDeadRunStart(env, m.body);
      else if (m.body?.type === "notification") await recordDeadNotification(env, m.body);
      else unknownMessage(m);
      m.ack();
    } catch (e) {
      console.error(JSON.stringify({ level: "error", msg: "dead letter not recorded, retrying", id: m.id, error: errorText(e) }));
      m.retry({ delaySeconds: 60 });
    }
  }
}
