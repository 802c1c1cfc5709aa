import type { D1Migration } from "cloudflare:test";

/** Bindings only the tests have (edge/vitest.config.ts), on top of the Worker's generated ones (edge/worker-configuration.d.ts). */
declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** JSON of SandboxInfo (global-setup.ts), or "" when the sandbox is not available. */
      SANDBOX: string;
      /** JSON of HostJwksInfo (global-setup.ts): the JWKS URL and the keys to sign RS256 host tokens with. */
      HOST_JWKS: string;
      /** Base URL of the global setup's webhook receiver (http on loopback; listed in DEV_INSECURE_ORG_HOSTS). */
      WEBHOOK_RECEIVER: string;
      /** JSON { smtpUrl, webUrl, password } of the global setup's SMTP catcher (maildev; GET `${webUrl}/api/email`). */
      MAIL_CATCHER: string;
      /** The operator API's bearer (edge/vitest.config.ts TEST_OPERATOR_TOKEN); an optional secret in production. */
      OPERATOR_TOKEN: string;
    }
  }
}
