/**
 * Sends queued e-mails (outbox rows, channel `email`) over SMTP from the Worker: a TCP socket (`cloudflare:sockets`)
 * driven by worker-mailer, one SMTP session per delivery pass (a batch of the notification queue's consumer). Each row is
 * claimed first (stores/outbox.ts), renewed right before it is sent, and ends sent, retried later with backoff, or failed
 * for good — so overlapping passes (two deliveries of one message) never send one twice. Without SMTP_URL the rows wait (readiness says so); a broken
 * SMTP_URL / MAIL_FROM fails nothing either: every row waits until the configuration is fixed.
 */
import type { ReadinessCheck } from "#contract/connection";
import { LogLevel, WorkerMailer } from "worker-mailer";
import type { Env } from "../env";
import { claimMessages, holdClaim, markSent, type PendingMessage } from "../stores/outbox";
import { failedAttempt, type DeliveryOutcome } from "../sync/notify";
import { redactSecret, smtpConfig, type SmtpConfig } from "./smtp-config";

const MAX_ATTEMPTS = 8;
/** Per SMTP reply and for the TCP connect; a claim (2 min) outlives several. */
const TIMEOUT_MS = 20_000;

function connect(config: SmtpConfig): Promise<WorkerMailer> {
  return WorkerMailer.connect({
    host: config.host,
    port: config.port,
    secure: config.secure,
    startTls: !config.secure, // upgrade when the server offers STARTTLS
    ...(config.credentials ? { credentials: config.credentials, authType: ["plain", "login", "cram-md5"] } : {}),
    logLevel: LogLevel.NONE, // our own log lines, redacted
    socketTimeoutMs: TIMEOUT_MS,
    responseTimeoutMs: TIMEOUT_MS,
  });
}

/** worker-mailer's send never settles once its session closed underneath it (e.g. the server hung up): bounded here. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error(`${what} timed out after ${ms / 1000} s`)), ms)));
  return Promise.race([p, timeout]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

const errorText = (e: unknown, config: SmtpConfig | null) => redactSecret(e instanceof Error ? e.message : String(e), config).slice(0, 300);

function failAttempt(env: Env, row: PendingMessage, error: string): Promise<DeliveryOutcome> {
  return failedAttempt(env, row, error, row.attempts + 1 >= MAX_ATTEMPTS);
}

/**
 * Delivers e-mails — one run's, the given rows (the queue consumer's), or all due ones — in one SMTP session, and returns
 * the outcome of every row attempted. Nothing happens without a valid SMTP configuration: the rows stay pending and
 * unclaimed.
 */
export async function deliverEmails(env: Env, opts: { runId?: string; ids?: string[]; limit?: number } = {}): Promise<DeliveryOutcome[]> {
  const parsed = smtpConfig(env);
  if (!parsed || "problem" in parsed) return [];
  const config = parsed.config;
  const rows = await claimMessages(env, "email", opts);
  if (!rows.length) return [];
  let mailer: WorkerMailer;
  try {
    mailer = await connect(config);
  } catch (e) {
    // The server is unreachable or refused us (e.g. authentication): every claimed row is retried later.
    const error = `SMTP connection failed: ${errorText(e, config)}`;
    console.warn(JSON.stringify({ level: "warn", msg: "smtp connection failed", host: config.host, port: config.port, error }));
    const outcomes: DeliveryOutcome[] = [];
    for (const r of rows) outcomes.push(await failAttempt(env, r, error));
    return outcomes;
  }
  const outcomes: DeliveryOutcome[] = [];
  try {
    for (const row of rows) {
      if (!(await holdClaim(env, row))) continue; // another pass took the row over: it is theirs to send
      try {
        await withTimeout(
          mailer.send({
            from: config.from,
            to: row.recipient,
            subject: row.subject ?? "",
            text: row.body,
            ...(row.html ? { html: row.html } : {}),
            headers: { "X-DC-Run": row.run_id },
          }),
          TIMEOUT_MS * 2,
          "sending",
        );
        await markSent(env, row.id, row.attempts + 1);
        outcomes.push({ id: row.id, result: "sent" });
      } catch (e) {
        outcomes.push(await failAttempt(env, row, `SMTP refused the message: ${errorText(e, config)}`));
      }
    }
  } finally {
    await mailer.close().catch(() => {});
  }
  return outcomes;
}

/**
 * The readiness line about e-mail for a connection whose jobs have e-mail recipients: a warning (never required) when
 * SMTP_URL is missing or unreadable — the messages wait in the outbox until it is set. Null when nothing is to say.
 */
export function emailReadinessCheck(env: Env, recipients: number): ReadinessCheck | null {
  if (!recipients) return null;
  const parsed = smtpConfig(env);
  if (parsed && "config" in parsed) return { id: "email_delivery", ok: true, severity: "info", label: "Run e-mails are sent over SMTP" };
  return {
    id: "email_delivery",
    ok: false,
    severity: "warning",
    label: parsed ? `Run e-mails can't be sent: ${parsed.problem}` : "Run e-mails are not sent: no mail server is configured",
    fix: 'The deployment sets SMTP_URL (wrangler secret put SMTP_URL, e.g. smtp://user:password@smtp.example.com:587) and MAIL_FROM (docs/operations.md "E-mail"); until then the e-mails wait in the outbox and go out once it is set.',
  };
}
