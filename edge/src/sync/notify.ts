/**
 * Run-end notifications. Webhook: POST of the run as JSON, signed HMAC-SHA256 over `${timestamp}.${body}` with the
 * job's secret (derived from ENCRYPTION_KEY, so nothing secret is stored); headers `X-DC-Timestamp` (unix seconds)
 * and `X-DC-Signature: v1=<hex>`; receivers reject timestamps older than 5 minutes. Delivered right away with a few
 * quick retries, then by the cron handler with backoff (outbox). Emails: one outbox row per recipient; a deployment
 * plugs a sender in by draining `notifications_outbox` (see docs/sync.md "Notifications").
 */
import type { Job } from "#contract/job";
import type { Run } from "#contract/run";
import type { Env } from "../env";
import { devHosts } from "../security/org-url";
import { enqueueMessages, markAttemptFailed, markSent, pendingWebhooks, type OutboxMessage, type PendingWebhook } from "../stores/outbox";

const enc = new TextEncoder();
const WEBHOOK_MAX_ATTEMPTS = 8;

function hex(buf: ArrayBuffer): string {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function hmac(key: string | Uint8Array, data: string): Promise<ArrayBuffer> {
  const raw = typeof key === "string" ? enc.encode(key) : key;
  const k = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", k, enc.encode(data));
}

/** The job's webhook signing secret: HMAC(ENCRYPTION_KEY, "webhook:<tenant>:<job>") — stable, per job, never stored. */
export async function webhookSecret(env: Pick<Env, "ENCRYPTION_KEY">, tenant: string, jobId: string): Promise<string> {
  if (!env.ENCRYPTION_KEY) throw new Error("ENCRYPTION_KEY is not set");
  return "whsec_" + hex(await hmac(env.ENCRYPTION_KEY, `webhook:${tenant}:${jobId}`));
}

/** `v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>` */
export async function signWebhook(secret: string, timestamp: number, body: string): Promise<string> {
  return "v1=" + hex(await hmac(secret, `${timestamp}.${body}`));
}

/** https only, except hosts listed in DEV_INSECURE_ORG_HOSTS (local receivers in development). */
function webhookUrlAllowed(env: Pick<Env, "DEV_INSECURE_ORG_HOSTS">, url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.username || u.password) return false;
  if (u.protocol === "https:") return true;
  return u.protocol === "http:" && devHosts(env.DEV_INSECURE_ORG_HOSTS).has(u.host.toLowerCase());
}

function runEventBody(tenant: string, job: Pick<Job, "id" | "name">, run: Run): string {
  return JSON.stringify({ type: "run.finished", tenant, job: { id: job.id, name: job.name }, run });
}

/** Outbox rows for a finished run: one per email recipient of the outcome, one for the webhook. */
export async function enqueueNotifications(env: Env, tenant: string, job: Job, run: Run): Promise<void> {
  const recipients = run.status === "succeeded" ? job.notify.onSuccess : run.status === "partial" ? job.notify.onPartial : job.notify.onFailure;
  // A cancelled run is `failed` (error code "cancelled"): its recipients are onFailure's, its subject says what happened.
  const outcome = run.status === "failed" && run.error?.code === "cancelled" ? "cancelled" : run.status;
  const subject = `[${outcome}] ${job.name}`;
  const text = [
    `Job: ${job.name} (${job.id})`,
    `Run: ${run.id} — ${outcome} (${run.trigger})`,
    `Started: ${run.startedAt ?? "-"}  Finished: ${run.finishedAt ?? "-"}`,
    `Read ${run.counts.read}, inserted ${run.counts.inserted}, updated ${run.counts.updated}, deleted ${run.counts.deleted}, skipped ${run.counts.skipped}, failed ${run.counts.failed}`,
    ...(run.error ? [`Error: ${run.error.code}: ${run.error.message}`] : []),
  ].join("\n");
  const messages: OutboxMessage[] = recipients.map((to) => ({ channel: "email", recipient: to, subject, body: text }));
  if (job.notify.webhook) messages.push({ channel: "webhook", recipient: job.notify.webhook, subject: null, body: runEventBody(tenant, job, run) });
  await enqueueMessages(env, tenant, run.id, job.id, messages);
}

async function deliverOne(env: Env, row: PendingWebhook): Promise<void> {
  let error: string | null = null;
  if (!webhookUrlAllowed(env, row.recipient)) error = "webhook URL refused (https required)";
  else {
    try {
      const secret = await webhookSecret(env, row.tenant, row.job_id);
      const ts = Math.floor(Date.now() / 1000);
      const res = await fetch(row.recipient, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-DC-Timestamp": String(ts), "X-DC-Signature": await signWebhook(secret, ts, row.body), "User-Agent": "dynamics-connector-webhook/1" },
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
  const attempts = row.attempts + 1;
  if (error === null) {
    await markSent(env, row.id, attempts);
  } else {
    const final = attempts >= WEBHOOK_MAX_ATTEMPTS || error.startsWith("webhook URL refused");
    const next = Date.now() + Math.min(3_600_000, 30_000 * 2 ** (attempts - 1)) * (0.5 + Math.random() / 2);
    await markAttemptFailed(env, row.id, attempts, error, final, Math.floor(next));
  }
}

/** Delivers due webhooks (all, or one run's). Called at run end and by the cron handler. */
export async function deliverWebhooks(env: Env, opts: { runId?: string; limit?: number } = {}): Promise<number> {
  const due = await pendingWebhooks(env, opts);
  for (const r of due) await deliverOne(env, r);
  return due.length;
}
