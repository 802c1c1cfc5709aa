/**
 * Runs in Node before the workerd test pool:
 * - serves a host JWKS (the host backend's RS256 public key) on loopback; its URL becomes HOST_JWKS_URL and the private
 *   keys reach the tests as the HOST_JWKS binding so they can sign RS256 host tokens (good and bad ones);
 * - starts the offline sandbox (demo/sandbox) and hands its public facts to the tests via `provide` (they arrive as the
 *   SANDBOX binding and as AUTHORITY_HOST / DEV_INSECURE_ORG_HOSTS). When the sandbox is not present (it is built in
 *   parallel) the Dynamics-dependent tests skip themselves.
 */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import type { TestProject } from "vitest/node";

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
  }
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
  const stopJwks = () => new Promise<void>((resolve) => jwks.server.close(() => resolve()));

  const entry = fileURLToPath(new URL("../../demo/sandbox/index.ts", import.meta.url));
  if (!existsSync(entry)) {
    console.warn("[edge tests] demo/sandbox/index.ts not found: Dynamics-dependent tests are skipped");
    project.provide("sandbox", null);
    return stopJwks;
  }
  const mod = (await import(/* @vite-ignore */ entry)) as { startSandbox: (opts?: Record<string, unknown>) => Promise<SandboxInfo & { stop(): Promise<void> | void }> };
  const sb = await mod.startSandbox();
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
