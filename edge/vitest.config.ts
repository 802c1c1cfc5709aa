/**
 * Edge tests run inside workerd (@cloudflare/vitest-pool-workers 0.14). The offline sandbox (Dataverse + identity
 * simulator) is started in Node by the global setup; its URLs reach the Worker as bindings, exactly like a real
 * deployment's configuration (AUTHORITY_HOST, DEV_INSECURE_ORG_HOSTS) — the edge code has no test switches.
 */
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export const TEST_HOST_JWT_SECRET = "test-host-jwt-secret-0123456789abcdef";
// base64 of 32 bytes (test only)
export const TEST_OPERATOR_TOKEN = "test-operator-token-0123456789abcdef";
export const TEST_ENCRYPTION_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

export default defineConfig(async () => {
  const migrations = await readD1Migrations(here("./migrations"));
  return {
    root: here(".."),
    plugins: [
      cloudflareTest(async ({ inject }) => {
        const sandbox = inject("sandbox") ?? null;
        const hostJwks = inject("hostJwks");
        const webhookReceiver = inject("webhookReceiver");
        const mailCatcher = inject("mailCatcher");
        return {
          wrangler: { configPath: here("../wrangler.toml") },
          miniflare: {
            bindings: {
              TEST_MIGRATIONS: migrations,
              SANDBOX: sandbox ? JSON.stringify(sandbox) : "",
              HOST_JWT_SECRET: TEST_HOST_JWT_SECRET,
              ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
              // RS256 host tokens are verified against the JWKS the global setup serves (HS256 keeps working).
              HOST_JWKS_URL: hostJwks.url,
              HOST_JWKS: JSON.stringify(hostJwks),
              ALLOWED_ORIGINS: "https://host.example",
              AUTHORITY_HOST: sandbox?.identity.httpUrl ?? "http://127.0.0.1:9",
              // The sandbox orgs, and the local webhook receiver (the global setup's), as a developer would list them.
              DEV_INSECURE_ORG_HOSTS: [...(sandbox ? sandbox.orgs.map((o: { url: string }) => new URL(o.url).host) : []), new URL(webhookReceiver).host].join(
                ",",
              ),
              WEBHOOK_RECEIVER: webhookReceiver,
              MAIL_CATCHER: JSON.stringify(mailCatcher),
              // New tenants are placed on the primary, so tests that read D1 directly find them in env.DATA; the shard
              // tests (edge/test/shards.test.ts) place tenants on DATA_2 with an env of their own.
              SHARDS_FOR_NEW_TENANTS: "DATA",
              // The operator API's bearer (routes/ops.ts); edge/test/shards.test.ts drives a tenant move through it.
              OPERATOR_TOKEN: TEST_OPERATOR_TOKEN,
              DYNAMICS_CLIENT_ID: sandbox?.apps[0]?.clientId ?? "test-client-id",
              DYNAMICS_CLIENT_SECRET: sandbox?.apps[0]?.clientSecret ?? "test-client-secret",
            },
          },
        };
      }),
    ],
    test: {
      include: ["edge/test/**/*.test.ts"],
      globalSetup: [here("./test/global-setup.ts")],
      setupFiles: [here("./test/apply-migrations.ts")],
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  };
});
