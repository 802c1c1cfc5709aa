/**
 * The whole demo stack in one process tree: the sandbox (in-process), the edge (demo/edge-process.ts, child process,
 * local KV/D1/DO persisted under a folder), and the demo host page (in-process). Used by `npm run demo` and by the
 * browser tests' global setup (ephemeral ports, throwaway state).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { applyLocalMigrations, startEdgeProcess, WRANGLER } from "./edge-process";
import { startHostServer, REPO_ROOT, type HostServer } from "./host/server";
import { startMailCatcher } from "./mail-catcher";
import { startSandbox, type OrgCopyOptions, type SandboxInfo } from "./sandbox/index";

export interface StackOptions {
  /** Demo host page port (0 = ephemeral). */
  hostPort?: number;
  /** Edge port (0 = ephemeral). */
  edgePort?: number;
  /** First sandbox port: identity https, then identity http, then one per org (0 = all ephemeral). */
  sandboxPort?: number;
  /** Accounts in the contoso org. */
  rows?: number;
  /**
   * Extra sandbox orgs copied from contoso/fabrikam (same records and GUIDs, their own OrganizationId and URL; ports
   * after the two orgs'). The browser tests start one per parallel slot (test/e2e/global-setup.ts). Default none.
   */
  orgCopies?: OrgCopyOptions[];
  /** Folder for the edge's local KV/D1/DO state. */
  persistTo?: string;
  /** Where generated secrets are kept (stable across demo restarts so stored ciphertexts stay readable). */
  secretsFile?: string;
  /** Build the widget (dist/widget/, which the edge serves) when it is missing (or always with "always"). */
  build?: "if-missing" | "always" | "never";
  log?: (line: string) => void;
  /** Tests: each test may pick its own host tenant through the page URL. */
  allowTenantOverride?: boolean;
  /** Show wrangler's output. */
  verbose?: boolean;
  /** Keep wrangler's devtools inspector on an ephemeral port (costs about half the sync throughput: demo/edge-process.ts). */
  devtools?: boolean;
  /** The SMTP catcher's SMTP and web inbox ports (0 = ephemeral); the edge sends run e-mails to it. */
  mailPort?: number;
  mailWebPort?: number;
  /** More vars for the edge, over wrangler.toml's (the benchmark compares ORG_STREAM_PERMITS settings with it). */
  edgeVars?: Record<string, string>;
}

export interface Stack {
  hostUrl: string;
  edgeUrl: string;
  sandbox: SandboxInfo;
  /** The authority the widget signs in against. */
  authority: string;
  hostJwtSecret: string;
  /** The local SMTP catcher (maildev) every run e-mail goes to: its web inbox, and its SMTP port. */
  mail: { webUrl: string; smtpPort: number };
  stop(): Promise<void>;
}

export class StackError extends Error {}

/** Resolves when the port can be bound on 127.0.0.1; a taken port is a clear error naming the flag to change. */
export async function assertPortFree(port: number, what: string, flag: string): Promise<void> {
  if (!port) return;
  await new Promise<void>((ok, fail) => {
    const s = createServer();
    s.once("error", (e: NodeJS.ErrnoException) =>
      fail(
        new StackError(
          e.code === "EADDRINUSE"
            ? `Port ${port} (${what}) is already in use. Stop what uses it or pick another with ${flag}.`
            : `Port ${port} (${what}): ${e.message}`,
        ),
      ),
    );
    s.listen(port, "127.0.0.1", () => s.close(() => ok()));
  });
}

/** The edge's secrets and dev variables for wrangler's env file: owner-readable only, never on a command line. */
export function writeEdgeEnvFile(file: string, vars: Record<string, string>): void {
  const lines = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  writeFileSync(file, [...lines, ""].join("\n"), { mode: 0o600 });
}

export async function freePort(): Promise<number> {
  const { port, release } = await reservePort();
  await release();
  return port;
}

/**
 * An ephemeral port held by a listening placeholder until `release`: the port must be known long before its server
 * starts (the edge's allowed origins name the host page's port), and a port only looked up free can be taken meanwhile
 * by any process binding an ephemeral port (workerd starts several).
 */
