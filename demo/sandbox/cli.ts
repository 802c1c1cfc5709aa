/**
 * npm run sandbox -- [--rows 100000] [--port 7000] [--seed 1] [--host 127.0.0.1] [--copy contoso-copy=contoso]… [--json]
 * identity https on port, http on port+1, orgs on port+2, port+3, copies on port+4… (--port 0: all ephemeral).
 * --copy KEY=FROM (repeatable) starts an org copied from FROM (same records and GUIDs, its own OrganizationId).
 * --page-latency-ms N, --latency-per-1000-rows-ms N, --concurrency-limit N: every org's latency and concurrency
 * settings (docs/sandbox.md, "Latency and concurrency"; default 0, 0, 52).
 */
import { parseArgs } from "node:util";
import { startSandbox } from "./index";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "1000" },
    port: { type: "string", default: "7000" },
    seed: { type: "string", default: "1" },
    host: { type: "string", default: "127.0.0.1" },
    "cert-dir": { type: "string" },
    copy: { type: "string", multiple: true, default: [] },
    json: { type: "boolean", default: false },
    "page-latency-ms": { type: "string" },
    "latency-per-1000-rows-ms": { type: "string" },
    "concurrency-limit": { type: "string" },
  },
  strict: true,
});

const port = Number(values.port);
const rows = Number(values.rows);
if (!Number.isInteger(port) || port < 0 || !Number.isInteger(rows) || rows < 0 || rows > 1_000_000) {
  console.error("usage: npm run sandbox -- --rows <0..1000000> --port <n|0> [--seed n] [--host h] [--copy KEY=FROM]… [--json]");
  process.exit(2);
}
const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
const p = (k: number): number => (port === 0 ? 0 : port + k);
const copies = (values.copy ?? []).map((c) => {
  const m = /^([a-z][a-z0-9-]*)=([a-z][a-z0-9-]*)$/.exec(c);
  if (!m) {
    console.error(`--copy needs KEY=FROM, e.g. --copy contoso-copy=contoso (got '${c}')`);
    process.exit(2);
  }
  return { key: m[1]!, from: m[2]! };
});

const sb = await startSandbox({
  rows,
  seed: Number(values.seed),
  host: values.host,
  identityHttpsPort: p(0),
  identityHttpPort: p(1),
  orgPorts: [p(2), p(3), ...copies.map((_, i) => p(4 + i))],
  copies,
  certDir: values["cert-dir"],
  quiet: values.json,
  pageLatencyMs: num(values["page-latency-ms"]),
  latencyPer1000RowsMs: num(values["latency-per-1000-rows-ms"]),
  concurrencyLimit: num(values["concurrency-limit"]),
}).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(2);
});

const { stop: _stop, caCertPem: _ca, ...summary } = sb;
const keyWidth = Math.max(9, ...sb.orgs.map((o) => o.key.length));
if (values.json) console.log(JSON.stringify(summary, null, 2));
else {
  console.log(`
Dataverse + Microsoft identity sandbox is running.

Identity platform   ${sb.identity.httpsUrl}   (browser / msal-browser; authority ${sb.identity.httpsUrl}/<tenantId>/v2.0)
                    ${sb.identity.httpUrl}    (same endpoints over http, for the Worker)
${sb.orgs.map((o) => `Org ${o.key.padEnd(keyWidth)}     ${o.url}   tenant ${o.tenantId}   Web API ${o.url}/api/data/v9.2/${o.copyOf ? `   (copy of ${o.copyOf}, OrganizationId ${o.organizationId})` : ""}`).join("\n")}

Users (pick one on the authorize page; no passwords):
${sb.users.map((u) => `  ${u.upn.padEnd(26)} ${u.description}`).join("\n")}
Confidential apps (client credentials, scope <orgUrl>/.default):
${sb.apps.map((a) => `  client_id ${a.clientId}  secret ${a.clientSecret}\n    ${a.description}`).join("\n")}
SPA client id (msal-browser): ${sb.spaClientId}
Control API: <orgUrl>/_sandbox/ (see docs/sandbox.md).  Ctrl+C stops.
`);
}

let stopping = false;
const shutdown = (sig: string): void => {
  if (stopping) return;
  stopping = true;
  if (!values.json) console.log(`\n[sandbox] ${sig}: stopping`);
  void sb.stop().then(() => process.exit(0));
};
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));
