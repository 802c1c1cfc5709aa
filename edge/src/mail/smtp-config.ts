/**
 * The deployment's mail server: `SMTP_URL` (a secret: `wrangler secret put SMTP_URL`, it carries the password) and
 * `MAIL_FROM` (a var). `smtp://user:pass@host:587` upgrades with STARTTLS when the server offers it; `smtps://…:465` is
 * TLS from the first byte. User and password are URL-encoded in the URL (`%40` for `@`). Nothing here ever puts the
 * password into a message: problems name the variable and what is wrong with it, never its value.
 */
import type { Env } from "../env";

/** SMTP_URL is optional, so it is not in [secrets] required (that would refuse deploys without it): typed here. */
type MailEnv = Env & { SMTP_URL?: string };

export interface SmtpConfig {
  host: string;
  port: number;
  /** smtps: TLS from the start. smtp: plain, upgraded with STARTTLS when the server offers it. */
  secure: boolean;
  credentials?: { username: string; password: string };
  from: string;
}

const EMAIL = /^[^\s@<>"]+@[^\s@<>"]+$/;

/** The parsed configuration, `null` when e-mail is not configured (no SMTP_URL), or the problem with it. */
export function smtpConfig(env: Env): { config: SmtpConfig } | { problem: string } | null {
  const raw = ((env as MailEnv).SMTP_URL ?? "").trim();
  if (!raw) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: "SMTP_URL is not a URL (smtp://user:password@host:port or smtps://…)" };
  }
  if (url.protocol !== "smtp:" && url.protocol !== "smtps:") return { problem: "SMTP_URL must start with smtp:// or smtps://" };
  if (!url.hostname) return { problem: "SMTP_URL has no host" };
  const secure = url.protocol === "smtps:";
  const port = url.port ? Number(url.port) : secure ? 465 : 587;
  const from = (env.MAIL_FROM ?? "").trim();
  if (!EMAIL.test(from)) return { problem: "MAIL_FROM must be the sender's e-mail address (e.g. sync@example.com)" };
  let credentials: SmtpConfig["credentials"];
  try {
    credentials = url.username ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : undefined;
  } catch {
    return { problem: "SMTP_URL's user or password is not correctly URL-encoded" };
  }
  return { config: { host: url.hostname.replace(/^\[|\]$/g, ""), port, secure, ...(credentials ? { credentials } : {}), from } };
}

/** Text safe to log or store about a mail failure: the SMTP password never appears in it, whatever the server echoed. */
export function redactSecret(text: string, config: SmtpConfig | null): string {
  const secrets = [config?.credentials?.password, config?.credentials?.password ? btoa(config.credentials.password) : undefined].filter(
    (s): s is string => !!s && s.length >= 3,
  );
  let out = text;
  for (const s of secrets) out = out.split(s).join("***");
  return out;
}
