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

export async function listValues<T>(env: Env, prefix: string): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<unknown, string> = await env.CONFIG.list({ prefix, ...(cursor ? { cursor } : {}) });
    const values = await Promise.all(page.keys.map((k) => env.CONFIG.get<T>(k.name, "json")));
    for (const v of values) if (v) out.push(v);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return out;
}
