/**
 * Run-end notifications waiting to go out (table `notifications_outbox`): one row per email recipient and one per
 * webhook. (run, channel, recipient) is unique, so a run that finishes twice (a late duplicate) never notifies twice.
 * The edge delivers webhooks; email rows wait for a sender a deployment plugs in (docs/sync.md "Notifications").
 */
import type { Env } from "../env";

export interface OutboxMessage {
  channel: "email" | "webhook";
  recipient: string;
  subject: string | null;
  body: string;
}

/** Queues a finished run's messages, all in one batch (nothing when there are none). */
export async function enqueueMessages(env: Env, tenant: string, runId: string, jobId: string, messages: OutboxMessage[]): Promise<void> {
  const now = new Date().toISOString();
  const stmts = messages.map((m) =>
    env.DATA.prepare(
      "INSERT OR IGNORE INTO notifications_outbox (id, tenant, run_id, job_id, channel, recipient, subject, body, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ).bind(crypto.randomUUID(), tenant, runId, jobId, m.channel, m.recipient, m.subject, m.body, Date.now(), now),
  );
  if (stmts.length) await env.DATA.batch(stmts);
}

export interface PendingWebhook {
  id: string;
  tenant: string;
  job_id: string;
  recipient: string;
  body: string;
  attempts: number;
}

/** Pending webhooks: one run's (delivered right at its end), or every one that is due (the cron tick's retries). */
export async function pendingWebhooks(env: Env, opts: { runId?: string; limit?: number } = {}): Promise<PendingWebhook[]> {
  const q = opts.runId
    ? env.DATA.prepare("SELECT id, tenant, job_id, recipient, body, attempts FROM notifications_outbox WHERE channel = 'webhook' AND status = 'pending' AND run_id = ?").bind(opts.runId)
    : env.DATA.prepare("SELECT id, tenant, job_id, recipient, body, attempts FROM notifications_outbox WHERE channel = 'webhook' AND status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?").bind(
        Date.now(),
        opts.limit ?? 50,
      );
  return (await q.all<PendingWebhook>()).results;
}

export async function markSent(env: Env, id: string, attempts: number): Promise<void> {
  await env.DATA.prepare("UPDATE notifications_outbox SET status = 'sent', attempts = ?, sent_at = ?, last_error = NULL WHERE id = ?").bind(attempts, new Date().toISOString(), id).run();
}

/** A failed attempt: `final` gives up (status failed), else the message is retried at `nextAttemptAt`. */
export async function markAttemptFailed(env: Env, id: string, attempts: number, error: string, final: boolean, nextAttemptAt: number): Promise<void> {
  await env.DATA.prepare("UPDATE notifications_outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?")
    .bind(final ? "failed" : "pending", attempts, nextAttemptAt, error, id)
    .run();
}
