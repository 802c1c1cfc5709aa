/**
 * Least privilege (docs/security.md): a background sync runs with the connector's application user, which may read
 * more than the admin who authorized it. So a table is synced only when the authorizing Dynamics user reads it
 * Organization-wide (Global depth on prvRead<Table>): proven with their token at authorize or job save, recorded on
 * the connection (`readScope`), and re-checked with the app token at every run start.
 */
import type { ReadGrant, ReadinessCheck, ReadScope } from "#contract/connection";
import type { JobDraft } from "#contract/job";
import type { EntityInfo } from "#contract/metadata";
import { isDataverseError } from "../dataverse/client";
import { coversWholeTable, depthLabel, readGrants, readPrivilegeName } from "../dataverse/privileges";
import type { Env } from "../env";
import { validationFailed } from "../http/errors";
import { putConnection, type StoredConnection } from "../stores/connections";

const who = (conn: Pick<StoredConnection, "authorizedBy">, userId: string) => conn.authorizedBy?.upn ?? conn.authorizedBy?.name ?? userId;

/** "prvReadContact: User (Basic)" — the privilege and the depth found, as a security role editor shows them. */
export function grantText(g: ReadGrant): string {
  return `${g.privilege}: ${g.depth === "None" ? "none" : `${depthLabel(g.depth)} (${g.depth})`}`;
}

function notWholeTable(display: string, g: ReadGrant, user: string): string {
  return `${user} reads ${display} at ${g.depth === "None" ? "no" : depthLabel(g.depth)} level (${grantText(g)}); a sync copies every row, so it needs Organization (Global) read`;
}

/** The tables proven so far for `userId` (a scope proven for another user proves nothing for this one). */
const provenFor = (conn: StoredConnection, userId: string): Record<string, ReadGrant> => (conn.readScope?.userId === userId ? conn.readScope.tables : {});

/**
 * The authorizing user's read depth on `tables` with their own token, as readiness checks (`privilege:<table>`,
 * required) plus the scope to record. A failed lookup leaves every table unproven ("not checked").
 */
export async function provenReadChecks(
  conn: StoredConnection,
  token: string,
  userId: string,
  user: string,
  tables: string[],
  byName: Map<string, EntityInfo>,
  now: string,
): Promise<{ checks: ReadinessCheck[]; scope: ReadScope }> {
  const prior = provenFor(conn, userId);
  if (!tables.length) return { checks: [], scope: { userId, checkedAt: now, tables: prior } };
  let grants: Record<string, ReadGrant>;
  try {
    grants = await readGrants(conn.orgUrl, token, userId, tables);
  } catch (e) {
    const why = isDataverseError(e) ? `${e.status || "no answer"} ${e.code}: ${e.message}` : "unexpected error";
    const checks = tables.map((t): ReadinessCheck => ({
      id: `privilege:${t}`,
      ok: false,
      severity: "warning",
      required: true,
      notChecked: true,
      label: `Could not check your read access to ${byName.get(t)?.displayName ?? t}`,
      fix: `RetrieveUserPrivileges failed (${why}). Your user needs Read on User to look up its own privileges; authorize again once that is fixed.`,
    }));
    return { checks, scope: { userId, checkedAt: now, tables: prior } };
  }
  const checks = tables.map((t): ReadinessCheck => {
    const display = byName.get(t)?.displayName ?? t;
    const g = grants[t]!;
    return coversWholeTable(g.depth)
      ? { id: `privilege:${t}`, ok: true, severity: "info", required: true, label: `You read ${display} Organization-wide (${grantText(g)})` }
      : {
          id: `privilege:${t}`,
          ok: false,
          severity: "error",
          required: true,
          label: `${notWholeTable(display, g, user)}.`,
          fix: `Jobs on ${display} do not run: the connector never copies more than the user who authorized it may read. Ask a Dynamics administrator for a security role with Organization-level Read on ${display} (${g.privilege}), then authorize again, or authorize as a user who has it.`,
        };
  });
  return { checks, scope: { userId, checkedAt: now, tables: { ...prior, ...grants } } };
}

/**
 * Every Dynamics table a job's runs read, each with the request path that names it: its own table, and the table of
 * each field read through a lookup (`via`). The authorizing user must read all of them Organization-wide.
 */
export function tablesReadBy(job: Pick<JobDraft, "source" | "mappings">): Array<{ entity: string; path: string }> {
  const out = [{ entity: job.source.entity, path: "source.entity" }];
  job.mappings.forEach((m, i) => {
    if (m.via && !out.some((t) => t.entity === m.via!.entity)) out.push({ entity: m.via.entity, path: `mappings.${i}.via.entity` });
  });
  return out;
}

/**
 * Job save or enable: the job's table must be proven Global for the connection's authorizing user. A table not proven
 * yet is checked now with the admin's token (sent as X-Dynamics-Token) on the authorizing user's privileges, and the
 * answer recorded; without a token or an authorization the save goes through and the run-start check decides.
 * Refused (400, path `source.entity`) when the depth is known and narrower than Global.
 */
export async function requireWholeTableRead(
  env: Env,
  conn: StoredConnection,
  entity: string,
  token: string | undefined,
  path = "source.entity",
): Promise<void> {
  const userId = conn.readScope?.userId ?? conn.authorizedBy?.userId;
  if (!userId) return;
  let grant: ReadGrant | undefined = provenFor(conn, userId)[entity];
  if (!coversWholeTable(grant?.depth) && token) {
    try {
      grant = (await readGrants(conn.orgUrl, token, userId, [entity]))[entity];
    } catch {
      grant = undefined; // could not be checked now: the run-start check decides
    }
    if (grant)
      await putConnection(env, {
        ...conn,
        readScope: { userId, checkedAt: new Date().toISOString(), tables: { ...provenFor(conn, userId), [entity]: grant } },
      });
  }
  if (grant && !coversWholeTable(grant.depth)) {
    throw validationFailed(
      [
        {
          path,
          message: `${notWholeTable(entity, grant, who(conn, userId))}. Choose another table or authorize the connection as a user with Organization-level read.`,
        },
      ],
      "The connection's user may not read this whole table",
    );
  }
}

/** Why a run may not read `entity`: its read was never proven, or the grant found is narrower than Global. */
export function runRefusal(conn: StoredConnection, entity: string, grant: ReadGrant | undefined): string {
  const userId = conn.readScope?.userId ?? conn.authorizedBy?.userId ?? "the authorizing user";
  if (!grant) {
    return `Read access to ${entity} (${readPrivilegeName(entity)}) was never proven for the user who authorized this connection (${who(conn, userId)}): authorize the connection again, or save the job again while signed in to Dynamics`;
  }
  return `${notWholeTable(entity, grant, who(conn, userId))}; nothing was read`;
}
