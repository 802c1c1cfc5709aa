import { applyD1Migrations, env } from "cloudflare:test";
import { beforeEach } from "vitest";
import { allShardDbs } from "../src/stores/shards";

// Every D1 shard (DATA, DATA_2: wrangler.toml) gets every migration. Idempotent: records applied ones in d1_migrations.
for (const { db } of allShardDbs(env)) await applyD1Migrations(db, env.TEST_MIGRATIONS);

// Each test is its own deployment as far as org ownership goes: tests give every host tenant the same sandbox orgs,
// and a claim left by an earlier test of the file would refuse the next tenant's authorize (org_claimed).
beforeEach(async () => {
  await env.DATA.exec("DELETE FROM org_claims");
});
