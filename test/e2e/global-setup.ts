import type { FullConfig } from "@playwright/test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack } from "../../demo/stack";

/**
 * Sandbox orgs that get one copy per parallel slot (`contoso-1`, `contoso-2`, …): tests running at the same time never
 * share an org, so one test's host tenant never finds the org claimed by another's (fixtures.ts, env().org()).
 */
const SLOTTED_ORGS = ["contoso", "fabrikam"];

/** Starts the same stack as `npm run demo`, on ephemeral ports with throwaway edge state; returns its teardown. */
export default async function globalSetup(config: FullConfig): Promise<() => Promise<void>> {
  if (!existsSync(process.env.CHROMIUM_PATH ?? "/usr/bin/chromium")) {
    throw new Error("Chromium is missing: apt-get install -y chromium (or set CHROMIUM_PATH).");
  }
  // One org per parallel slot (parallelIndex is in [0, workers - 1]); at least 4, a margin over the configured workers.
  const slotCount = Math.max(4, config.workers);
  const slots: Record<string, string[]> = Object.fromEntries(
    SLOTTED_ORGS.map((from) => [from, Array.from({ length: slotCount }, (_, i) => `${from}-${i + 1}`)]),
  );
  const state = mkdtempSync(join(tmpdir(), "dc-e2e-"));
  const stack = await startStack({
    persistTo: join(state, "state"),
    build: "if-missing",
    allowTenantOverride: true,
    rows: Number(process.env.E2E_ROWS ?? 1000),
    orgCopies: Object.entries(slots).flatMap(([from, keys]) => keys.map((key) => ({ key, from }))),
    log: () => {},
    verbose: !!process.env.E2E_VERBOSE,
  });
  process.env.E2E_HOST_URL = stack.hostUrl;
  process.env.E2E_EDGE_URL = stack.edgeUrl;
  process.env.E2E_SANDBOX = JSON.stringify({ identity: stack.sandbox.identity, orgs: stack.sandbox.orgs, users: stack.sandbox.users, slots });
  process.env.E2E_HOST_JWT_SECRET = stack.hostJwtSecret;
  process.env.E2E_MAIL_URL = stack.mail.webUrl; // the SMTP catcher's web inbox (run e-mails)
  return async () => {
    await stack.stop();
    rmSync(state, { recursive: true, force: true });
  };
}
