/**
 * Run-end notifications waiting to go out (table `notifications_outbox`): one row per email recipient and one per
 * webhook. (run, channel, recipient) is unique, so a run that finishes twice (a late duplicate) never notifies twice.
 * The edge delivers both channels (sync/notify.ts webhooks, mail/sender.ts e-mails over SMTP), each row claimed first
 * (`claimed_until`, migration 0006) so overlapping delivery passes never send one twice. Rows reach the deliverers
 * through the notification queue (queues/notifications.ts): handed off at run end and by the cron sweep (docs/sync.md
 * "Notifications").
 */
import type { Env } from "../env";

export interface OutboxMessage {
  channel: "email" | "webhook";
  recipient: string;
  subject: string | null;
  /** Webhook: the JSON body. E-mail: the plain-text part. */
  body: string;
  /** E-mail only: the HTML part (migration 0008). */
  html?: string | null;
}

/** Queues a finished run's messages, all in one batch (nothing when there are none). */
export async function enqueueMessages(env: Env, tenant: string, runId: string, jobId: string, messages: OutboxMessage[]): Promise<void> {
  const now = new Date().toISOString();
  const stmts = messages.map((m) =>
    env.DATA.prepare(
      "INSERT OR IGNORE INTO notifications_outbox (id, tenant, run_id, job_id, channel, recipient, subject, body, html, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ).bind(crypto.randomUUID(), tenant, runId, jobId, m.channel, m.recipient, m.subject, m.body, m.html ?? null, Date.now(), now),
  );
  if (stmts.length) await env.DATA.batch(stmts);
}

export interface PendingMessage {
  id: string;
  tenant: string;
  run_id: string;
  job_id: string;
  recipient: string;
  subject: string | null;
  body: string;
  html: string | null;
  attempts: number;
  /** The claim this pass holds the row with (see holdClaim). */
  claim_id: string;
}

/**
 * How long a claim holds a row: well above one delivery's timeout (10 s per POST, 30 s per SMTP reply; the claim is
 * renewed right before each send, see holdClaim), so a live pass never loses a row it is sending; a pass that died
 * mid-delivery (isolate evicted) gives its rows back when the lease runs out, for the queue's redelivery of its messages.
 */
export const WEBHOOK_CLAIM_MS = 2 * 60_000;

/**
 * Claims pending messages of one channel and returns them: one run's, the given rows (`ids`: the queue consumer's
 * batch), or every one that is due. One statement selects and claims (`claimed_until` = now + lease, `claim_id` = this
 * pass), so two overlapping passes — or two deliveries of one queue message — never get the same row; rows another pass
 * holds are skipped until its claim ends (sent, failed, or lease expired).
 */
export async function claimMessages(
  env: Env,
  channel: OutboxMessage["channel"],
  opts: { runId?: string; ids?: string[]; limit?: number } = {},
): Promise<PendingMessage[]> {
  const now = Date.now();
  // ?3 is the ids (JSON), the run, or unused (NULL).
  const which = opts.ids ? "id IN (SELECT value FROM json_each(?3))" : opts.runId ? "run_id = ?3" : "next_attempt_at <= ?2 AND ?3 IS NULL";
  const q = env.DATA.prepare(
    `UPDATE notifications_outbox SET claimed_until = ?1, claim_id = ?5
     WHERE id IN (SELECT id FROM notifications_outbox
                  WHERE channel = ?6 AND status = 'pending' AND ${which} AND (claimed_until IS NULL OR claimed_until <= ?2)
                  ORDER BY next_attempt_at LIMIT ?4)
       AND status = 'pending' AND (claimed_until IS NULL OR claimed_until <= ?2)
     RETURNING id, tenant, run_id, job_id, recipient, subject, body, html, attempts, claim_id`,
  ).bind(
    now + WEBHOOK_CLAIM_MS,
    now,
    opts.ids ? JSON.stringify(opts.ids) : (opts.runId ?? null),
    opts.ids?.length ?? opts.limit ?? 50,
    crypto.randomUUID(),
    channel,
  );
  return (await q.all<PendingMessage>()).results;
}

/**
 * How long a row handed to the notification queue is left to it: its next_attempt_at moves this far past the delivery
 * (or the retry) the queue will make, so the cron sweep hands it over again only when the queue lost it.
 */
export const QUEUE_HANDOFF_MS = 15 * 60_000;

/** A row handed to the queue: what its message names. */
export interface HandedOff {
  id: string;
  tenant: string;
  channel: OutboxMessage["channel"];
}

/**
 * Claim before enqueue: selects the due, unclaimed pending rows of `channels` (one run's, or all) and moves their
 * next_attempt_at QUEUE_HANDOFF_MS ahead in the same statement, so overlapping sweeps never hand a row over twice.
 */
export async function handOffDue(
  env: Env,
  channels: Array<OutboxMessage["channel"]>,
  opts: { runId?: string; limit?: number } = {},
  now = Date.now(),
): Promise<HandedOff[]> {
  if (!channels.length) return [];
  const { results } = await env.DATA.prepare(
    `UPDATE notifications_outbox SET next_attempt_at = ?1
     WHERE id IN (SELECT id FROM notifications_outbox
                  WHERE status = 'pending' AND channel IN (SELECT value FROM json_each(?2)) AND next_attempt_at <= ?3
                    AND (?4 IS NULL OR run_id = ?4) AND (claimed_until IS NULL OR claimed_until <= ?3)
                  ORDER BY next_attempt_at LIMIT ?5)
       AND status = 'pending' AND next_attempt_at <= ?3
     RETURNING id, tenant, channel`,
  )
    .bind(now + QUEUE_HANDOFF_MS, JSON.stringify(channels), now, opts.runId ?? null, opts.limit ?? 500)
    .all<HandedOff>();
  return results;
}

/** Takes hand-offs back (their messages could not be sent): due again at once, for the next sweep. */
export async function returnHandOffs(env: Env, ids: string[], now = Date.now()): Promise<void> {
  if (!ids.length) return;
  await env.DATA.prepare("UPDATE notifications_outbox SET next_attempt_at = ? WHERE id IN (SELECT value FROM json_each(?)) AND status = 'pending'")
    .bind(now, JSON.stringify(ids))
    .run();
}

/**
 * A message the queue gave up on (dead-lettered: the consumer kept failing, not the receiver): the row ends `failed`
 * with the reason, so it shows as undeliverable instead of waiting for ever. Only a pending row changes.
 */
export async function markDead(env: Env, id: string, error: string): Promise<boolean> {
  const r = await env.DATA.prepare(
    "UPDATE notifications_outbox SET status = 'failed', last_error = ?, claimed_until = NULL, claim_id = NULL WHERE id = ? AND status = 'pending'",
  )
    .bind(error.slice(0, 500), id)
    .run();
  return (r.meta.changes ?? 0) === 1;
}

/** claimMessages for webhooks. */
export function claimWebhooks(env: Env, opts: { runId?: string; ids?: string[]; limit?: number } = {}): Promise<PendingMessage[]> {
  return claimMessages(env, "webhook", opts);
}

/** How many e-mails wait unsent (pending), for the readiness hint when no mail server is configured. */
export async function countPendingEmails(env: Env, tenant: string): Promise<number> {
  const r = await env.DATA.prepare("SELECT COUNT(*) AS n FROM notifications_outbox WHERE tenant = ? AND channel = 'email' AND status = 'pending'")
    .bind(tenant)
    .first<{ n: number }>();
  return r?.n ?? 0;
}

/**
 * Right before a row is sent: renews its lease if this pass still holds it. False when the claim lapsed while the row
 * waited behind slow deliveries of the same pass and another pass took the row over — then this pass must not send it.
 */
export async function holdClaim(env: Env, row: Pick<PendingMessage, "id" | "claim_id">): Promise<boolean> {
  const r = await env.DATA.prepare("UPDATE notifications_outbox SET claimed_until = ? WHERE id = ? AND claim_id = ? AND status = 'pending'")
    .bind(Date.now() + WEBHOOK_CLAIM_MS, row.id, row.claim_id)
    .run();
  return (r.meta.changes ?? 0) === 1;
}

/** Delivered: the claim ends with the row. */
export async function markSent(env: Env, id: string, attempts: number): Promise<void> {
  await env.DATA.prepare(
    "UPDATE notifications_outbox SET status = 'sent', attempts = ?, sent_at = ?, last_error = NULL, claimed_until = NULL, claim_id = NULL WHERE id = ?",
  )
    .bind(attempts, new Date().toISOString(), id)
    .run();
}

/** A failed attempt: `final` gives up (status failed), else the message is retried at `nextAttemptAt`. Releases the claim. */
export async function markAttemptFailed(env: Env, id: string, attempts: number, error: string, final: boolean, nextAttemptAt: number): Promise<void> {
  await env.DATA.prepare(
    "UPDATE notifications_outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, claimed_until = NULL, claim_id = NULL WHERE id = ?",
  )
    .bind(final ? "failed" : "pending", attempts, nextAttemptAt, error, id)
    .run();
}
