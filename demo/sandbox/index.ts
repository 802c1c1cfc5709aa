/**
 * Offline simulator of the Dataverse Web API v9.2 and the Microsoft identity platform (docs/sandbox.md).
 * `startSandbox()` starts the identity listeners (https + http) and one http listener per org (contoso, fabrikam, then
 * the copies asked for in `copies`).
 */
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { ensureCert } from "./certs";
import { orgSpecs } from "./data";
import { APPS, Identity, USERS } from "./identity";
import {
  APP_CONNECTOR_ID,
  BU_CONTOSO,
  BU_FABRIKAM,
  copyOrganizationId,
  ORG_CONTOSO,
  ORG_FABRIKAM,
  SPA_CLIENT_ID,
  TENANT_CONTOSO,
  TENANT_FABRIKAM,
} from "./ids";
import { Org, type OrgConfig } from "./org";
import { OrgServer } from "./orgserver";
import type { RoleSpec } from "./security";
import { applySettings, DEFAULT_SETTINGS } from "./settings";

/**
 * An org copied from another one, as when a Dynamics sandbox environment is copied from production: the same tables,
 * data and record GUIDs, users, security roles and application user, in the same Entra tenant — but its own
 * OrganizationId (derived from `key`), name and URL. Its data is its own from the start (regenerated from the same
 * seed, not shared): writes, faults, schema drift and privilege changes on one don't show on the other.
 */
export interface OrgCopyOptions {
  /** The copy's key, e.g. "contoso-copy": lower-case letters, digits and dashes. */
  key: string;
  /** Key of the org it is copied from ("contoso", "fabrikam" or an earlier copy). */
  from: string;
  /** Display name; default "<source name> — copy <key>". */
  name?: string;
}

export interface SandboxOptions {
  /** accounts in contoso; default 1000 */
  rows?: number;
  seed?: number;
  /** default 127.0.0.1 */
  host?: string;
  identityHttpsPort?: number;
  identityHttpPort?: number;
  /** one per org: contoso, fabrikam, then the copies in order; 0 or missing = ephemeral */
  orgPorts?: number[];
  /** extra orgs copied from contoso/fabrikam (default none) */
  copies?: OrgCopyOptions[];
  certDir?: string;
  quiet?: boolean;
  /** Every org: time each authenticated Web API request takes, ms (default 0). Runtime: PUT /_sandbox/settings. */
  pageLatencyMs?: number;
  /** Every org: extra time per 1,000 rows a response returns, ms (default 0). */
  latencyPer1000RowsMs?: number;
  /** Every org: concurrent requests per user before 429 0x80072326 (default 52, Dataverse's limit). */
  concurrencyLimit?: number;
}
export interface SandboxInfo {
  identity: {
    /** https://localhost:PORT, for the browser/msal */
    httpsUrl: string;
    /** http://127.0.0.1:PORT, same endpoints, for the Worker */
    httpUrl: string;
  };
  orgs: Array<{
    /** "contoso" | "fabrikam" | a copy's key */
    key: string;
    /** http://127.0.0.1:PORT — the org URL, Dataverse at url + /api/data/v9.2/ */
    url: string;
    tenantId: string;
    organizationId: string;
    name: string;
    /** for a copy: the key of the org it was copied from */
    copyOf?: string;
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

const COPY_KEY_RE = /^[a-z][a-z0-9-]{0,39}$/;

/**
 * The config of a copy of `from`: the source's data spec (same seed, org number and counts, so the same rows and
 * GUIDs; the spec is read-only, every Org keeps its own overlay), tenant, business unit and roles; its own key,
 * name and OrganizationId.
 */
function copyConfig(orgs: Org[], c: OrgCopyOptions): OrgConfig {
  if (typeof c?.key !== "string" || !COPY_KEY_RE.test(c.key))
    throw new Error(`sandbox: bad org copy key '${String(c?.key)}' (lower-case letters, digits and dashes, starting with a letter)`);
  if (orgs.some((o) => o.key === c.key)) throw new Error(`sandbox: there is already an org '${c.key}'`);
  const src = orgs.find((o) => o.key === c.from);
  if (!src) throw new Error(`sandbox: org copy '${c.key}' is copied from '${String(c.from)}', which is not an org (${orgs.map((o) => o.key).join(", ")})`);
  return {
    ...src.cfg,
    key: c.key,
    name: c.name ?? `${src.cfg.name} — copy ${c.key}`,
    organizationId: copyOrganizationId(c.key),
    copyOf: src.key,
    recordKey: src.cfg.recordKey ?? src.key,
  };
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

  const given = { pageLatencyMs: opts.pageLatencyMs, latencyPer1000RowsMs: opts.latencyPer1000RowsMs, concurrencyLimit: opts.concurrencyLimit };
  const settings = applySettings(DEFAULT_SETTINGS, Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)));
  const [cSpec, fSpec] = orgSpecs(rows, seed) as [ReturnType<typeof orgSpecs>[0], ReturnType<typeof orgSpecs>[0]];
  // Security roles at reset (docs/sandbox.md, "Users, security roles and privileges"); the control API changes them.
  const sysAdmin: RoleSpec = { name: "System Administrator", allTables: true };
  const orgs = [
    new Org({
      key: "contoso",
      name: "Contoso (sandbox)",
      tenantId: TENANT_CONTOSO,
      organizationId: ORG_CONTOSO,
      businessUnitId: BU_CONTOSO,
      spec: cSpec,
      settings,
      roles: {
        "admin@contoso.example": [sysAdmin],
        "limited@contoso.example": [{ name: "Sandbox Reader without Contact", read: { "*": "Global", contact: "None" } }],
        "basic@contoso.example": [{ name: "Sandbox Reader, own Contacts", read: { "*": "Global", contact: "Basic" } }],
        [APP_CONNECTOR_ID]: [{ name: "Sandbox Connector Reader", read: { "*": "Global" } }],
      },
    }),
    new Org({
      key: "fabrikam",
      name: "Fabrikam (sandbox)",
      tenantId: TENANT_FABRIKAM,
      organizationId: ORG_FABRIKAM,
      businessUnitId: BU_FABRIKAM,
      spec: fSpec,
      settings,
      roles: { "admin@fabrikam.example": [sysAdmin] },
    }),
  ];
  for (const c of opts.copies ?? []) orgs.push(new Org(copyConfig(orgs, c)));

