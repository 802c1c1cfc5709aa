import type { D1Migration } from "cloudflare:test";
import type { Env as EdgeEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends EdgeEnv {
      TEST_MIGRATIONS: D1Migration[];
      /** JSON of SandboxInfo (global-setup.ts), or "" when the sandbox is not available. */
      SANDBOX: string;
      /** JSON of HostJwksInfo (global-setup.ts): the JWKS URL and the keys to sign RS256 host tokens with. */
      HOST_JWKS: string;
    }
  }
}
