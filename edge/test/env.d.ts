import type { D1Migration } from "cloudflare:test";
import type { Env as EdgeEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends EdgeEnv {
      TEST_MIGRATIONS: D1Migration[];
      /** JSON of SandboxInfo (global-setup.ts), or "" when the sandbox is not available. */
      SANDBOX: string;
    }
  }
}
