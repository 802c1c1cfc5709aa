/**
 * A local SMTP catcher with a web inbox (maildev): every message sent to it is kept in memory and shown at its web
 * address; nothing is relayed anywhere. The demo stack points the edge's SMTP_URL at it, the browser and edge tests read
 * what arrived through maildev's REST API (`GET /api/email`). It speaks plain SMTP on loopback: STARTTLS is not offered
 * (maildev's built-in certificate is self-signed, which a Worker's TLS upgrade rightly refuses).
 */
import { MailDev } from "maildev";

export interface MailCatcher {
  /** SMTP port on 127.0.0.1. */
  smtpPort: number;
  /** The web inbox (and REST API: `${webUrl}/api/email`). */
  webUrl: string;
  /** SMTP_URL for the edge (with the catcher's user and password when it requires them). */
  smtpUrl: string;
  stop(): Promise<void>;
}

/** One message as maildev's API lists it (the fields the tests read). */
export interface CaughtMail {
  id: string;
  subject: string;
  text?: string;
  html?: string;
  from: Array<{ address: string }>;
  to: Array<{ address: string }>;
  headers: Record<string, string>;
}

export async function startMailCatcher(opts: { smtpPort?: number; webPort?: number; user?: string; pass?: string } = {}): Promise<MailCatcher> {
  const md = new MailDev({
    smtp: opts.smtpPort ?? 0,
    ip: "127.0.0.1",
    web: opts.webPort ?? 0,
    webIp: "127.0.0.1",
    silent: true,
    hideExtensions: ["STARTTLS"],
    ...(opts.user ? { incomingUser: opts.user, incomingPass: opts.pass ?? "" } : {}),
  });
  const servers = await md.start();
  const smtpPort = (servers.smtp as unknown as { port: number }).port;
  const web = (servers.api as unknown as { app: { server: { address(): { port: number } } } }).app.server.address();
  const auth = opts.user ? `${encodeURIComponent(opts.user)}:${encodeURIComponent(opts.pass ?? "")}@` : "";
  return { smtpPort, webUrl: `http://127.0.0.1:${web.port}`, smtpUrl: `smtp://${auth}127.0.0.1:${smtpPort}`, stop: () => md.stop() };
}

/** The messages the catcher holds (newest last). */
export async function caughtMails(webUrl: string): Promise<CaughtMail[]> {
  const r = await fetch(`${webUrl}/api/email`);
  if (!r.ok) throw new Error(`mail catcher: GET /api/email answered ${r.status}`);
  return (await r.json()) as CaughtMail[];
}
