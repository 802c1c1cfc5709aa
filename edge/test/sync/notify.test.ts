import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Job } from "#contract/job";
import type { Run } from "#contract/run";
import type { ReceivedWebhook } from "../global-setup";
import { claimWebhooks, enqueueMessages, WEBHOOK_CLAIM_MS } from "../../src/stores/outbox";
import { deliverClaimed, deliverWebhooks, enqueueNotifications, signWebhook, webhookSecret } from "../../src/sync/notify";

const enc = new TextEncoder();
const hex = (buf: ArrayBuffer) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
async function hmacHex(key: Uint8Array | ArrayBuffer, data: string): Promise<string> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return hex(await crypto.subtle.sign("HMAC", k, enc.encode(data)));
}
const b64 = (s: string) => Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));

/** What the global setup's receiver got under `path` (a fresh path per test). */
async function received(path: string): Promise<ReceivedWebhook[]> {
  const res = await fetch(`${env.WEBHOOK_RECEIVER}/_received?path=${encodeURIComponent(path)}`);
  return (await res.json()) as ReceivedWebhook[];
}

async function outboxRows(runId: string) {
  const { results } = await env.DATA.prepare(
    "SELECT recipient, status, attempts, last_error, claimed_until, claim_id FROM notifications_outbox WHERE run_id = ? ORDER BY recipient",
  )
    .bind(runId)
    .all<{
      recipient: string;
      status: string;
      attempts: number;
      last_error: string | null;
      claimed_until: number | null;
      claim_id: string | null;
    }>();
  return results;
}

async function queueWebhooks(urls: string[]): Promise<{ tenant: string; runId: string; jobId: string }> {
  const tenant = `t-${crypto.randomUUID()}`;
  const runId = crypto.randomUUID();
  const jobId = `job_${crypto.randomUUID().slice(0, 8)}`;
  await enqueueMessages(
    env,
    tenant,
    runId,
    jobId,
    urls.map((u) => ({ channel: "webhook", recipient: u, subject: null, body: JSON.stringify({ type: "run.finished", runId }) })),
  );
  return { tenant, runId, jobId };
}

describe("webhook signature", () => {
  it("is HMAC-SHA256 over timestamp.body in hex (matches an independent computation)", async () => {
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("whsec_test"), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode('1700000000.{"a":1}')));
    const hex = [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
    expect(await signWebhook("whsec_test", 1700000000, '{"a":1}')).toBe(`v1=${hex}`);
  });
});

describe("webhook signing secret", () => {
  const msg = "webhook:tenant-a:job_1";

  it("is derived from its own key (HKDF of ENCRYPTION_KEY, info webhook-signing/v1), never keyed with ENCRYPTION_KEY itself", async () => {
    const secret = await webhookSecret(env, "tenant-a", "job_1");
    const raw = b64(env.ENCRYPTION_KEY);
    // Not the encryption key (raw bytes, or the setting's text) used as the HMAC key directly.
    expect(secret).not.toBe(`whsec_${await hmacHex(raw, msg)}`);
    expect(secret).not.toBe(`whsec_${await hmacHex(enc.encode(env.ENCRYPTION_KEY), msg)}`);
    // It is HMAC with the HKDF-derived signing key (an independent computation).
    const ikm = await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveBits"]);
    const signingKey = await crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: enc.encode("dynamics-connector/key-derivation"), info: enc.encode("webhook-signing/v1") },
      ikm,
      256,
    );
    expect(secret).toBe(`whsec_${await hmacHex(signingKey, msg)}`);
  });

  it("is per job and tenant, stable, and follows the current key of a rotated ENCRYPTION_KEY", async () => {
    const a = await webhookSecret(env, "tenant-a", "job_1");
    expect(await webhookSecret(env, "tenant-a", "job_1")).toBe(a);
    expect(await webhookSecret(env, "tenant-a", "job_2")).not.toBe(a);
    expect(await webhookSecret(env, "tenant-b", "job_1")).not.toBe(a);
    // A key id label does not change the key; a new current key does (rotating the key rotates the secrets).
    expect(await webhookSecret({ ENCRYPTION_KEY: `k1:${env.ENCRYPTION_KEY}` }, "tenant-a", "job_1")).toBe(a);
    const other = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
    expect(await webhookSecret({ ENCRYPTION_KEY: `new:${other},old:${env.ENCRYPTION_KEY}` }, "tenant-a", "job_1")).not.toBe(a);
  });
});

