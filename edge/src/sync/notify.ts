/**
 * Run-end notifications. Webhook: POST of the run as JSON, signed HMAC-SHA256 over `${timestamp}.${body}` with the
 * job's secret (derived from the webhook-signing key, itself derived from ENCRYPTION_KEY, so nothing secret is stored);
 * headers `X-DC-Timestamp` (unix seconds) and `X-DC-Signature: v1=<hex>`; receivers reject timestamps older than 5
 * minutes. Handed to the notification queue at run end; its consumer (queues/notifications.ts) delivers and retries with
 * backoff (outbox). Every delivery pass claims its rows first, so overlapping passes never send one twice, and re-checks
 * the URL against the webhook rules (security/webhook-url.ts) before it is POSTed. E-mails: one outbox row per recipient with the message rendered
 * at run end (mail/run-email.ts), sent over SMTP by mail/sender.ts (docs/sync.md "Notifications").
 */
import type { Job } from "#contract/job";
import type { Run } from "#contract/run";
import type { Env } from "../env";
import { EMAIL_ERRORS, renderRunEmail } from "../mail/run-email";
import { webhookUrlProblem } from "../security/webhook-url";
import { derivedHmacKey } from "../stores/crypto";
import {
  claimWebhooks,
  enqueueMessages,
  holdClaim,
  markAttemptFailed,
  markSent,
  QUEUE_HANDOFF_MS,
  type OutboxMessage,
  type PendingMessage,
} from "../stores/outbox";
import { listRunErrors } from "../stores/run-errors";

const enc = new TextEncoder();
const WEBHOOK_MAX_ATTEMPTS = 8;

function hex(buf: ArrayBuffer): string {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function hmac(key: string | CryptoKey, data: string): Promise<ArrayBuffer> {
  const k = typeof key === "string" ? await crypto.subtle.importKey("raw", enc.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]) : key;
  return crypto.subtle.sign("HMAC", k, enc.encode(data));
}

/**
 * The job's webhook signing secret: HMAC(K, "webhook:<tenant>:<job>") where K is the webhook-signing key derived from
 * ENCRYPTION_KEY (HKDF, info "webhook-signing/v1"; stores/crypto.ts) — never the encryption key itself. Stable, per
 * job, never stored; rotating ENCRYPTION_KEY rotates every job's secret.
 */
export async function webhookSecret(env: Pick<Env, "ENCRYPTION_KEY">, tenant: string, jobId: string): Promise<string> {
  if (!env.ENCRYPTION_KEY) throw new Error("ENCRYPTION_KEY is not set");
  return "whsec_" + hex(await hmac(await derivedHmacKey(env.ENCRYPTION_KEY, "webhook-signing/v1"), `webhook:${tenant}:${jobId}`));
}

/** `v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>` */
export async function signWebhook(secret: string, timestamp: number, body: string): Promise<string> {
  return "v1=" + hex(await hmac(secret, `${timestamp}.${body}`));
}

function runEventBody(tenant: string, job: Pick<Job, "id" | "name">, run: Run): string {
  return JSON.stringify({ type: "run.finished", tenant, job: { id: job.id, name: job.name }, run });
}

/** Outbox rows for a finished run: one per email recipient of the outcome (all the same message), one for the webhook. */
export async function enqueueNotifications(env: Env, tenant: string, job: Job, run: Run): Promise<void> {
  const recipients = run.status === "succeeded" ? job.notify.onSuccess : run.status === "partial" ? job.notify.onPartial : job.notify.onFailure;
  // A cancelled run is `failed` (error code "cancelled"): its recipients are onFailure's, its subject says what happened.
  const messages: OutboxMessage[] = [];
  if (recipients.length) {
    const errors = run.counts.failed > 0 ? await listRunErrors(env, tenant, run.id, EMAIL_ERRORS) : [];
    const mail = renderRunEmail(job, run, errors, env.APP_URL);
    for (const to of recipients) messages.push({ channel: "email", recipient: to, subject: mail.subject, body: mail.text, html: mail.html });
  }
  if (job.notify.webhook) messages.push({ channel: "webhook", recipient: job.notify.webhook, subject: null, body: runEventBody(tenant, job, run) });
  await enqueueMessages(env, tenant, run.id, job.id, messages);
}

