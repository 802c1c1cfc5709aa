import type { Connection, Readiness } from "#contract/connection";
import type { Env } from "../env";
import { ID_PATTERN, kvKeys, listValues } from "./kv";

/** What KV holds for a connection: the wire shape plus bookkeeping the API never returns. */
export interface StoredConnection extends Connection {
  tenant: string;
  /** Set once the out-of-the-box jobs were created (first successful authorization); re-authorize never repeats it. */
  builtInJobsCreatedAt?: string;
  /** Why the connection needs attention (set by the sync engine via markNeedsAttention). */
  attentionReason?: string;
}

export function toWire(c: StoredConnection): Connection {
  const { tenant: _t, builtInJobsCreatedAt: _b, attentionReason, ...rest } = c;
  return { ...rest, ...(attentionReason ? { attentionReason } : {}) } as Connection;
}

/** The connection as the audit log records it: configuration only (the readiness report is a result, not configuration). */
export function connectionForAudit({ readiness: _r, ...c }: StoredConnection): Omit<StoredConnection, "readiness"> {
  return c;
}

/** The stored connection incl. orgUrl, tenantId (Entra), organizationId and status — or null (also for malformed ids). */
export async function getConnection(env: Env, tenant: string, id: string): Promise<StoredConnection | null> {
  if (!ID_PATTERN.test(id)) return null;
  const c = await env.CONFIG.get<StoredConnection>(kvKeys.connection(tenant, id), "json");
  return c && c.tenant === tenant ? c : null;
}

export async function listConnections(env: Env, tenant: string): Promise<StoredConnection[]> {
  const all = await listValues<StoredConnection>(env, kvKeys.connectionPrefix(tenant));
  return all.filter((c) => c.tenant === tenant).sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

export async function putConnection(env: Env, c: StoredConnection): Promise<void> {
  await env.CONFIG.put(kvKeys.connection(c.tenant, c.id), JSON.stringify(c));
}

export async function deleteConnection(env: Env, tenant: string, id: string): Promise<void> {
  await env.CONFIG.delete(kvKeys.connection(tenant, id));
  const meta = await env.CONFIG.list({ prefix: kvKeys.metadataPrefix(tenant, id) });
  await Promise.all(meta.keys.map((k) => env.CONFIG.delete(k.name)));
}

/**
 * Called by the sync engine when background sync can't proceed (app user removed, privilege revoked, secret expired):
 * the connection turns `needs_attention` and the reason is shown to the admin until the next successful authorize.
 */
export async function markNeedsAttention(env: Env, tenant: string, id: string, reason: string): Promise<void> {
  const c = await getConnection(env, tenant, id);
  if (!c) return;
  const now = new Date().toISOString();
  const readiness: Readiness = {
    checkedAt: now,
    ready: false,
    checks: [
      ...(c.readiness?.checks.filter((x) => x.id !== "background_sync") ?? []),
      { id: "background_sync", ok: false, severity: "error", required: true, label: "Background sync failed", fix: reason.slice(0, 500) },
    ],
  };
  await putConnection(env, { ...c, status: "needs_attention", attentionReason: reason.slice(0, 500), readiness, updatedAt: now });
}
