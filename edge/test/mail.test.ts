/**
 * Run e-mails over SMTP from the Worker, against a real SMTP server (the global setup's maildev catcher, which requires
 * a user and password): sent once however many passes overlap, plain text + HTML, retried with backoff when the server
 * refuses, no password anywhere it could leak, and nothing claimed while SMTP is not configured.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Job } from "#contract/job";
import type { Run } from "#contract/run";
import type { CaughtMail } from "../../demo/mail-catcher";
import { emailReadinessCheck, deliverEmails } from "../src/mail/sender";
import { renderRunEmail, runLink } from "../src/mail/run-email";
import { smtpConfig } from "../src/mail/smtp-config";
import { enqueueNotifications } from "../src/sync/notify";
import type { Env } from "../src/env";

const catcher = JSON.parse(env.MAIL_CATCHER) as { smtpUrl: string; webUrl: string; password: string };
const smtpEnv = (over: Record<string, string> = {}): Env => ({ ...env, SMTP_URL: catcher.smtpUrl, MAIL_FROM: "sync@connector.example", ...over }) as Env;

async function mailsTo(address: string): Promise<CaughtMail[]> {
  const r = await fetch(`${catcher.webUrl}/api/email`);
  const all = (await r.json()) as CaughtMail[];
  return all.filter((m) => m.to.some((t) => t.address === address));
}

function run(over: Partial<Run> = {}): Run {
  return {
    id: crypto.randomUUID(),
    jobId: "job_mail",
    trigger: "manual",
    status: "partial",
    createdAt: "2026-01-01T00:00:00.000Z",
    startedAt: "2026-01-01T00:00:01.000Z",
    finishedAt: "2026-01-01T00:00:09.000Z",
    counts: { read: 120, inserted: 100, updated: 15, deleted: 2, skipped: 1, failed: 2 },
    error: null,
    ...over,
  };
}

async function queueRunMail(recipients: string[], r = run()): Promise<{ tenant: string; run: Run }> {
  const tenant = `t-${crypto.randomUUID()}`;
  const job = { id: r.jobId, name: "Users <nightly>", notify: { onSuccess: [], onPartial: recipients, onFailure: [], webhook: null } } as unknown as Job;
  await env.DATA.prepare(
    "INSERT INTO run_errors (run_id, seq, tenant, source_id, field, value, reason) VALUES (?1, 1, ?2, 'a1', 'Email', 'x@', 'not an e-mail address'), (?1, 2, ?2, 'a2', NULL, NULL, 'lookup not found')",
  )
    .bind(r.id, tenant)
    .run();
  await enqueueNotifications({ ...env, APP_URL: "https://host.example/settings/integrations" } as Env, tenant, job, r);
  return { tenant, run: r };
}

const rowsOf = (runId: string) =>
  env.DATA.prepare("SELECT recipient, status, attempts, last_error, next_attempt_at, claim_id FROM notifications_outbox WHERE run_id = ? AND channel = 'email'")
    .bind(runId)
    .all<{ recipient: string; status: string; attempts: number; last_error: string | null; next_attempt_at: number; claim_id: string | null }>()
    .then((r) => r.results);

describe("run e-mails over SMTP", () => {
  it("delivers the run's e-mail once — plain text and HTML, counts, first errors, the link — however many passes overlap", async () => {
    const to = `ops-${crypto.randomUUID().slice(0, 8)}@host.example`;
    const { run: r } = await queueRunMail([to]);
    const e = smtpEnv();
    const attempted = await Promise.all([deliverEmails(e, { runId: r.id }), deliverEmails(e, { runId: r.id }), deliverEmails(e)]);
    expect(attempted.reduce((a, b) => a + b.length, 0)).toBe(1);
    expect(await deliverEmails(e, { runId: r.id })).toHaveLength(0);
    const [row] = await rowsOf(r.id);
    expect(row).toMatchObject({ status: "sent", attempts: 1, last_error: null, claim_id: null });

    const mails = await mailsTo(to);
    expect(mails).toHaveLength(1);
    const m = mails[0]!;
    expect(m.subject).toBe("[partial] Users <nightly>");
    expect(m.from[0]!.address).toBe("sync@connector.example");
    expect(m.headers["x-dc-run"]).toBe(r.id);
    expect(m.text).toContain("Read 120, inserted 100, updated 15, deleted 2, skipped 1, failed 2");
    expect(m.text).toContain("- a1 Email: not an e-mail address");
    expect(m.text).toContain(`Open the run: https://host.example/settings/integrations#dc-run=${r.id}`);
    expect(m.html).toContain("Users &#60;nightly&#62;: partial");
    expect(m.html).toContain("<li>a2: lookup not found</li>");
    expect(m.html).toContain(`href="https://host.example/settings/integrations#dc-run=${r.id}"`);
  });

  it("leaves e-mails pending and unclaimed while SMTP_URL is not set, and readiness says why", async () => {
    const to = `nobody-${crypto.randomUUID().slice(0, 8)}@host.example`;
    const { run: r } = await queueRunMail([to]);
    const unset = { ...env, MAIL_FROM: "sync@connector.example" } as Env;
    expect(await deliverEmails(unset)).toHaveLength(0);
    expect(await rowsOf(r.id)).toMatchObject([{ status: "pending", attempts: 0, claim_id: null }]);
    expect(emailReadinessCheck(unset, 1)).toMatchObject({ id: "email_delivery", ok: false, severity: "warning" });
    expect(emailReadinessCheck(unset, 1)!.fix).toContain("SMTP_URL");
    expect(emailReadinessCheck(smtpEnv({ MAIL_FROM: "not an address" }), 1)!.label).toContain("MAIL_FROM");
    expect(emailReadinessCheck(smtpEnv(), 1)).toMatchObject({ ok: true });
    expect(emailReadinessCheck(unset, 0)).toBeNull();
    // Once configured, the waiting e-mail goes out.
    expect(await deliverEmails(smtpEnv(), { runId: r.id })).toMatchObject([{ result: "sent" }]);
    expect(await mailsTo(to)).toHaveLength(1);
  });

  it("retries with backoff when the server refuses the login, and never stores or logs the password", async () => {
    const to = `retry-${crypto.randomUUID().slice(0, 8)}@host.example`;
    const { run: r } = await queueRunMail([to]);
    const wrongPassword = "Wr0ng-Passw0rd-Xyz";
    const bad = smtpEnv({ SMTP_URL: catcher.smtpUrl.replace(encodeURIComponent(catcher.password), wrongPassword) });
    const logged: string[] = [];
    const orig = { warn: console.warn, error: console.error, log: console.log };
    for (const k of ["warn", "error", "log"] as const) console[k] = (...a: unknown[]) => void logged.push(a.map(String).join(" "));
    const before = Date.now();
    try {
      expect(await deliverEmails(bad, { runId: r.id })).toMatchObject([{ result: "retry" }]);
    } finally {
      Object.assign(console, orig);
    }
    const [row] = await rowsOf(r.id);
    expect(row).toMatchObject({ status: "pending", attempts: 1, claim_id: null });
    expect(row!.last_error).toMatch(/^SMTP connection failed: .*auth/i);
    expect(row!.next_attempt_at).toBeGreaterThan(before + 10_000);
    expect(JSON.stringify([row, logged])).not.toContain(wrongPassword);
    expect(JSON.stringify([row, logged])).not.toContain(btoa(wrongPassword));
    expect(await mailsTo(to)).toHaveLength(0);
    // Not due yet: a pass now sends nothing; with the right password and the retry due, it goes out once.
    await deliverEmails(smtpEnv());
    expect(await mailsTo(to)).toHaveLength(0);
    await env.DATA.prepare("UPDATE notifications_outbox SET next_attempt_at = 0 WHERE run_id = ?").bind(r.id).run();
    expect(await deliverEmails(smtpEnv(), { runId: r.id })).toMatchObject([{ result: "sent" }]);
    expect(await mailsTo(to)).toHaveLength(1);
    expect(await rowsOf(r.id)).toMatchObject([{ status: "sent", attempts: 2 }]);
  });
});

describe("SMTP_URL", () => {
  const cfg = (url: string, from = "sync@x.example") => smtpConfig({ ...env, SMTP_URL: url, MAIL_FROM: from } as Env);
  it("reads smtp:// (STARTTLS when offered, default port 587) and smtps:// (TLS from the start, 465) with encoded credentials", () => {
    expect(cfg("smtp://user%40corp:p%3Ass%20w@mail.example.com")).toEqual({
      config: { host: "mail.example.com", port: 587, secure: false, credentials: { username: "user@corp", password: "p:ss w" }, from: "sync@x.example" },
    });
    expect(cfg("smtps://mail.example.com")).toEqual({ config: { host: "mail.example.com", port: 465, secure: true, from: "sync@x.example" } });
    expect(cfg("smtp://u:p@[::1]:2525")).toMatchObject({ config: { host: "::1", port: 2525 } });
    expect(smtpConfig({ ...env, MAIL_FROM: "a@b.example" } as Env)).toBeNull();
  });
  it("names what is wrong without repeating the URL or its password", () => {
    for (const [url, from, problem] of [
      ["http://u:Secret123@mail.example.com", "a@b.example", "must start with smtp:// or smtps://"],
      ["not a url Secret123", "a@b.example", "is not a URL"],
      ["smtp://u:Secret123@mail.example.com", "", "MAIL_FROM"],
    ] as const) {
      const r = cfg(url, from);
      expect(r && "problem" in r ? r.problem : "").toContain(problem);
      expect(JSON.stringify(r)).not.toContain("Secret123");
    }
  });
});

describe("the run e-mail", () => {
  it("links to the run only for an http(s) APP_URL, with {runId} / {jobId} placeholders", () => {
    const r = { id: "r-1", jobId: "job_1" };
    expect(runLink("", r)).toBeNull();
    expect(runLink("javascript:alert(1)", r)).toBeNull();
    expect(runLink("https://app.example/jobs/{jobId}/runs/{runId}", r)).toBe("https://app.example/jobs/job_1/runs/r-1");
    expect(runLink("https://app.example/integrations", r)).toBe("https://app.example/integrations#dc-run=r-1");
    expect(
      renderRunEmail({ id: "j", name: "N" }, run({ status: "succeeded", counts: { read: 1, inserted: 1, updated: 0, deleted: 0, skipped: 0, failed: 0 } }), [])
        .text,
    ).not.toContain("Open the run");
  });
});
