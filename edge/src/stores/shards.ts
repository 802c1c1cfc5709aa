/**
 * D1 shards (docs/scaling.md "D1 shards", docs/decisions/0013-d1-shards-and-tenant-directory.md). Every D1 binding
 * named DATA or DATA_<n> is a shard; DATA is also the primary, holding what is global: the tenant directory
 * (tenant_shards), org claims, the schedule index, the notification outbox and idempotency keys. A host tenant's own
 * data — target objects and their tables, runs, run pages and errors, audit entries, sync state, lookup watermarks,
 * job schemas, reconciliation marks — lives in the one shard the directory names; stores reach it through dbFor.
 *
 * The directory is a D1 table in the primary, not KV: D1 has one writer and reads that see every committed write, so a
 * move's flip is seen by the very next read everywhere (KV may serve a stale shard for up to a minute per location,
 * and a write there would land in the old shard after its rows were deleted).
 */
import { ApiError } from "../http/errors";
import type { Env } from "../env";

/** The primary D1 binding: the directory and every global table. */
export const PRIMARY_SHARD = "DATA";

const SHARD_NAME = /^DATA(_[1-9]\d*)?$/;

/** The shard bindings of this deployment (DATA first, then DATA_2, DATA_3, …), found on the Worker's env. */
export function shardNames(env: Env): string[] {
  const names = Object.keys(env).filter((k) => SHARD_NAME.test(k) && isD1((env as unknown as Record<string, unknown>)[k]));
  return names.sort((a, b) => shardNumber(a) - shardNumber(b));
}

function shardNumber(name: string): number {
  return name === PRIMARY_SHARD ? 1 : Number(name.slice(PRIMARY_SHARD.length + 1));
}

function isD1(v: unknown): v is D1Database {
  return typeof v === "object" && v !== null && typeof (v as D1Database).prepare === "function" && typeof (v as D1Database).batch === "function";
}

/** The D1 database of a shard binding; throws when this deployment has no such shard. */
export function shardDb(env: Env, shard: string): D1Database {
  if (!shardNames(env).includes(shard)) throw new UnknownShardError(shard);
  return (env as unknown as Record<string, D1Database>)[shard]!;
}

export class UnknownShardError extends Error {
  constructor(readonly shard: string) {
    super(`No D1 shard binding named ${shard} (bindings: DATA, DATA_2, … in wrangler.toml)`);
  }
}

/** Every shard's database, for what scans across tenants (the cron's stale runs, reconciliations, retention). */
export function allShardDbs(env: Env): Array<{ shard: string; db: D1Database }> {
  return shardNames(env).map((shard) => ({ shard, db: shardDb(env, shard) }));
}

export interface TenantPlacement {
  tenant: string;
  shard: string;
  state: "active" | "moving";
  placedAt: string;
  movedAt: string | null;
}

interface PlacementRow {
  tenant: string;
  shard: string;
  state: "active" | "moving";
  placed_at: string;
  moved_at: string | null;
}

const placementOf = (r: PlacementRow): TenantPlacement => ({ tenant: r.tenant, shard: r.shard, state: r.state, placedAt: r.placed_at, movedAt: r.moved_at });

export async function getPlacement(env: Env, tenant: string): Promise<TenantPlacement | null> {
  const row = await env.DATA.prepare("SELECT tenant, shard, state, placed_at, moved_at FROM tenant_shards WHERE tenant = ?").bind(tenant).first<PlacementRow>();
  return row ? placementOf(row) : null;
}

