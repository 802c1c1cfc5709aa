/**
 * Which host tenant owns which Dynamics organization (D1 `org_claims`). A claim is taken with one INSERT that a
 * concurrent claim cannot interleave with; the answer is whoever holds the row afterwards.
 */
import type { Env } from "../env";

/** Claims `organizationId` for `tenant` unless another tenant holds it. True when `tenant` owns it now. */
export async function claimOrganization(env: Env, tenant: string, organizationId: string, by: string): Promise<boolean> {
  const org = organizationId.toLowerCase();
  const row = await env.DATA.prepare(
    "INSERT INTO org_claims (organization_id, tenant, claimed_at, claimed_by) VALUES (?, ?, ?, ?) " +
      "ON CONFLICT (organization_id) DO UPDATE SET organization_id = excluded.organization_id RETURNING tenant",
  )
    .bind(org, tenant, new Date().toISOString(), by)
    .first<{ tenant: string }>();
  return row?.tenant === tenant;
}

/** Releases the claim if `tenant` holds it. True when a claim was released. */
export async function releaseOrganization(env: Env, tenant: string, organizationId: string): Promise<boolean> {
  const r = await env.DATA.prepare("DELETE FROM org_claims WHERE organization_id = ? AND tenant = ?").bind(organizationId.toLowerCase(), tenant).run();
  return (r.meta.changes ?? 0) > 0;
}