  let identity: Identity | undefined;
  const idHandler =
    (base: () => string) =>
    (req: Parameters<Identity["handle"]>[0], res: Parameters<Identity["handle"]>[1]): void => {
      if (!identity) {
        res.writeHead(503).end();
        return;
      }
      void identity.handle(req, res, base());
    };
  let httpsUrl = "";
  let httpUrl = "";
  try {
    const httpsServer = createHttpsServer(
      { cert: cert.cert, key: cert.key },
      idHandler(() => httpsUrl),
    ) as unknown as Server;
    servers.push(httpsServer);
    const httpsPort = await listen(httpsServer, opts.identityHttpsPort ?? 0, host);
    httpsUrl = `https://localhost:${httpsPort}`;
    // "localhost" may resolve to ::1 first; serve the same port there too when the host is the IPv4 loopback.
    if (host === "127.0.0.1") {
      const v6 = createHttpsServer(
        { cert: cert.cert, key: cert.key },
        idHandler(() => httpsUrl),
      ) as unknown as Server;
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
      log(`org ${org.key}: ${org.url}/api/data/v9.2/ (${org.cfg.spec.counts.account} accounts${org.cfg.copyOf ? `, copy of ${org.cfg.copyOf}` : ""})`);
    }
  } catch (e) {
    await Promise.all(servers.map(close));
    throw e;
  }
  log(`identity: ${httpsUrl} (https) and ${httpUrl} (http)`);

  let stopped = false;
  return {
    identity: { httpsUrl, httpUrl },
    orgs: orgs.map((o) => ({
      key: o.key,
      url: o.url,
      tenantId: o.cfg.tenantId,
      organizationId: o.cfg.organizationId,
      name: o.cfg.name,
      ...(o.cfg.copyOf ? { copyOf: o.cfg.copyOf } : {}),
    })),
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
