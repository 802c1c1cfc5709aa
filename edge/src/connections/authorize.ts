/**
 * POST /connections/:id/authorize: prove the admin's delegated token against the org (WhoAmI), pin the org,
 * check the background credential (client credentials → WhoAmI as the application user), report readiness
 * precisely, and create the out-of-the-box jobs once.
 */
import { decodeJwt } from "jose";
import type { Readiness, ReadinessCheck } from "#contract/connection";
import type { EntityInfo } from "#contract/metadata";
import { dataverseRequest, getAppToken, isDataverseError, whoAmI, type DataverseError } from "../dataverse/client";
import type { Env } from "../env";
import type { Caller } from "../http/app-env";
import { requireAllowedOrg } from "../http/dynamics";
import { ApiError } from "../http/errors";
import { fetchAttributes, fetchEntities } from "../metadata/fetch";
import { storeAttributes, storeEntities } from "../metadata/cache";
import { audit } from "../stores/audit";
import { buildBuiltInJobs, BUILT_IN_ENTITIES } from "../stores/builtin-jobs";
import { connectionForAudit, putConnection, type StoredConnection } from "../stores/connections";
import { getJob, listJobs, putJob } from "../stores/jobs";
import { claimForAuthorize, withClaim } from "./ownership";
import { provenReadChecks, tablesReadBy } from "./read-scope";

interface DelegatedClaims {
  tid?: string;
  oid?: string;
  upn?: string;
  preferred_username?: string;
  unique_name?: string;
  name?: string;
}

/** The delegated token's claims, read without verifying: Dataverse verifies it on WhoAmI, which must succeed first. */
function readClaims(token: string): DelegatedClaims {
  try {
    return decodeJwt(token) as DelegatedClaims;
  } catch {
    return {};
  }
}

function dvFailure(e: unknown, what: string): never {
  if (isDataverseError(e)) {
    if (e.status === 401) throw new ApiError("dynamics_token_invalid", `Dynamics rejected the access token (${what}): ${e.message}`);
    if (e.status === 0) throw new ApiError("dynamics_unreachable", `Dynamics could not be reached (${what}): ${e.message}`);
    throw new ApiError("dynamics_error", `Dynamics answered ${e.status} ${e.code} (${what}): ${e.message}`);
  }
  throw e;
}

const privilegeFrom = (e: DataverseError, entity: string) => /prv[A-Za-z]+/.exec(e.message)?.[0] ?? `Read on ${entity}`;

async function canRead(orgUrl: string, token: string, entity: EntityInfo): Promise<{ ok: true } | { ok: false; error: DataverseError }> {
  try {
    const res = await dataverseRequest(orgUrl, `${entity.entitySetName}?$select=${entity.primaryIdAttribute}&$top=1`, {
      token,
      timeoutMs: 15_000,
      retry: false,
    });
    await res.body?.cancel();
    return { ok: true };
  } catch (e) {
    if (isDataverseError(e)) return { ok: false, error: e };
    throw e;
  }
}

/** A check that could not be performed: never ok, always a warning; a required one keeps the connection from `ready`. */
export function notChecked(id: string, required: boolean, label: string, fix: string): ReadinessCheck {
  return { id, ok: false, severity: "warning", required, notChecked: true, label, fix };
}

/** `ready` only when every required check was performed and passed; warnings and infos never decide it. */
export function readinessOf(checks: ReadinessCheck[], checkedAt: string): Readiness {
  return { checkedAt, ready: checks.every((c) => !c.required || c.ok), checks };
}

