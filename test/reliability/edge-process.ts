/**
 * A minimal stack for the reliability suite: the offline sandbox (in this process) + the edge under `wrangler dev`
 * (child process) on a throwaway persisted state folder. Unlike demo/stack.ts it can stop and start ONLY the edge
 * on the same persisted KV/D1/Durable Object state (the restart test), and it passes `SYNC_PAGE_SIZE` so a 50,000-row
 * run has enough pages for injected faults to matter. Same pieces as demo/stack.ts: startSandbox, `wrangler d1
 * migrations apply --local`, `wrangler dev --persist-to … --env-file …`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { freePort, wranglerEnv, writeEdgeEnvFile } from "../../demo/stack";
import { REPO_ROOT } from "../../demo/host/server";
import { startSandbox, type SandboxInfo } from "../../demo/sandbox/index";
import { socketsOf, workerdBelow } from "../bench/lib/proc";

const WRANGLER = join(REPO_ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

export interface ReliabilityStackOptions {
  rows: number;
  /** SYNC_PAGE_SIZE of the edge (rows per Dataverse page). */
  pageSize?: number;
  verbose?: boolean;
  /** More `host:port` allowed as http org hosts (misbehaving test servers: redirects, huge bodies, canaries). */
  extraDevHosts?: string[];
}

export interface ReliabilityStack {
  sandbox: SandboxInfo;
  edgeUrl: string;
  persistTo: string;
  secrets: { HOST_JWT_SECRET: string; ENCRYPTION_KEY: string };
  /** Everything wrangler dev printed so far (the edge's logs). */
  output(): string;
  /** SIGKILL the edge's whole process group (a crash, not a graceful stop). */
  killEdge(): Promise<void>;
  /** Start the edge again on the same persisted state and port; resolves when /api/v1/health answers. */
  startEdge(): Promise<number>;
  edgeRunning(): boolean;
  /** Sockets held by the edge's workerd processes right now (Linux /proc), or null when unknown. */
  edgeSockets(): number | null;
  stop(): Promise<void>;
}

const edgeEnv = (): NodeJS.ProcessEnv => ({ ...wranglerEnv(), CI: "true" });

