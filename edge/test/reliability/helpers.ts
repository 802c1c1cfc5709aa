/**
 * Reliability-suite helpers. Requests go straight to the Worker's `fetch` (the whole Hono app, every middleware)
 * instead of `SELF.fetch`: under @cloudflare/vitest-pool-workers 0.14, `SELF.fetch` gets slower with every call made
 * in a file (measured here: /api/v1/health 5 ms → ~400 ms per request after ~300 calls), which the property-based
 * suites (hundreds of requests per file) can't afford. Direct calls stay flat (~0.1 ms for /health).
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index";
import { apiRequest, type CallOptions } from "../helpers";

export async function call(method: string, path: string, o: CallOptions = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(apiRequest(method, path, o), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** The created connection (201) or an error. */
export async function createConnection(token: string, orgUrl = "https://contoso.crm.dynamics.com", name = "Contoso"): Promise<any> {
  const res = await call("POST", "/api/v1/connections", { token, body: { name, orgUrl } });
  if (res.status !== 201) throw new Error(`create connection: ${res.status} ${await res.text()}`);
  return res.json();
}
