import { applyD1Migrations, env } from "cloudflare:test";
import { beforeEach } from "vitest";

// Idempotent: records applied migrations in d1_migrations.
await applyD1Migrations(env.DATA, env.TEST_MIGRATIONS);

// Each test is its own deployment as far as org ownership goes: tests give every host tenant the same sandbox orgs,
// and a claim left by an earlier test of the file would refuse the next tenant's authorize (org_claimed).
beforeEach(async () => {
  await env.DATA.exec("DELETE FROM org_claims");
});
