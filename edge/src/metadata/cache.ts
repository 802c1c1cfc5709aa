/**
 * Metadata cached per connection in KV (`t/{tenant}/meta/{connectionId}/…`), refreshed on demand (`?refresh=1`, admins
 * only) or after a day. Job validation reads only the cache (`peek*`): it never needs a Dynamics token. A caller that
 * may not write the tenant's cache (a viewer) reads with `store: false`: a miss is fetched for them and not kept.
 */
import type { AttributeInfo, EntityInfo } from "#contract/metadata";
import type { Env } from "../env";
import { kvKeys } from "../stores/kv";
import { fetchAttributes, fetchEntities } from "./fetch";

const TTL_SECONDS = 24 * 3600;

interface Cached<T> {
  fetchedAt: string;
  value: T;
}

/** `store: false` reads through without writing: nothing a read-only caller fetched replaces the tenant's entry. */
interface CacheOptions {
  store?: boolean;
}

async function cached<T>(
  env: Env,
  key: string,
  refresh: boolean,
  load: () => Promise<T>,
  opts: CacheOptions = {},
): Promise<{ value: T; fetchedAt: string; fromCache: boolean }> {
  if (!refresh) {
    const hit = await env.CONFIG.get<Cached<T>>(key, "json");
    if (hit) return { value: hit.value, fetchedAt: hit.fetchedAt, fromCache: true };
  }
  const value = await load();
  const entry: Cached<T> = { fetchedAt: new Date().toISOString(), value };
  if (opts.store !== false) await env.CONFIG.put(key, JSON.stringify(entry), { expirationTtl: TTL_SECONDS });
  return { value, fetchedAt: entry.fetchedAt, fromCache: false };
}

/** `token` is called only on a cache miss or refresh (a cached answer needs no Dynamics token). */
export function getEntities(env: Env, tenant: string, conn: { id: string; orgUrl: string }, token: () => string, refresh: boolean, opts: CacheOptions = {}) {
  return cached(env, kvKeys.metadata(tenant, conn.id, "entities"), refresh, () => fetchEntities(conn.orgUrl, token()), opts);
}

export function getAttributes(
  env: Env,
  tenant: string,
  conn: { id: string; orgUrl: string },
  token: () => string,
  entity: string,
  refresh: boolean,
  opts: CacheOptions = {},
) {
  return cached(env, kvKeys.metadata(tenant, conn.id, `attrs/${entity}`), refresh, () => fetchAttributes(conn.orgUrl, token(), entity), opts);
}

export async function peekEntities(env: Env, tenant: string, connId: string): Promise<EntityInfo[] | null> {
  return (await env.CONFIG.get<Cached<EntityInfo[]>>(kvKeys.metadata(tenant, connId, "entities"), "json"))?.value ?? null;
}

export async function peekAttributes(env: Env, tenant: string, connId: string, entity: string): Promise<AttributeInfo[] | null> {
  return (await env.CONFIG.get<Cached<AttributeInfo[]>>(kvKeys.metadata(tenant, connId, `attrs/${entity}`), "json"))?.value ?? null;
}

/** Stores attributes fetched elsewhere (authorize) so job validation has them. */
export async function storeAttributes(env: Env, tenant: string, connId: string, entity: string, value: AttributeInfo[]): Promise<void> {
  await env.CONFIG.put(kvKeys.metadata(tenant, connId, `attrs/${entity}`), JSON.stringify({ fetchedAt: new Date().toISOString(), value }), {
    expirationTtl: TTL_SECONDS,
  });
}
export async function storeEntities(env: Env, tenant: string, connId: string, value: EntityInfo[]): Promise<void> {
  await env.CONFIG.put(kvKeys.metadata(tenant, connId, "entities"), JSON.stringify({ fetchedAt: new Date().toISOString(), value }), {
    expirationTtl: TTL_SECONDS,
  });
}
