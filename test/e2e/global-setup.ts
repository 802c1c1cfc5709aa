import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack } from "../../demo/stack";

/** Starts the same stack as `npm run demo`, on ephemeral ports with throwaway edge state; returns its teardown. */
export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(process.env.CHROMIUM_PATH ?? "/usr/bin/chromium")) {
    throw new Error("Chromium is missing: apt-get install -y chromium (or set CHROMIUM_PATH).");
  }
  const state = mkdtempSync(join(tmpdir(), "dc-e2e-"));
  const stack = await startStack({
    persistTo: join(state, "state"),
    build: "if-missing",
    allowTenantOverride: true,
    rows: Number(process.env.E2E_ROWS ?? 1000),
    log: () => {},
    verbose: !!process.env.E2E_VERBOSE,
  });
  process.env.E2E_HOST_URL = stack.hostUrl;
  process.env.E2E_EDGE_URL = stack.edgeUrl;
  process.env.E2E_SANDBOX = JSON.stringify({ identity: stack.sandbox.identity, orgs: stack.sandbox.orgs, users: stack.sandbox.users });
  process.env.E2E_HOST_JWT_SECRET = stack.hostJwtSecret;
  return async () => {
    await stack.stop();
    rmSync(state, { recursive: true, force: true });
  };
}