/** Why a delivery is given up at once instead of retried (the URL will not become acceptable by waiting). */
const REFUSED = "webhook URL refused";

/** What became of one delivery attempt: sent, failed for good, or to be retried after `retryInMs` (the outbox's backoff). */
export interface DeliveryOutcome {
  id: string;
  result: "sent" | "failed" | "retry";
  retryInMs?: number;
}

/** 30 s, 1 min, 2 min … capped at 1 h, with jitter: the wait before attempt `attempts + 1` (webhooks and e-mails). */
export function retryDelayMs(attempts: number): number {
  return Math.floor(Math.min(3_600_000, 30_000 * 2 ** (attempts - 1)) * (0.5 + Math.random() / 2));
}

/**
 * Records a failed attempt: failed for good when `final`, else pending again. Its next_attempt_at lies past the retry the
 * queue makes (QUEUE_HANDOFF_MS), so the cron sweep only picks the row up if that retry is lost.
 */
export async function failedAttempt(env: Env, row: PendingMessage, error: string, final: boolean): Promise<DeliveryOutcome> {
  const attempts = row.attempts + 1;
  const retryInMs = retryDelayMs(attempts);
  await markAttemptFailed(env, row.id, attempts, error, final, Date.now() + retryInMs + QUEUE_HANDOFF_MS);
  return final ? { id: row.id, result: "failed" } : { id: row.id, result: "retry", retryInMs };
}

/** Delivers one claimed row (null: not attempted); the outcome (sent, retry later, or failed for good) ends the claim. */
async function deliverOne(env: Env, row: PendingMessage): Promise<DeliveryOutcome | null> {
  if (!(await holdClaim(env, row))) return null; // another pass took the row over: it is theirs to send
  let error: string | null = null;
  // The save-time rule again, at delivery: rows queued before it existed, or a DEV_INSECURE_ORG_HOSTS entry since removed.
  // The reason names the rule, never the URL (its path may hold the receiver's own secret).
  const problem = webhookUrlProblem(row.recipient, env.DEV_INSECURE_ORG_HOSTS);
  if (problem) error = `${REFUSED}: the URL ${problem}`;
  else {
    try {
      const secret = await webhookSecret(env, row.tenant, row.job_id);
      const ts = Math.floor(Date.now() / 1000);
      const res = await fetch(row.recipient, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "X-DC-Timestamp": String(ts),
          "X-DC-Signature": await signWebhook(secret, ts, row.body),
          "User-Agent": "dynamics-connector-webhook/1",
        },
        body: row.body,
        redirect: "manual",
        signal: AbortSignal.timeout(10_000),
      });
      await res.body?.cancel();
      if (!res.ok) error = `receiver answered ${res.status}`;
    } catch (e) {
      error = `delivery failed: ${e instanceof Error ? e.message.slice(0, 200) : "error"}`;
    }
  }
  if (error === null) {
    await markSent(env, row.id, row.attempts + 1);
    return { id: row.id, result: "sent" };
  }
  return failedAttempt(env, row, error, row.attempts + 1 >= WEBHOOK_MAX_ATTEMPTS || error.startsWith(REFUSED));
}

/**
 * Delivers webhooks: one run's, the given rows (the queue consumer's), or all due ones. Passes may overlap — each row is
 * claimed by exactly one of them (stores/outbox.ts claimWebhooks). Returns the outcome of every row attempted.
 */
export async function deliverWebhooks(env: Env, opts: { runId?: string; ids?: string[]; limit?: number } = {}): Promise<DeliveryOutcome[]> {
  return deliverClaimed(env, await claimWebhooks(env, opts));
}

/** Receivers POSTed to at once by one pass (each has its own 10 s timeout). */
const PARALLEL_POSTS = 5;

/**
 * Sends rows this pass claimed, a few at a time; a row whose claim another pass took over meanwhile is skipped. Returns
 * the outcomes of the rows attempted.
 */
export async function deliverClaimed(env: Env, rows: PendingMessage[]): Promise<DeliveryOutcome[]> {
  const outcomes: DeliveryOutcome[] = [];
  let next = 0;
  const lane = async () => {
    while (next < rows.length) {
      const o = await deliverOne(env, rows[next++]!);
      if (o) outcomes.push(o);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_POSTS, rows.length) }, lane));
  return outcomes;
}