export async function authorizeConnection(env: Env, caller: Caller, conn: StoredConnection, accessToken: string): Promise<StoredConnection> {
  requireAllowedOrg(env, conn);
  let me: Awaited<ReturnType<typeof whoAmI>>;
  try {
    me = await whoAmI(conn.orgUrl, accessToken);
  } catch (e) {
    dvFailure(e, "WhoAmI with your token");
  }
  const claims = readClaims(accessToken);
  const tid = claims.tid;
  if (!tid) throw new ApiError("dynamics_token_invalid", "The access token carries no tenant (tid) claim; sign in with a work account");
  if (conn.organizationId && conn.organizationId.toLowerCase() !== me.OrganizationId.toLowerCase()) {
    throw new ApiError(
      "org_mismatch",
      `This connection is authorized for organization ${conn.organizationId}; the token is for ${me.OrganizationId}. Create a new connection for another organization.`,
    );
  }
  if (conn.tenantId && conn.tenantId.toLowerCase() !== tid.toLowerCase()) {
    throw new ApiError("org_mismatch", `This connection belongs to Microsoft Entra tenant ${conn.tenantId}; the token is from ${claims.tid}.`);
  }
  // Before anything is stored for this tenant (metadata cache, jobs, the connection's pin).
  await claimForAuthorize(env, caller, me.OrganizationId);
  return withClaim(env, conn, me.OrganizationId, async () => {
    const upn = claims.upn ?? claims.preferred_username ?? claims.unique_name;
    const checks: ReadinessCheck[] = [
      { id: "signed_in", ok: true, severity: "info", label: `Signed in to Dynamics as ${upn ?? me.UserId}` },
      { id: "organization", ok: true, severity: "info", label: `Organization ${me.OrganizationId} (${conn.orgUrl})` },
    ];

    // Metadata with the admin's token: needed for readiness (entity sets, change tracking) and cached for job validation.
    // null = could not be read: the checks that need it are reported as not checked, never as passed.
    let entities: EntityInfo[] | null = null;
    let metadataProblem = "";
    try {
      entities = await fetchEntities(conn.orgUrl, accessToken);
      await storeEntities(env, conn.tenant, conn.id, entities);
    } catch (e) {
      metadataProblem = isDataverseError(e) ? `${e.status || "no answer"} ${e.code}: ${e.message}` : "unexpected error";
      checks.push({
        id: "metadata",
        ok: false,
        severity: "warning",
        label: "Could not read the organization's table definitions",
        fix: `${metadataProblem}. Authorize again once Dynamics answers.`,
      });
    }
    const attrs = new Map(
      await Promise.all(
        BUILT_IN_ENTITIES.map(async (entity) => {
          try {
            const list = await fetchAttributes(conn.orgUrl, accessToken, entity);
            await storeAttributes(env, conn.tenant, conn.id, entity, list);
            return [entity, list] as const;
          } catch {
            return [entity, null] as const;
          }
        }),
      ),
    );

    const now = new Date().toISOString();
    let next: StoredConnection = {
      ...conn,
      tenantId: claims.tid,
      organizationId: me.OrganizationId,
      authorizedAt: now,
      authorizedBy: { userId: me.UserId, ...(upn ? { upn } : {}), ...(claims.name ? { name: claims.name } : {}) },
      updatedAt: now,
    };
    delete next.attentionReason;

    // Out-of-the-box jobs, once per connection (deterministic ids make a concurrent second authorize harmless too).
    if (!conn.builtInJobsCreatedAt) {
      for (const job of buildBuiltInJobs(conn.id, attrs, now)) {
        if (await getJob(env, conn.tenant, job.id)) continue;
        await putJob(env, conn.tenant, job);
        await audit(env, caller, "job.create", { type: "job", id: job.id }, null, job);
      }
      next.builtInJobsCreatedAt = now;
    }

    // Entities the enabled jobs of this connection read.
    const jobs = (await listJobs(env, conn.tenant)).filter((j) => j.connectionId === conn.id && j.enabled);
    const used = [...new Set(jobs.map((j) => j.source.entity))].sort();
    // …and every table those jobs read, tables of fields through lookups included: the user's read is proven on each.
    const read = [...new Set(jobs.flatMap((j) => tablesReadBy(j).map((t) => t.entity)))].sort();
    const byName = new Map((entities ?? []).map((e) => [e.logicalName, e]));

    // Background credential: client credentials for this org, then WhoAmI as the application user.
    const clientId = env.DYNAMICS_CLIENT_ID;
    let appToken: string | null = null;
    try {
      appToken = await getAppToken(env, tid, conn.orgUrl, { forceRefresh: true });
      checks.push({
        id: "application_credential",
        ok: true,
        severity: "info",
        required: true,
        label: `The connector app ${clientId} gets tokens for tenant ${claims.tid}`,
      });
    } catch (e) {
      const msg = isDataverseError(e) ? `${e.code}: ${e.message}` : "token request failed";
      checks.push({
        id: "application_credential",
        ok: false,
        severity: "error",
        required: true,
        label: `The connector app ${clientId} could not get a token for tenant ${claims.tid} (${msg})`,
        fix: `An administrator of tenant ${claims.tid} must grant admin consent to app ${clientId}, and the edge's DYNAMICS_CLIENT_SECRET must be current.`,
      });
    }
    let appUserOk = false;
    if (appToken) {
      try {
        await whoAmI(conn.orgUrl, appToken);
        appUserOk = true;
        checks.push({
          id: "application_user",
          ok: true,
          severity: "info",
          required: true,
          label: `Application user for app ${clientId} exists in ${conn.orgUrl}`,
        });
      } catch (e) {
        if (isDataverseError(e) && e.status === 0) dvFailure(e, "WhoAmI as the application user");
        const what = used.length ? used.map((u) => byName.get(u)?.displayName ?? u).join(", ") : "the synced tables";
        checks.push({
          id: "application_user",
          ok: false,
          severity: "error",
          required: true,
          label: `No usable application user for app ${clientId} in ${conn.orgUrl}${isDataverseError(e) ? ` (${e.status} ${e.code})` : ""}`,
          fix: `Create an application user for app ${clientId} in ${conn.orgUrl} with a security role that can read ${what} (Power Platform admin center → Environments → your environment → Settings → Users + permissions → Application users → New app user).`,
        });
      }
    } else {
      checks.push(
        notChecked(
          "application_user",
          true,
          `Could not check for an application user of app ${clientId} in ${conn.orgUrl}`,
          "The connector app got no token (see above); fix that, then authorize again.",
        ),
      );
    }

    for (const logical of used) {
      if (!entities) {
        const why = `The organization's table definitions could not be read (${metadataProblem}), so the table's entity set is unknown. Authorize again once Dynamics answers.`;
        checks.push(notChecked(`read:${logical}`, true, `Could not check whether the application user can read ${logical}`, why));
        checks.push(notChecked(`change_tracking:${logical}`, false, `Could not check change tracking for ${logical}`, why));
        continue;
      }
      const entity = byName.get(logical);
      if (!entity) {
        checks.push({
          id: `read:${logical}`,
          ok: false,
          severity: "error",
          required: true,
          label: `Table ${logical} does not exist in this organization`,
          fix: `Change or delete the jobs that read ${logical}.`,
        });
        continue;
      }
      if (!appToken || !appUserOk) {
        checks.push(
          notChecked(
            `read:${logical}`,
            true,
            `Could not check whether the application user can read ${entity.displayName}`,
            "There is no usable application user (see above); fix that, then authorize again.",
          ),
        );
      } else {
        const r = await canRead(conn.orgUrl, appToken, entity);
        checks.push(
          r.ok
            ? { id: `read:${logical}`, ok: true, severity: "info", required: true, label: `The application user can read ${entity.displayName}` }
            : {
                id: `read:${logical}`,
                ok: false,
                severity: "error",
                required: true,
                label: `The application user cannot read ${entity.displayName} (${r.error.status} ${r.error.code})`,
                fix:
                  r.error.status === 403
                    ? `Give the application user of app ${clientId} a security role with the ${privilegeFrom(r.error, logical)} privilege (Read, organization level) on ${entity.displayName}.`
                    : r.error.message,
              },
        );
      }
      // The admin's own read: job previews and the editor use the admin's token.
      const mine = await canRead(conn.orgUrl, accessToken, entity);
      if (!mine.ok) {
        checks.push({
          id: `delegated_read:${logical}`,
          ok: false,
          severity: "warning",
          label: `You (${upn ?? me.UserId}) cannot read ${entity.displayName} (${mine.error.status} ${mine.error.code})`,
          fix:
            mine.error.status === 403
              ? `Previews of jobs on ${entity.displayName} need the ${privilegeFrom(mine.error, logical)} privilege for your user; background sync is not affected.`
              : mine.error.message,
        });
      }
      checks.push(
        entity.changeTracking
          ? { id: `change_tracking:${logical}`, ok: true, severity: "info", label: `Change tracking is on for ${entity.displayName}` }
          : {
              id: `change_tracking:${logical}`,
              ok: false,
              severity: "warning",
              label: `Change tracking is off for ${entity.displayName}`,
              fix: `Turn on "Track changes" for ${entity.displayName} (Power Apps → Tables → ${entity.displayName} → Properties → Advanced options). Until then syncs read by modifiedon and cannot see deletions.`,
            },
      );
    }

    const proven = await provenReadChecks(conn, accessToken, me.UserId, upn ?? me.UserId, read, byName, now);
    checks.push(...proven.checks);
    next.readScope = proven.scope;

    const readiness = readinessOf(checks, now);
    next = { ...next, readiness, status: readiness.ready ? "authorized" : "needs_attention" };
    await putConnection(env, next);
    await audit(env, caller, "connection.authorize", { type: "connection", id: conn.id }, connectionForAudit(conn), connectionForAudit(next));
    return next;
  });
}
