/**
 * A minimal stack for the reliability suite: the offline sandbox (in this process) + the edge in a child process
 * (demo/edge-process.ts: wrangler's `unstable_startWorker`) on a throwaway persisted state folder. Unlike demo/stack.ts
 * it can kill and start ONLY the edge on the same persisted KV/D1/Durable Object state (the restart test), and it passes
 * `SYNC_PAGE_SIZE` so a 50,000-row run has enough pages for injected faults to matter. Same pieces as demo/stack.ts:
 * startSandbox, `wrangler d1 migrations apply --local`, startEdgeProcess.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { applyLocalMigrations, startEdgeProcess, type EdgeProcess } from "../../demo/edge-process";
import { freePort, writeEdgeEnvFile } from "../../demo/stack";
import { startSandbox, type SandboxInfo } from "../../demo/sandbox/index";
import { descendants, holdersOf, socketsOf, workerdBelow } from "../bench/lib/proc";

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
  /** Everything the edge printed so far (its logs), across restarts. */
  output(): string;
  /** SIGKILL the edge's whole process group (a crash, not a graceful stop). */
  killEdge(): Promise<void>;
  /** Start the edge again on the same persisted state and port; resolves when /api/v1/health answers. */
  startEdge(): Promise<number>;
  edgeRunning(): boolean;
  /** Sockets held by the edge's workerd processes right now (Linux /proc), or null when unknown. */
  edgeSockets(): number | null;
  /** Processes outside the running edge's group that hold a file of the persisted state open (a killed edge's survivor). */
  strayStateHolders(): string[];
  /** What the edge's processes are doing right now (for a failure message): state, wait channel, fds, sockets, state files. */
  diagnose(): string;
  stop(): Promise<void>;
}

export async function startReliabilityStack(opts: ReliabilityStackOptions): Promise<ReliabilityStack> {
  const persistTo = mkdtempSync(join(tmpdir(), "dc-reliability-"));
  const sandbox = await startSandbox({ rows: opts.rows, quiet: true });
  const app = sandbox.apps[0]!;
  const secrets = { HOST_JWT_SECRET: randomBytes(32).toString("base64url"), ENCRYPTION_KEY: randomBytes(32).toString("base64") };
  const orgHosts = [...sandbox.orgs.map((o) => new URL(o.url).host), ...(opts.extraDevHosts ?? [])].join(",");
  const envFile = join(persistTo, "edge.env");
  writeEdgeEnvFile(envFile, { ...secrets, DYNAMICS_CLIENT_ID: app.clientId, DYNAMICS_CLIENT_SECRET: app.clientSecret });
  const state = join(persistTo, "state");
  try {
    applyLocalMigrations(state);
  } catch (e) {
    await sandbox.stop();
    throw e;
  }
  const edgePort = await freePort();
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  let edge: EdgeProcess | null = null;
  let earlierOutput = "";

  const startEdge = async (): Promise<number> => {
    if (edge) earlierOutput = (earlierOutput + edge.output()).slice(-2_000_000);
    edge = await startEdgeProcess({
      port: edgePort,
      persistTo: state,
      envFile,
      logLevel: "log",
      echo: opts.verbose ? "[edge] " : undefined,
      vars: {
        AUTHORITY_HOST: sandbox.identity.httpUrl,
        DEV_INSECURE_ORG_HOSTS: orgHosts,
        ALLOWED_ORIGINS: "http://127.0.0.1:9",
        HOST_JWKS_URL: "",
        HOST_JWT_AUDIENCE,
        HOST_JWT_ISSUER,
        ...(opts.pageSize ? { SYNC_PAGE_SIZE: String(opts.pageSize) } : {}),
      },
    });
    return edge.startMs;
  };

  const killEdge = async (): Promise<void> => {
    await edge?.kill();
  };

  try {
    await startEdge();
  } catch (e) {
    await killEdge();
    await sandbox.stop();
    throw e;
  }

  const self: ReliabilityStack = {
    sandbox,
    edgeUrl,
    persistTo,
    secrets,
    output: () => earlierOutput + (edge?.output() ?? ""),
    killEdge,
    startEdge,
    edgeRunning: () => edge?.running() ?? false,
    edgeSockets() {
      const pid = edge?.running() ? edge.pid : undefined;
      if (pid === undefined || process.platform !== "linux") return null;
      const counts = workerdBelow(pid).map((p) => socketsOf(p.pid) ?? 0);
      return counts.length ? counts.reduce((a, b) => a + b, 0) : null;
    },
    strayStateHolders() {
      if (process.platform !== "linux") return [];
      const ours = new Set(edge?.running() ? [edge.pid, ...descendants(edge.pid).map((p) => p.pid)] : []);
      return holdersOf(state)
        .filter((p) => !ours.has(p.pid))
        .map((p) => `pid ${p.pid} (${p.comm}): ${p.files.join(", ")}`);
    },
    diagnose() {
      if (process.platform !== "linux" || !edge) return "(no diagnosis off Linux)";
      const lines = [`edge launcher pid ${edge.pid}, running: ${edge.running()}`];
      for (const p of [{ pid: edge.pid, comm: "launcher" }, ...descendants(edge.pid)]) {
        const status = procStatus(p.pid);
        const files = holdersOf(state).find((h) => h.pid === p.pid)?.files ?? [];
        lines.push(`  pid ${p.pid} ${p.comm}: ${status}, sockets ${socketsOf(p.pid) ?? "?"}, state files open: ${files.join(", ") || "none"}`);
      }
      const stray = self.strayStateHolders();
      lines.push(`state held by other processes: ${stray.join("; ") || "none"}`);
      lines.push(`last output:\n${self.output().slice(-3000)}`);
      return lines.join("\n");
    },
    async stop() {
      await killEdge();
      await sandbox.stop();
      rmSync(persistTo, { recursive: true, force: true });
    },
  };
  return self;
}

/** `state S (sleeping), wchan ep_poll, 43 fds` of a process, or "gone". */
function procStatus(pid: number): string {
  try {
    const st = /^State:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "?";
    const wchan = readFileSync(`/proc/${pid}/wchan`, "utf8").trim() || "-";
    return `state ${st}, wchan ${wchan}, ${readdirSync(`/proc/${pid}/fd`).length} fds`;
  } catch {
    return "gone";
  }
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
