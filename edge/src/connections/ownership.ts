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
export const ORG_CLAIMED_MESSAGE =
  "This Dynamics organization is already connected to another account. Its administrator must disconnect it there first.";

/** Claims the organization for the caller's tenant or throws 409 org_claimed. */
export async function claimForAuthorize(env: Env, caller: Caller, organizationId: string): Promise<void> {
  if (!(await claimOrganization(env, caller.tenant, organizationId, caller.sub))) throw new ApiError("org_claimed", ORG_CLAIMED_MESSAGE);
}

/** After a connection was deleted: releases the organization when no other connection of the tenant points at it. */
export async function releaseClaimIfLast(env: Env, caller: Caller, deleted: StoredConnection): Promise<void> {
  const org = deleted.organizationId?.toLowerCase();
  if (!org) return;
  const others = (await listConnections(env, caller.tenant)).some((c) => c.id !== deleted.id && c.organizationId?.toLowerCase() === org);
  if (others) return;
  if (await releaseOrganization(env, caller.tenant, org)) {
    await audit(env, caller, "organization.release", { type: "connection", id: deleted.id }, { organizationId: org }, null);
  }
}
