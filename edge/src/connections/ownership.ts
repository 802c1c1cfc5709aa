/**
 * An org belongs to one host tenant (docs/security.md): the first successful authorize claims the Dynamics
 * organization, another tenant's authorize of it is refused before anything is stored, and the owning tenant's last
 * connection to it releases the claim when deleted. Runs re-assert the claim, so connections authorized before claims
 * existed take theirs on their next run (first come) and a connection of a tenant that lost it never syncs.
 */
import type { Env } from "../env";
import type { Caller } from "../http/app-env";
import { ApiError } from "../http/errors";
import { audit } from "../stores/audit";
import { listConnections, type StoredConnection } from "../stores/connections";
import { claimOrganization, releaseOrganization } from "../stores/org-claims";

/** Names no tenant, connection or user: the refused admin learns only that the org is taken. */
export const ORG_CLAIMED_MESSAGE = "This Dynamics organization is already connected to another account. Its administrator must disconnect it there first.";

/** Claims the organization for the caller's tenant or throws 409 org_claimed. */
export async function claimForAuthorize(env: Env, caller: Caller, organizationId: string): Promise<void> {
  if (!(await claimOrganization(env, caller.tenant, organizationId, caller.sub))) throw new ApiError("org_claimed", ORG_CLAIMED_MESSAGE);
}

/** Releases the organization when no connection of the tenant but `except` points at it. True when released. */
async function releaseUnused(env: Env, tenant: string, organizationId: string, except: string): Promise<boolean> {
  const org = organizationId.toLowerCase();
  const others = (await listConnections(env, tenant)).some((c) => c.id !== except && c.organizationId?.toLowerCase() === org);
  return !others && (await releaseOrganization(env, tenant, org));
}

/** After a connection was deleted: releases the organization when no other connection of the tenant points at it. */
export async function releaseClaimIfLast(env: Env, caller: Caller, deleted: StoredConnection): Promise<void> {
  if (deleted.organizationId && (await releaseUnused(env, caller.tenant, deleted.organizationId, deleted.id))) {
    await audit(env, caller, "organization.release", { type: "connection", id: deleted.id }, { organizationId: deleted.organizationId.toLowerCase() }, null);
  }
}

/**
 * Runs the rest of an authorize that has just claimed the organization: if it fails before the connection records
 * the organization, a claim that nothing points at is released again instead of leaking.
 */
export async function withClaim<T>(env: Env, conn: StoredConnection, organizationId: string, rest: () => Promise<T>): Promise<T> {
  try {
    return await rest();
  } catch (e) {
    if (!conn.organizationId) await releaseUnused(env, conn.tenant, organizationId, conn.id).catch(() => false);
    throw e;
  }
}
