import type { Env } from "../env";

/** KV key layout: everything under `t/{tenant}/` so one tenant's keys can never be addressed from another's. */
export const kvKeys = {
  connection: (tenant: string, id: string) => `t/${tenant}/conn/${id}`,
  connectionPrefix: (tenant: string) => `t/${tenant}/conn/`,
  job: (tenant: string, id: string) => `t/${tenant}/job/${id}`,
  jobPrefix: (tenant: string) => `t/${tenant}/job/`,
  metadata: (tenant: string, connId: string, what: string) => `t/${tenant}/meta/${connId}/${what}`,
  metadataPrefix: (tenant: string, connId: string) => `t/${tenant}/meta/${connId}/`,
};

/** Ids the edge mints: random, URL-safe, and checked on input so a path parameter can never reshape a KV key. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export function newId(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replace(/-/g, "")}`;
}

/** Keys per KV bulk read: the most one `get([...])` accepts. */
const BULK_GET_MAX = 100;

/**
 * Every value under `prefix`. Read with KV's bulk get (100 keys a call, counted as one operation): a tenant with 1,000
 * jobs costs 1 list and 10 reads, not 1,001 — over the 1,000 operations a Worker invocation may make to KV and other
 * services (developers.cloudflare.com/kv/platform/limits), and a second of local reads on this machine.
 */
export async function listValues<T>(env: Env, prefix: string): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<unknown, string> = await env.CONFIG.list({ prefix, ...(cursor ? { cursor } : {}) });
    const names = page.keys.map((k) => k.name);
    const chunks = Array.from({ length: Math.ceil(names.length / BULK_GET_MAX) }, (_, i) => names.slice(i * BULK_GET_MAX, (i + 1) * BULK_GET_MAX));
    const maps = await Promise.all(chunks.map((keys) => env.CONFIG.get<T>(keys, "json")));
    for (const map of maps) for (const v of map.values()) if (v) out.push(v);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return out;
}
