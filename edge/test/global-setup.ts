/**
 * Runs in Node before the workerd test pool: starts the offline sandbox (demo/sandbox) and hands its public
 * facts to the tests via `provide` (they arrive as the SANDBOX binding and as AUTHORITY_HOST / DEV_INSECURE_ORG_HOSTS).
 * When the sandbox is not present (it is built in parallel) the Dynamics-dependent tests skip themselves.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

export interface SandboxInfo {
  identity: { httpsUrl: string; httpUrl: string };
  orgs: Array<{ key: string; url: string; tenantId: string; organizationId: string; name: string }>;
  users: Array<{ upn: string; tenantId: string }>;
  apps: Array<{ clientId: string; clientSecret: string }>;
  spaClientId: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    sandbox: SandboxInfo | null;
  }
}

export default async function setup(project: TestProject) {
  const entry = fileURLToPath(new URL("../../demo/sandbox/index.ts", import.meta.url));
  if (!existsSync(entry)) {
    console.warn("[edge tests] demo/sandbox/index.ts not found: Dynamics-dependent tests are skipped");
    project.provide("sandbox", null);
    return;
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
  };
}
