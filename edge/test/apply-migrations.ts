import { applyD1Migrations, env } from "cloudflare:test";

// Idempotent: records applied migrations in d1_migrations.
await applyD1Migrations(env.DATA, env.TEST_MIGRATIONS);
