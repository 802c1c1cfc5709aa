/**
 * What a run proves before it reads a single record (init): the host tenant still owns the Dynamics organization, and
 * the user who authorized the connection still reads every table the job reads Organization-wide (docs/security.md).
 */
import { isDataverseError } from "../dataverse/client";
import { coversWholeTable, readGrant } from "../dataverse/privileges";
import { runRefusal, tablesReadBy } from "../connections/read-scope";
import { putConnection } from "../stores/connections";
import { claimOrganization } from "../stores/org-claims";
import { RunFailure, withToken, type RunContext } from "./run-context";

export async function passRunGate(ctx: RunContext): Promise<void> {
  const { env, conn, job, ref } = ctx;
  if (!conn.organizationId) throw new RunFailure("not_authorized", "The connection has not been authorized (no organization)");
  if (!(await claimOrganization(env, ref.tenant, conn.organizationId, `run:${ref.runId}`))) {
    throw new RunFailure("org_claimed", "This Dynamics organization is connected to another account now; this connection no longer syncs it");
  }
  // Every table the run reads — its own and those of fields through lookups — re-checked with the user's current grants.
  for (const { entity } of tablesReadBy(job)) {
    const scope = conn.readScope;
    if (!scope || !coversWholeTable(scope.tables[entity]?.depth))
      throw new RunFailure("insufficient_privilege", runRefusal(conn, entity, scope?.tables[entity]));
    let grant;
    try {
      grant = await withToken(ctx, (t) => readGrant(conn.orgUrl, t, scope.userId, entity, ctx.observe));
    } catch (e) {
      if (isDataverseError(e) && (e.status === 403 || e.status === 404)) {
        throw new RunFailure(
          "insufficient_privilege",
          `Could not re-check the authorizing user's read access to ${entity} (${e.status} ${e.code}): the application user needs Read on User (prvReadUser), and the user must still exist; nothing was read`,
        );
      }
      throw e;
    }
    if (!coversWholeTable(grant.depth)) {
      await putConnection(env, { ...conn, readScope: { ...scope, checkedAt: new Date().toISOString(), tables: { ...scope.tables, [entity]: grant } } });
      throw new RunFailure("insufficient_privilege", runRefusal(conn, entity, grant));
    }
  }
}