export async function reservePort(): Promise<{ port: number; release(): Promise<void> }> {
  const s = createServer();
  await new Promise<void>((ok, fail) => {
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => ok());
  });
  return { port: (s.address() as { port: number }).port, release: () => new Promise<void>((ok) => s.close(() => ok())) };
}

interface Secrets {
  HOST_JWT_SECRET: string;
  ENCRYPTION_KEY: string;
}

function loadSecrets(file: string | undefined): Secrets {
  if (file && existsSync(file)) {
    try {
      const s = JSON.parse(readFileSync(file, "utf8")) as Secrets;
      if (s.HOST_JWT_SECRET && s.ENCRYPTION_KEY) return s;
    } catch {
      /* regenerate */
    }
  }
  const s: Secrets = { HOST_JWT_SECRET: randomBytes(32).toString("base64url"), ENCRYPTION_KEY: randomBytes(32).toString("base64") };
  if (file) {
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, JSON.stringify(s, null, 2), { mode: 0o600 });
  }
  return s;
}

export function buildWidget(log: (l: string) => void): void {
  log("building the widget (dist/widget/)…");
  const r = spawnSync(process.execPath, [join(REPO_ROOT, "node_modules", "vite", "bin", "vite.js"), "build", "--config", "widget/vite.config.ts"], {
    cwd: REPO_ROOT,
    stdio: "inherit",
  });
  if (r.status !== 0) throw new StackError("The widget build failed (npm run build).");
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const persistTo = opts.persistTo ?? join(REPO_ROOT, ".wrangler", "state");
  const cleanups: Array<() => Promise<void> | void> = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        /* keep stopping the rest */
      }
    }
    cleanups.length = 0;
  };

  try {
    if (!existsSync(WRANGLER)) throw new StackError("wrangler is not installed: run `npm ci` first.");
    if (opts.hostPort) await assertPortFree(opts.hostPort, "demo host page", "--host-port / DEMO_HOST_PORT");
    if (opts.edgePort) await assertPortFree(opts.edgePort, "edge", "--edge-port / DEMO_EDGE_PORT");
    if (opts.mailPort) await assertPortFree(opts.mailPort, "SMTP catcher", "--mail-port / DEMO_MAIL_PORT");
    if (opts.mailWebPort) await assertPortFree(opts.mailWebPort, "mail inbox", "--mail-web-port / DEMO_MAIL_WEB_PORT");
    if (opts.sandboxPort) {
      for (let i = 0; i < 4 + (opts.orgCopies?.length ?? 0); i++) await assertPortFree(opts.sandboxPort + i, "sandbox", "--sandbox-port / DEMO_SANDBOX_PORT");
    }

    const distEntry = join(REPO_ROOT, "dist", "widget", "dynamics-connector.js");
    if (opts.build === "always" || (opts.build !== "never" && !existsSync(distEntry))) buildWidget(log);

    // 1. Sandbox (Dataverse + identity), in this process.
    const sp = opts.sandboxPort ?? 0;
    const copies = opts.orgCopies ?? [];
    const sandbox = await startSandbox({
      rows: opts.rows ?? 1000,
      identityHttpsPort: sp ? sp : 0,
      identityHttpPort: sp ? sp + 1 : 0,
      // contoso, fabrikam, then the copies
      orgPorts: Array.from({ length: 2 + copies.length }, (_, i) => (sp ? sp + 2 + i : 0)),
      copies,
      quiet: true,
    });
    cleanups.push(() => sandbox.stop());
    const app = sandbox.apps[0];
    if (!app) throw new StackError("The sandbox registered no confidential app for the edge.");

    // 2. A local SMTP catcher with a web inbox: the edge's SMTP_URL, so run e-mails arrive somewhere one can look.
    const mail = await startMailCatcher({
      smtpPort: opts.mailPort ?? 0,
      webPort: opts.mailWebPort ?? 0,
      user: "demo",
      pass: randomBytes(12).toString("base64url"),
    });
    cleanups.push(() => mail.stop());

    // 3. Edge: migrations, then the Worker with the sandbox as the world.
    const secrets = loadSecrets(opts.secretsFile);
    const edgeReserved = opts.edgePort ? null : await reservePort();
    const hostReserved = opts.hostPort ? null : await reservePort();
    cleanups.push(async () => {
      await edgeReserved?.release();
      await hostReserved?.release();
    });
    const edgePort = opts.edgePort || edgeReserved!.port;
    const hostPort = opts.hostPort || hostReserved!.port;
    const origins = [`http://127.0.0.1:${hostPort}`, `http://localhost:${hostPort}`];
    // Every org the sandbox serves, copies included (host:port; each org has its own port).
    const orgHosts = sandbox.orgs.map((o) => new URL(o.url).host);
    mkdirSync(persistTo, { recursive: true });
    const envFile = join(persistTo, "..", `stack-${process.pid}.env`);
    writeEdgeEnvFile(envFile, {
      HOST_JWT_SECRET: secrets.HOST_JWT_SECRET,
      ENCRYPTION_KEY: secrets.ENCRYPTION_KEY,
      DYNAMICS_CLIENT_ID: app.clientId,
      DYNAMICS_CLIENT_SECRET: app.clientSecret,
      AUTHORITY_HOST: sandbox.identity.httpUrl,
      DEV_INSECURE_ORG_HOSTS: orgHosts.join(","),
      ALLOWED_ORIGINS: origins.join(","),
      SMTP_URL: mail.smtpUrl,
    });
    cleanups.push(() => {
      try {
        rmSync(envFile, { force: true });
      } catch {
        /* ignore */
      }
    });

    log("applying D1 migrations (local)…");
    try {
      applyLocalMigrations(persistTo);
    } catch (e) {
      throw new StackError((e as Error).message);
    }

    log(`starting the edge (127.0.0.1:${edgePort})…`);
    await edgeReserved?.release();
    const edge = await startEdgeProcess({
      port: edgePort,
      persistTo,
      envFile,
      logLevel: opts.verbose ? "info" : "warn",
      echo: opts.verbose ? "[edge] " : undefined,
      keepOutput: 20_000,
      testScheduled: true,
      inspectorPort: opts.devtools ? await freePort() : undefined,
      // These win over wrangler.toml [vars]; the env file carries the same values for the secrets' sake.
      vars: {
        AUTHORITY_HOST: sandbox.identity.httpUrl,
        DEV_INSECURE_ORG_HOSTS: orgHosts.join(","),
        ALLOWED_ORIGINS: origins.join(","),
        SMTP_URL: mail.smtpUrl, // the local catcher's throwaway password: not a deployment secret
        MAIL_FROM: "connector@acme-success.example",
        APP_URL: `http://127.0.0.1:${hostPort}/settings/integrations`,
        // Every-minute schedules, so the demo (and the browser journey) sees a scheduled run within a minute; a
        // deployment keeps the default shortest interval (5 minutes, docs/api.md "Quotas").
        QUOTA_MIN_SCHEDULE_MINUTES: "1",
        ...opts.edgeVars,
      },
    }).catch((e: Error) => {
      throw new StackError(e.message);
    });
    cleanups.push(() => edge.stop());
    const edgeUrl = edge.url;

    // 4. The demo host page.
    const authority = `${sandbox.identity.httpsUrl}/organizations/v2.0`;
    await hostReserved?.release();
    const host: HostServer = await startHostServer({
      port: hostPort,
      edgeUrl,
      identityOrigins: [sandbox.identity.httpsUrl, sandbox.identity.httpsUrl.replace("localhost", "127.0.0.1")],
      clientId: sandbox.spaClientId,
      authority,
      hostJwtSecret: secrets.HOST_JWT_SECRET,
      allowTenantOverride: opts.allowTenantOverride ?? false,
    });
    cleanups.push(() => host.close());

    return {
      hostUrl: host.url,
      edgeUrl,
      sandbox,
      authority,
      hostJwtSecret: secrets.HOST_JWT_SECRET,
      mail: { webUrl: mail.webUrl, smtpPort: mail.smtpPort },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