export async function startReliabilityStack(opts: ReliabilityStackOptions): Promise<ReliabilityStack> {
  const persistTo = mkdtempSync(join(tmpdir(), "dc-reliability-"));
  const sandbox = await startSandbox({ rows: opts.rows, quiet: true });
  const app = sandbox.apps[0]!;
  const secrets = { HOST_JWT_SECRET: randomBytes(32).toString("base64url"), ENCRYPTION_KEY: randomBytes(32).toString("base64") };
  const orgHosts = [...sandbox.orgs.map((o) => new URL(o.url).host), ...(opts.extraDevHosts ?? [])].join(",");
  const envFile = join(persistTo, "edge.env");
  writeEdgeEnvFile(envFile, { ...secrets, DYNAMICS_CLIENT_ID: app.clientId, DYNAMICS_CLIENT_SECRET: app.clientSecret });
  const state = join(persistTo, "state");
  const mig = spawnSync(process.execPath, [WRANGLER, "d1", "migrations", "apply", "DATA", "--local", "--persist-to", state], {
    cwd: REPO_ROOT,
    env: edgeEnv(),
    encoding: "utf8",
  });
  if (mig.status !== 0) {
    await sandbox.stop();
    throw new Error(`D1 migrations failed:\n${mig.stdout}\n${mig.stderr}`);
  }
  const edgePort = await freePort();
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  let child: ChildProcess | null = null;
  let output = "";

  const startEdge = async (): Promise<number> => {
    const t0 = Date.now();
    const inspectorPort = await freePort();
    const args = [
      WRANGLER,
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(edgePort),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      state,
      "--env-file",
      envFile,
      "--show-interactive-dev-session=false",
      "--log-level",
      "log",
      "--var",
      `AUTHORITY_HOST:${sandbox.identity.httpUrl}`,
      "--var",
      `DEV_INSECURE_ORG_HOSTS:${orgHosts}`,
      "--var",
      "ALLOWED_ORIGINS:http://127.0.0.1:9",
      "--var",
      "HOST_JWKS_URL:",
      "--var",
      `HOST_JWT_AUDIENCE:${HOST_JWT_AUDIENCE}`,
      "--var",
      `HOST_JWT_ISSUER:${HOST_JWT_ISSUER}`,
      ...(opts.pageSize ? ["--var", `SYNC_PAGE_SIZE:${opts.pageSize}`] : []),
    ];
    const c = spawn(process.execPath, args, { cwd: REPO_ROOT, env: edgeEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true });
    child = c;
    let exited = false;
    c.once("exit", () => (exited = true));
    const onData = (d: Buffer) => {
      const s = d.toString();
      output = (output + s).slice(-2_000_000);
      if (opts.verbose) process.stdout.write(s.replace(/^/gm, "[edge] "));
    };
    c.stdout?.on("data", onData);
    c.stderr?.on("data", onData);
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (exited) throw new Error(`wrangler dev exited early:\n${output.slice(-4000)}`);
      try {
        const r = await fetch(`${edgeUrl}/api/v1/health`);
        if (r.ok) return Date.now() - t0;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) throw new Error(`edge not up within 90 s:\n${output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const killEdge = async (): Promise<void> => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.pid === undefined) return;
    const done = new Promise<void>((ok) => c.once("exit", () => ok()));
    try {
      process.kill(-c.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
    await Promise.race([done, new Promise((ok) => setTimeout(ok, 5000))]);
    // workerd may linger for a moment after wrangler: wait until the port no longer answers.
    for (let i = 0; i < 50; i++) {
      try {
        await fetch(`${edgeUrl}/api/v1/health`, { signal: AbortSignal.timeout(300) });
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  try {
    await startEdge();
  } catch (e) {
    await killEdge();
    await sandbox.stop();
    throw e;
  }

  return {
    sandbox,
    edgeUrl,
    persistTo,
    secrets,
    output: () => output,
    killEdge,
    startEdge,
    edgeRunning: () => child !== null && child.exitCode === null,
    edgeSockets() {
      const pid = child?.pid;
      if (pid === undefined || process.platform !== "linux") return null;
      const counts = workerdBelow(pid).map((p) => socketsOf(p.pid) ?? 0);
      return counts.length ? counts.reduce((a, b) => a + b, 0) : null;
    },
    async stop() {
      await killEdge();
      await sandbox.stop();
      rmSync(persistTo, { recursive: true, force: true });
    },
  };
}

/** The audience and issuer the reliability edge requires of host tokens (HOST_JWT_AUDIENCE / HOST_JWT_ISSUER). */
export const HOST_JWT_AUDIENCE = "dynamics-connector-reliability";
export const HOST_JWT_ISSUER = "https://host.reliability.example";

export async function hostToken(
  secret: string,
  tenant: string,
  role: "admin" | "viewer" = "admin",
  claims: { aud?: string | null; iss?: string | null; expiresIn?: string } = {},
): Promise<string> {
  let jwt = new SignJWT({ tenant, role, email: `rel@${tenant}.example` })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(`${role}-1`)
    .setIssuedAt()
    .setExpirationTime(claims.expiresIn ?? "1h");
  const aud = claims.aud === undefined ? HOST_JWT_AUDIENCE : claims.aud;
  const iss = claims.iss === undefined ? HOST_JWT_ISSUER : claims.iss;
  if (aud) jwt = jwt.setAudience(aud);
  if (iss) jwt = jwt.setIssuer(iss);
  return jwt.sign(new TextEncoder().encode(secret));
}

/** A tiny JSON client for the edge API that throws on non-2xx. */
export class Api {
  constructor(
    readonly base: string,
    readonly token: string,
  ) {}
  async req<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await fetch(`${this.base}/api/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path} → ${r.status}: ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : null) as T;
  }
}

/** Sandbox control API of an org. */
export async function control(orgUrl: string, method: string, path: string, body?: unknown): Promise<any> {
  const r = await fetch(`${orgUrl}/_sandbox/${path}`, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`sandbox ${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
