/**
 * Offline simulator of the Dataverse Web API v9.2 and the Microsoft identity platform (docs/sandbox.md).
 * `startSandbox()` starts the identity listeners (https + http) and one http listener per org.
 */
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { ensureCert } from "./certs";
import { orgSpecs } from "./data";
import { APPS, Identity, USERS } from "./identity";
import { BU_CONTOSO, BU_FABRIKAM, ORG_CONTOSO, ORG_FABRIKAM, SPA_CLIENT_ID, TENANT_CONTOSO, TENANT_FABRIKAM } from "./ids";
import { Org } from "./org";
import { OrgServer } from "./orgserver";

export interface SandboxOptions {
  /** accounts in contoso; default 1000 */
  rows?: number;
  seed?: number;
  /** default 127.0.0.1 */
  host?: string;
  identityHttpsPort?: number;
  identityHttpPort?: number;
  /** one per org; 0 = ephemeral */
  orgPorts?: number[];
  certDir?: string;
  quiet?: boolean;
}
export interface SandboxInfo {
  identity: {
    /** https://localhost:PORT, for the browser/msal */
    httpsUrl: string;
    /** http://127.0.0.1:PORT, same endpoints, for the Worker */
    httpUrl: string;
  };
  orgs: Array<{
    /** "contoso" | "fabrikam" */
    key: string;
    /** http://127.0.0.1:PORT — the org URL, Dataverse at url + /api/data/v9.2/ */
    url: string;
    tenantId: string;
    organizationId: string;
    name: string;
  }>;
  users: Array<{ upn: string; password?: never; displayName: string; tenantId: string; description: string }>;
  /** registered confidential apps (client credentials) */
  apps: Array<{ clientId: string; clientSecret: string; description: string }>;
  /** a registered public SPA client id for msal-browser */
  spaClientId: string;
  caCertPem: string;
  stop(): Promise<void>;
}

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<SandboxInfo> {
  const rows = opts.rows ?? 1000;
  const seed = opts.seed ?? 1;
  const host = opts.host ?? "127.0.0.1";
  const log = (msg: string): void => {
    if (!opts.quiet) console.log(`[sandbox] ${msg}`);
  };
  const cert = await ensureCert(opts.certDir ?? `${REPO_ROOT}.sandbox-certs`);
  const servers: Server[] = [];

  const [cSpec, fSpec] = orgSpecs(rows, seed) as [ReturnType<typeof orgSpecs>[0], ReturnType<typeof orgSpecs>[0]];
  const orgs = [
    new Org({ key: "contoso", name: "Contoso (sandbox)", tenantId: TENANT_CONTOSO, organizationId: ORG_CONTOSO, businessUnitId: BU_CONTOSO, spec: cSpec, initialDenied: {} }),
    new Org({ key: "fabrikam", name: "Fabrikam (sandbox)", tenantId: TENANT_FABRIKAM, organizationId: ORG_FABRIKAM, businessUnitId: BU_FABRIKAM, spec: fSpec, initialDenied: {} }),
  ];
  // limited@contoso.example has no read privilege on contact.
  const contoso = orgs[0]!;
  const limitedId = contoso.resolvePrincipal("limited@contoso.example")!;
  contoso.cfg.initialDenied[limitedId] = ["contact"];
  contoso.reset();

  let identity: Identity | undefined;
  const idHandler = (base: () => string) => (req: Parameters<Identity["handle"]>[0], res: Parameters<Identity["handle"]>[1]): void => {
    if (!identity) {
      res.writeHead(503).end();
      return;
    }
    void identity.handle(req, res, base());
  };
  let httpsUrl = "";
  let httpUrl = "";
  try {
    const httpsServer = createHttpsServer({ cert: cert.cert, key: cert.key }, idHandler(() => httpsUrl)) as unknown as Server;
    servers.push(httpsServer);
    const httpsPort = await listen(httpsServer, opts.identityHttpsPort ?? 0, host);
    httpsUrl = `https://localhost:${httpsPort}`;
    // "localhost" may resolve to ::1 first; serve the same port there too when the host is the IPv4 loopback.
    if (host === "127.0.0.1") {
      const v6 = createHttpsServer({ cert: cert.cert, key: cert.key }, idHandler(() => httpsUrl)) as unknown as Server;
      try {
        await listen(v6, httpsPort, "::1");
        servers.push(v6);
      } catch {
        /* no IPv6 loopback: fine */
      }
    }
    const httpServer = createHttpServer(idHandler(() => httpUrl));
    servers.push(httpServer);
    const httpPort = await listen(httpServer, opts.identityHttpPort ?? 0, host);
    httpUrl = `http://${host}:${httpPort}`;

    identity = new Identity({ httpsUrl, httpUrl, resources: () => orgs.map((o) => o.url) });
    await identity.init();

    for (let i = 0; i < orgs.length; i++) {
      const org = orgs[i]!;
      const os = new OrgServer(org, identity);
      const server = createHttpServer((req, res) => {
        os.handle(req, res).catch((e: unknown) => {
          if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/json" });
          res.end(JSON.stringify({ error: { code: "0x80040216", message: String(e) } }));
        });
      });
      servers.push(server);
      const port = await listen(server, opts.orgPorts?.[i] ?? 0, host);
      org.url = `http://${host}:${port}`;
      log(`org ${org.key}: ${org.url}/api/data/v9.2/ (${org.cfg.spec.counts.account} accounts)`);
    }
  } catch (e) {
    await Promise.all(servers.map(close));
    throw e;
  }
  log(`identity: ${httpsUrl} (https) and ${httpUrl} (http)`);

  let stopped = false;
  return {
    identity: { httpsUrl, httpUrl },
    orgs: orgs.map((o) => ({ key: o.key, url: o.url, tenantId: o.cfg.tenantId, organizationId: o.cfg.organizationId, name: o.cfg.name })),
    users: USERS.map((u) => ({ upn: u.upn, displayName: u.displayName, tenantId: u.tenantId, description: u.description })),
    apps: APPS.filter((a) => a.kind === "confidential").map((a) => ({ clientId: a.clientId, clientSecret: a.clientSecret!, description: a.description })),
    spaClientId: SPA_CLIENT_ID,
    caCertPem: cert.cert,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      await Promise.all(servers.map(close));
    },
  };
}