/** The shards a new tenant may be placed on: SHARDS_FOR_NEW_TENANTS (checked against the bindings), else every shard. */
export function shardsForNewTenants(env: Env): string[] {
  const all = shardNames(env);
  const listed = (env.SHARDS_FOR_NEW_TENANTS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (!listed.length) return all;
  const unknown = listed.filter((s) => !all.includes(s));
  if (unknown.length) throw new ApiError("misconfigured", `SHARDS_FOR_NEW_TENANTS names ${unknown.join(", ")}, which is not a D1 binding of this deployment`);
  return listed;
}

/**
 * Places a tenant seen for the first time on the least loaded open shard (fewest tenants; ties: the lower binding), and
 * returns where it lives. Sticky: the INSERT loses to any row already there, so concurrent first requests agree.
 */
async function place(env: Env, tenant: string): Promise<TenantPlacement> {
  const open = shardsForNewTenants(env);
  const { results } = await env.DATA.prepare("SELECT shard, COUNT(*) AS n FROM tenant_shards WHERE shard IN (SELECT value FROM json_each(?)) GROUP BY shard")
    .bind(JSON.stringify(open))
    .all<{ shard: string; n: number }>();
  const load = new Map(results.map((r) => [r.shard, r.n]));
  const target = [...open].sort((a, b) => (load.get(a) ?? 0) - (load.get(b) ?? 0) || shardNumber(a) - shardNumber(b))[0]!;
  await env.DATA.prepare("INSERT INTO tenant_shards (tenant, shard, placed_at) VALUES (?, ?, ?) ON CONFLICT (tenant) DO NOTHING")
    .bind(tenant, target, new Date().toISOString())
    .run();
  return (await getPlacement(env, tenant))!;
}

/** A tenant being moved between shards: everything of it waits (503 tenant_moving, Retry-After) until the flip. */
export class TenantMovingError extends ApiError {
  constructor(tenant: string) {
    super("tenant_moving", `This account's data is being moved by the operator (tenant ${tenant}); try again in a minute`, undefined, {
      "Retry-After": "60",
    });
  }
}

const SCOPE = Symbol("tenant shard");
type Scoped = Env & { [SCOPE]?: { tenant: string; db: D1Database } };

/**
 * The D1 database holding `tenant`'s data: the directory read from the primary (the tenant is placed on first sight),
 * or nothing at all when `env` was scoped to this tenant by withTenantShard (one directory read per request or runner
 * slice). Refuses while the tenant is being moved.
 */
export async function dbFor(env: Env, tenant: string): Promise<D1Database> {
  const scope = (env as Scoped)[SCOPE];
  if (scope?.tenant === tenant) return scope.db;
  const p = (await getPlacement(env, tenant)) ?? (await place(env, tenant));
  if (p.state === "moving") throw new TenantMovingError(tenant);
  return shardDb(env, p.shard);
}

/** `env` with `tenant`'s shard resolved once, for a request or a runner slice that makes many store calls for one tenant. */
export async function withTenantShard(env: Env, tenant: string): Promise<Env> {
  if ((env as Scoped)[SCOPE]?.tenant === tenant) return env;
  const db = await dbFor(env, tenant);
  return { ...env, [SCOPE]: { tenant, db } } as Scoped;
}

/** Directory writes of the operator's move (ops/move-tenant.ts): mark moving (only from active), then flip. */
export async function markMoving(env: Env, tenant: string, from: string): Promise<boolean> {
  const r = await env.DATA.prepare("UPDATE tenant_shards SET state = 'moving' WHERE tenant = ? AND shard = ? AND state = 'active'").bind(tenant, from).run();
  return r.meta.changes === 1;
}

export async function flipPlacement(env: Env, tenant: string, to: string, state: "active" | "moving" = "active"): Promise<void> {
  await env.DATA.prepare("UPDATE tenant_shards SET shard = ?, state = ?, moved_at = ? WHERE tenant = ?")
    .bind(to, state, new Date().toISOString(), tenant)
    .run();
}

export async function markActive(env: Env, tenant: string): Promise<void> {
  await env.DATA.prepare("UPDATE tenant_shards SET state = 'active' WHERE tenant = ?").bind(tenant).run();
}

/** Tenants per shard (the placement policy's load, and the operator's view). */
export async function shardLoads(env: Env): Promise<Record<string, number>> {
  const { results } = await env.DATA.prepare("SELECT shard, COUNT(*) AS n FROM tenant_shards GROUP BY shard").all<{ shard: string; n: number }>();
  const out: Record<string, number> = Object.fromEntries(shardNames(env).map((s) => [s, 0]));
  for (const r of results) out[r.shard] = r.n;
  return out;
}