describe("webhook delivery", () => {
  it("POSTs the run event signed with the job's secret", async () => {
    const path = `/hook-${crypto.randomUUID()}`;
    const { tenant, runId, jobId } = await queueWebhooks([`${env.WEBHOOK_RECEIVER}${path}`]);
    expect(await deliverWebhooks(env, { runId })).toHaveLength(1);
    const [got] = await received(path);
    expect(got).toMatchObject({ method: "POST", body: JSON.stringify({ type: "run.finished", runId }) });
    const ts = Number(got!.headers["x-dc-timestamp"]);
    expect(got!.headers["x-dc-signature"]).toBe(await signWebhook(await webhookSecret(env, tenant, jobId), ts, got!.body));
    expect((await outboxRows(runId))[0]).toMatchObject({ status: "sent", attempts: 1, claimed_until: null, claim_id: null });
  });

  it("sends each webhook exactly once when delivery passes overlap (rows are claimed)", async () => {
    const path = `/overlap-${crypto.randomUUID()}`;
    const urls = [1, 2, 3].map((i) => `${env.WEBHOOK_RECEIVER}${path}/${i}?delay=300`);
    const { runId } = await queueWebhooks(urls);
    // Three passes at once (the run's own delivery and cron ticks that overlap): each row goes to one of them.
    const handled = await Promise.all([deliverWebhooks(env, { runId }), deliverWebhooks(env, { runId }), deliverWebhooks(env, { runId })]);
    expect(handled.reduce((a, b) => a + b.length, 0)).toBe(3);
    const got = await received(path);
    expect(got.map((r) => r.path).sort()).toEqual([`${path}/1`, `${path}/2`, `${path}/3`]);
    expect((await outboxRows(runId)).map((r) => [r.status, r.attempts])).toEqual([
      ["sent", 1],
      ["sent", 1],
      ["sent", 1],
    ]);
    // Nothing left to send: a later pass sends nothing again.
    expect(await deliverWebhooks(env, { runId })).toHaveLength(0);
    expect(await received(path)).toHaveLength(3);
  });

  it("skips a row another pass holds, and retries one whose claim expired (a pass that died mid-delivery)", async () => {
    const path = `/lease-${crypto.randomUUID()}`;
    const { runId } = await queueWebhooks([`${env.WEBHOOK_RECEIVER}${path}/held`, `${env.WEBHOOK_RECEIVER}${path}/crashed`]);
    const now = Date.now();
    await env.DATA.prepare("UPDATE notifications_outbox SET claimed_until = ? WHERE run_id = ? AND recipient LIKE '%/held'")
      .bind(now + WEBHOOK_CLAIM_MS, runId)
      .run();
    await env.DATA.prepare("UPDATE notifications_outbox SET claimed_until = ? WHERE run_id = ? AND recipient LIKE '%/crashed'")
      .bind(now - 1, runId)
      .run();
    expect(await deliverWebhooks(env, { runId })).toHaveLength(1);
    expect((await received(path)).map((r) => r.path)).toEqual([`${path}/crashed`]);
    const rows = await outboxRows(runId);
    expect(rows.find((r) => r.recipient.endsWith("/held"))).toMatchObject({ status: "pending", attempts: 0 });
    expect(rows.find((r) => r.recipient.endsWith("/crashed"))).toMatchObject({ status: "sent", claimed_until: null });
  });

  it("does not send a row whose claim lapsed in a slow pass and that another pass took over", async () => {
    const path = `/takeover-${crypto.randomUUID()}`;
    const { runId } = await queueWebhooks([`${env.WEBHOOK_RECEIVER}${path}`]);
    const slow = await claimWebhooks(env, { runId }); // pass A claims, then is held up behind slow receivers …
    expect(slow).toHaveLength(1);
    await env.DATA.prepare("UPDATE notifications_outbox SET claimed_until = ? WHERE run_id = ?")
      .bind(Date.now() - 1, runId)
      .run(); // … past its lease
    expect(await deliverWebhooks(env, { runId })).toHaveLength(1); // pass B takes the row over and sends it
    expect(await deliverClaimed(env, slow)).toHaveLength(0); // pass A reaches the row: no longer its own, not sent
    expect(await received(path)).toHaveLength(1);
    expect((await outboxRows(runId))[0]).toMatchObject({ status: "sent", attempts: 1, claimed_until: null, claim_id: null });
  });

  it("re-checks the URL at delivery: a refused one is not POSTed and fails for good with the reason", async () => {
    const path = `/refused-${crypto.randomUUID()}`;
    const urls = [
      `${env.WEBHOOK_RECEIVER}${path}/a\tb`, // a tab the URL parser would drop: reaches the receiver as /ab if sent
      "https://169.254.169.254/latest/meta-data/", // cloud metadata (link-local)
      "https://127.0.0.1/hook", // loopback over https
    ];
    const { runId } = await queueWebhooks(urls);
    expect(await deliverWebhooks(env, { runId })).toHaveLength(3);
    expect(await received(path)).toEqual([]);
    const rows = await outboxRows(runId);
    for (const r of rows) {
      expect(r).toMatchObject({ status: "failed", attempts: 1, claimed_until: null });
      expect(r.last_error).toMatch(/^webhook URL refused: the URL must /);
      expect(r.last_error).not.toContain("meta-data"); // the reason never repeats the URL's path
    }
    expect(rows.find((r) => r.recipient.startsWith("https://169."))!.last_error).toContain("link-local");
    expect(rows.find((r) => r.recipient.startsWith("https://127."))!.last_error).toContain("loopback");
  });

  it("keeps a receiver's failure for a retry (pending, claim released)", async () => {
    const path = `/fail-${crypto.randomUUID()}`;
    const { runId } = await queueWebhooks([`${env.WEBHOOK_RECEIVER}${path}?status=503`]);
    expect(await deliverWebhooks(env, { runId })).toHaveLength(1);
    expect((await outboxRows(runId))[0]).toMatchObject({ status: "pending", attempts: 1, last_error: "receiver answered 503", claimed_until: null });
  });
});

