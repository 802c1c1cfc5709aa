/**
 * The Worker's bindings, variables and secrets, as `wrangler types` generates them from wrangler.toml into
 * edge/worker-configuration.d.ts (`npm run types` after changing wrangler.toml; `npm run typecheck` fails while the
 * file is stale). Secrets are declared under [secrets] there; test-only bindings are added in edge/test/env.d.ts.
 */
export type Env = Cloudflare.Env;
