/**
 * Runs in Node before the workerd test pool:
 * - serves a host JWKS (the host backend's RS256 public key) on loopback; its URL becomes HOST_JWKS_URL and the private
 *   keys reach the tests as the HOST_JWKS binding so they can sign RS256 host tokens (good and bad ones);
 * - starts the offline sandbox (demo/sandbox) and hands its public facts to the tests via `provide` (they arrive as the
 *   SANDBOX binding and as AUTHORITY_HOST / DEV_INSECURE_ORG_HOSTS). When the sandbox is not present (it is built in
 *   parallel) the Dynamics-dependent tests skip themselves;
 * - serves a webhook receiver on loopback (WEBHOOK_RECEIVER binding; its host is in DEV_INSECURE_ORG_HOSTS like a
 *   developer's local receiver would be): it records every request so tests can count deliveries;
 * - starts an SMTP catcher (demo/mail-catcher.ts, maildev) requiring a user and password; its SMTP_URL and web API
 *   reach the tests as the MAIL_CATCHER binding (the Worker's own SMTP_URL stays unset: tests opt in).
 */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import type { TestProject } from "vitest/node";
import { startMailCatcher } from "../../demo/mail-catcher";

export interface SandboxInfo {
  identity: { httpsUrl: string; httpUrl: string };
  orgs: Array<{ key: string; url: string; tenantId: string; organizationId: string; name: string }>;
  users: Array<{ upn: string; tenantId: string }>;
  apps: Array<{ clientId: string; clientSecret: string }>;
  spaClientId: string;
}

/** The host backend's RS256 signing material for tests: the JWKS serves the public half of `privateJwk` only. */
export interface HostJwksInfo {
  url: string;
  kid: string;
  /** Private JWK whose public key the JWKS serves under `kid`. */
  privateJwk: JWK;
  /** Its public JWK (what an algorithm-confusion attacker would use as an HMAC secret). */
  publicJwk: JWK;
  /** Another key pair's private JWK, never published. */
  strangerJwk: JWK;
}

declare module "vitest" {
  export interface ProvidedContext {
    sandbox: SandboxInfo | null;
    hostJwks: HostJwksInfo;
    webhookReceiver: string;
    mailCatcher: { smtpUrl: string; webUrl: string; password: string };
  }
}

/** One request the webhook receiver got. */
export interface ReceivedWebhook {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/**
 * A webhook receiver like a host's: `POST <any path>` is recorded and answered 200 — `?status=<code>` answers that
 * status instead, `?delay=<ms>` answers after a while (so overlapping deliveries really overlap). `GET /_received?path=`
 * lists what was received under that path prefix (tests use a fresh path each).
 */
async function startWebhookReceiver(): Promise<{ url: string; server: Server }> {
  const received: ReceivedWebhook[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://receiver");
    if (req.method === "GET" && url.pathname === "/_received") {
      const prefix = url.searchParams.get("path") ?? "/";
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify(received.filter((r) => r.path.startsWith(prefix))));
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
      received.push({ method: req.method ?? "", path: url.pathname, headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() });
      const status = Number(url.searchParams.get("status") ?? 200);
      const delay = Math.min(5_000, Number(url.searchParams.get("delay") ?? 0));
      setTimeout(() => res.writeHead(status).end(), delay);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server };
}

/** A JWKS endpoint like a host backend would publish (`/.well-known/jwks.json`). */
async function startHostJwks(): Promise<{ info: HostJwksInfo; server: Server }> {
  const kid = "host-key-1";
  const [signing, stranger] = await Promise.all([generateKeyPair("RS256", { extractable: true }), generateKeyPair("RS256", { extractable: true })]);
  const publicJwk: JWK = { ...(await exportJWK(signing.publicKey)), kid, alg: "RS256", use: "sig" };
  const privateJwk: JWK = { ...(await exportJWK(signing.privateKey)), kid, alg: "RS256" };
  const strangerJwk: JWK = { ...(await exportJWK(stranger.privateKey)), alg: "RS256" };
  const body = JSON.stringify({ keys: [publicJwk] });
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/.well-known/jwks.json") {
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "max-age=300" });
      res.end(body);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { info: { url: `http://127.0.0.1:${port}/.well-known/jwks.json`, kid, privateJwk, publicJwk, strangerJwk }, server };
}

export default async function setup(project: TestProject) {
  const jwks = await startHostJwks();
  project.provide("hostJwks", jwks.info);
  const receiver = await startWebhookReceiver();
  project.provide("webhookReceiver", receiver.url);
  const catcherPassword = "s3cret pass@word";
  const catcher = await startMailCatcher({ user: "edge-tests", pass: catcherPassword });
  project.provide("mailCatcher", { smtpUrl: catcher.smtpUrl, webUrl: catcher.webUrl, password: catcherPassword });
  const stopJwks = async () => {
    await new Promise<void>((resolve) => jwks.server.close(() => resolve()));
    await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
    await catcher.stop();
  };

  const entry = fileURLToPath(new URL("../../demo/sandbox/index.ts", import.meta.url));
  if (!existsSync(entry)) {
    console.warn("[edge tests] demo/sandbox/index.ts not found: Dynamics-dependent tests are skipped");
    project.provide("sandbox", null);
    return stopJwks;
  }
  const mod = (await import(/* @vite-ignore */ entry)) as {
    startSandbox: (opts?: Record<string, unknown>) => Promise<SandboxInfo & { stop(): Promise<void> | void }>;
  };
  // contoso-copy: a sandbox environment copied from contoso (same record GUIDs, another OrganizationId, same tenant).
  // contoso-reconcile: another copy, whose users the reconciliation tests create and delete (no other test reads it).
  // contoso-shards: another copy, whose projects the D1 shard tests change (shards.test.ts; no other test reads it).
  // contoso-partitions: another copy, whose projects, latency and stats the partitioned-load tests use (partitions.test.ts).
  const sb = await mod.startSandbox({
    copies: [
      { key: "contoso-copy", from: "contoso" },
      { key: "contoso-reconcile", from: "contoso" },
      { key: "contoso-shards", from: "contoso" },
      { key: "contoso-partitions", from: "contoso" },
    ],
  });
  project.provide("sandbox", {
    identity: sb.identity,
    orgs: sb.orgs.map(({ key, url, tenantId, organizationId, name }) => ({ key, url, tenantId, organizationId, name })),
    users: sb.users.map(({ upn, tenantId }) => ({ upn, tenantId })),
    apps: sb.apps.map(({ clientId, clientSecret }) => ({ clientId, clientSecret })),
    spaClientId: sb.spaClientId,
  });
  return async () => {
    await sb.stop();
    await stopJwks();
  };
}