describe("e-mail notifications", () => {
  const run = (over: Partial<Run> = {}): Run =>
    ({
      id: crypto.randomUUID(),
      jobId: "job_x",
      trigger: "manual",
      status: "failed",
      strategy: "full",
      createdAt: "2024-01-01T00:00:00.000Z",
      startedAt: "2024-01-01T00:00:00.000Z",
      finishedAt: "2024-01-01T00:01:00.000Z",
      counts: { read: 0, inserted: 0, updated: 0, deleted: 0, skipped: 0, failed: 0 },
      progress: { pages: 0, rowsSeen: 0 },
      error: { code: "internal", message: "x" },
      ...over,
    }) as Run;

  it("never puts a control character of the job name into a subject (a name stored before names were checked)", async () => {
    const job = {
      id: "job_x",
      name: "Accounts\r\nBcc: attacker@evil.example\u2028X",
      notify: { onSuccess: [], onPartial: [], onFailure: ["ops@example.com"], webhook: null },
    } as unknown as Job;
    const r = run();
    await enqueueNotifications(env, `t-${crypto.randomUUID()}`, job, r);
    const row = await env.DATA.prepare("SELECT subject, body FROM notifications_outbox WHERE run_id = ? AND channel = 'email'")
      .bind(r.id)
      .first<{ subject: string; body: string }>();
    expect(row!.subject).toBe("[failed] Accounts Bcc: attacker@evil.example X");
    expect(row!.subject).not.toMatch(/[\r\n\u2028]/);
    expect(row!.body.split("\n")[0]).toBe("Job: Accounts Bcc: attacker@evil.example X (job_x)");
  });
});
