/**
 * Notifications through the notification queue. Outbox rows (stores/outbox.ts) stay the truth; a row is handed to the
 * queue (claim before enqueue: handOffDue moves its next_attempt_at ahead in the statement that selects it) at run end
 * and by the cron sweep, one message per row. The consumer claims the batch's rows, delivers them (webhooks a few at a
 * time, e-mails in one SMTP session) and answers each message: ack when sent or failed for good, `retry({ delaySeconds })`
 * with the outbox's backoff when the receiver failed. A consumer that keeps crashing dead-letters the message, and the
 * row ends `failed` (recordDeadNotification).
 */
import type { Env } from "../env";
import { deliverEmails } from "../mail/sender";
import { smtpConfig } from "../mail/smtp-config";
import { handOffDue, markDead, returnHandOffs, type OutboxMessage } from "../stores/outbox";
import { deliverWebhooks, type DeliveryOutcome } from "../sync/notify";
import { consumerRetryDelaySeconds, errorText, sendAll, type NotificationMessage } from "./messages";

/**
 * Hands due rows (one run's, or every one due) to the notification queue and returns how many. E-mails only when a
 * valid SMTP configuration exists: without one they wait, unclaimed, as before.
 */
export async function handOffNotifications(env: Env, opts: { runId?: string; limit?: number } = {}, now = Date.now()): Promise<number> {
  const smtp = smtpConfig(env);
  const channels: Array<OutboxMessage["channel"]> = smtp && "config" in smtp ? ["webhook", "email"] : ["webhook"];
  const rows = await handOffDue(env, channels, opts, now);
  try {
    await sendAll(
      env.NOTIFY_QUEUE,
      rows.map((r) => ({ type: "notification", tenant: r.tenant, id: r.id, channel: r.channel })),
    );
  } catch (e) {
    await returnHandOffs(
      env,
      rows.map((r) => r.id),
    );
    throw e;
  }
  return rows.length;
}

/** The notification queue's consumer. Returns the outcomes of the rows it attempted. */
export async function consumeNotifications(env: Env, messages: readonly Message<NotificationMessage>[]): Promise<DeliveryOutcome[]> {
  const all: DeliveryOutcome[] = [];
  for (const channel of ["webhook", "email"] as const) {
    const mine = messages.filter((m) => m.body.channel === channel);
    if (!mine.length) continue;
    let outcomes: DeliveryOutcome[];
    try {
      const ids = mine.map((m) => m.body.id);
      outcomes = channel === "webhook" ? await deliverWebhooks(env, { ids }) : await deliverEmails(env, { ids });
    } catch (e) {
      // Our own failure (D1, the runtime), not a receiver's: the queue retries, and dead-letters after max_retries.
      console.warn(JSON.stringify({ level: "warn", msg: "notification delivery failed, retrying", channel, error: errorText(e) }));
      for (const m of mine) m.retry({ delaySeconds: consumerRetryDelaySeconds(m.attempts) });
      continue;
    }
    const byId = new Map(outcomes.map((o) => [o.id, o]));
    for (const m of mine) {
      const o = byId.get(m.body.id);
      // Not attempted: already sent or failed (a repeated message), held by another delivery, or e-mail is not configured.
      if (o?.result === "retry") m.retry({ delaySeconds: Math.max(1, Math.ceil((o.retryInMs ?? 30_000) / 1000)) });
      else m.ack();
    }
    all.push(...outcomes);
  }
  return all;
}

/** A notification the queue gave up on: its row ends `failed` with the reason, and the Worker's log says so. */
export async function recordDeadNotification(env: Env, m: NotificationMessage): Promise<void> {
  const dead = await markDead(env, m.id, "dead-lettered: every delivery of the notification queue failed (the Worker's log has the reason)");
  console.error(JSON.stringify({ level: "error", msg: "notification dead-lettered", tenant: m.tenant, id: m.id, channel: m.channel, marked: dead }));
}
