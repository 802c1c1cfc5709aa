/** Bindings and variables of the edge Worker (see wrangler.toml; secrets come from `wrangler secret put` / .dev.vars). */
export interface Env {
  CONFIG: KVNamespace;
  DATA: D1Database;
  JOB_RUNNER: DurableObjectNamespace;
  AUTHORITY_HOST: string;
  DEV_INSECURE_ORG_HOSTS: string;
  HOST_JWKS_URL: string;
  ALLOWED_ORIGINS: string;
  HOST_JWT_SECRET: string;
  DYNAMICS_CLIENT_ID: string;
  DYNAMICS_CLIENT_SECRET: string;
  /** base64 of 32 random bytes; AES-GCM key for anything credential-like at rest. */
  ENCRYPTION_KEY: string;
}
