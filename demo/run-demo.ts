/**
 * `npm run demo [-- --host-port 5173 --edge-port 8787 --sandbox-port 7000 --mail-port 1025 --mail-web-port 1080 --rows 1000 --rebuild --verbose]`
 * Starts the sandbox, a local SMTP catcher with a web inbox (maildev), the edge (local KV/D1 under .wrangler/) and the
 * demo host page; prints the URLs and the demo users; Ctrl-C stops everything. Ports also from DEMO_HOST_PORT /
 * DEMO_EDGE_PORT / DEMO_SANDBOX_PORT / DEMO_MAIL_PORT / DEMO_MAIL_WEB_PORT.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "./host/server";
import { startStack, StackError, type Stack } from "./stack";

const { values } = parseArgs({
  options: {
    "host-port": { type: "string", default: process.env.DEMO_HOST_PORT ?? "5173" },
    "edge-port": { type: "string", default: process.env.DEMO_EDGE_PORT ?? "8787" },
    "sandbox-port": { type: "string", default: process.env.DEMO_SANDBOX_PORT ?? "7000" },
    "mail-port": { type: "string", default: process.env.DEMO_MAIL_PORT ?? "1025" },
    "mail-web-port": { type: "string", default: process.env.DEMO_MAIL_WEB_PORT ?? "1080" },
    rows: { type: "string", default: process.env.DEMO_ROWS ?? "1000" },
    rebuild: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});

if (values.help) {
  console.log(
    "usage: npm run demo -- [--host-port 5173] [--edge-port 8787] [--sandbox-port 7000] [--mail-port 1025] [--mail-web-port 1080] [--rows 1000] [--rebuild] [--verbose]",
  );
  process.exit(0);
}

const port = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`demo: --${name} must be a port number (got ${v})`);
    process.exit(2);
  }
  return n;
};

const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).status === 0;
if (!has("chromium") && !existsSync("/usr/bin/chromium")) {
  console.warn("demo: note — chromium is not installed. The demo works in any browser you have; the browser tests need it: apt-get install -y chromium");
}
if (!has("openssl")) {
  console.warn(
    "demo: note — openssl is not installed. The sandbox makes its certificate without it; to inspect or trust it install openssl (apt-get install -y openssl).",
  );
}
if (!existsSync(join(REPO_ROOT, "node_modules"))) {
  console.error("demo: dependencies are missing. Run `npm ci` first.");
  process.exit(1);
}

let stack: Stack | null = null;
let stopping = false;
async function shutdown(sig: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`\ndemo: ${sig} — stopping the host page, the edge and the sandbox…`);
  await stack?.stop();
  console.log("demo: stopped.");
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

try {
  stack = await startStack({
    hostPort: port("host-port", values["host-port"]),
    edgePort: port("edge-port", values["edge-port"]),
    sandboxPort: port("sandbox-port", values["sandbox-port"]),
    mailPort: port("mail-port", values["mail-port"]),
    mailWebPort: port("mail-web-port", values["mail-web-port"]),
    rows: Number(values.rows) || 1000,
    persistTo: join(REPO_ROOT, ".wrangler", "state"),
    secretsFile: join(REPO_ROOT, ".wrangler", "demo-secrets.json"),
    build: values.rebuild ? "always" : "if-missing",
    verbose: values.verbose,
    log: (l) => console.log(`demo: ${l}`),
  });
} catch (e) {
  console.error(`\ndemo: ${e instanceof StackError ? e.message : ((e as Error)?.stack ?? e)}`);
  process.exit(1);
}
if (stopping) await new Promise(() => {});
const s = stack!;
const contoso = s.sandbox.orgs.find((o) => o.key === "contoso") ?? s.sandbox.orgs[0]!;
console.log(`
  Dynamics 365 connector demo is running.

  Open   ${s.hostUrl}/settings/integrations      (Acme Success › Settings › Integrations)

  First, once per browser: open ${s.sandbox.identity.httpsUrl}/ and accept its self-signed certificate
  (the sign-in popup talks to it). Then in the page:
    1. Create connection — Environment URL: ${contoso.url}   (${contoso.name})
    2. Authorize — pick a user in the popup:
${s.sandbox.users.map((u) => `         ${u.upn.padEnd(26)} ${u.description}`).join("\n")}
    3. The standard jobs appear; Run now, watch the run, open its records.

  Other orgs: ${s.sandbox.orgs.map((o) => `${o.key} ${o.url}`).join(", ")}
  Edge API   ${s.edgeUrl}/api/v1/health   (state in .wrangler/state)
  E-mail     ${s.mail.webUrl}   (local inbox: every run e-mail the jobs send arrives here; SMTP on 127.0.0.1:${s.mail.smtpPort})
  Ctrl-C stops everything.
`);
