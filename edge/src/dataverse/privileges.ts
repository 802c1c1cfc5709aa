/**
 * A Dataverse user's read depth per table, from the documented `RetrieveUserPrivileges` function
 * (`GET systemusers(<id>)/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()` →
 * `{ RolePrivileges: [{ Depth, PrivilegeName, PrivilegeId, BusinessUnitId }] }`, Depth one of the PrivilegeDepth
 * names Basic, Local, Deep, Global). A sync copies a whole table, so the user who authorizes it must be able to read
 * the whole table: Global (Organization) depth on `prvRead<Table>`. Privilege names carry the table's SchemaName,
 * whose lower case is its logical name, so one call answers every table.
 */
import { z } from "zod";
import type { PrivilegeDepth, ReadGrant } from "#contract/connection";
import { dataverseJson, type DataverseRequestInit } from "./client";

export const RolePrivilege = z.object({
  Depth: z.enum(["Basic", "Local", "Deep", "Global"]),
  PrivilegeName: z.string(),
  PrivilegeId: z.string().optional(),
  BusinessUnitId: z.string().optional(),
});

export const RetrieveUserPrivilegesResponse = z.object({ RolePrivileges: z.array(RolePrivilege) });

/** Widest first: a user with several roles reads as deep as the widest of them. */
const DEPTH_ORDER: PrivilegeDepth[] = ["Global", "Deep", "Local", "Basic"];

/** Tables whose privileges are not named after their SchemaName (security-role editor names). */
const PRIVILEGE_ENTITY: Record<string, string> = { systemuser: "User", activitypointer: "Activity", annotation: "Note" };

/** The read privilege of a table, as Dataverse names it (case aside): `prvRead` + SchemaName. */
export const readPrivilegeName = (logicalName: string) => `prvRead${PRIVILEGE_ENTITY[logicalName] ?? logicalName}`;

function widestByName(privileges: Array<z.infer<typeof RolePrivilege>>): Map<string, ReadGrant> {
  const widest = new Map<string, ReadGrant>();
  for (const p of privileges) {
    const key = p.PrivilegeName.toLowerCase();
    const had = widest.get(key);
    if (!had || DEPTH_ORDER.indexOf(p.Depth) < DEPTH_ORDER.indexOf(had.depth)) widest.set(key, { privilege: p.PrivilegeName, depth: p.Depth });
  }
  return widest;
}

/** The grant of `table` in `widest`, or "None" under the privilege's name as far as the logical name tells it. */
const grantOf = (widest: Map<string, ReadGrant>, table: string): ReadGrant =>
  widest.get(readPrivilegeName(table).toLowerCase()) ?? { privilege: readPrivilegeName(table), depth: "None" };

const userPath = (userId: string) => `systemusers(${encodeURIComponent(userId)})/Microsoft.Dynamics.CRM.`;

/**
 * The user's read depth on each of `tables` (logical names): the widest depth any of their roles grants, or "None".
 * One `RetrieveUserPrivileges` request whatever the number of tables (authorize, job save).
 */
export async function readGrants(orgUrl: string, token: string, userId: string, tables: string[]): Promise<Record<string, ReadGrant>> {
  const res = await dataverseJson(orgUrl, `${userPath(userId)}RetrieveUserPrivileges()`, { token, timeoutMs: 15_000 }, RetrieveUserPrivilegesResponse);
  const widest = widestByName(res.RolePrivileges);
  return Object.fromEntries(tables.map((t) => [t, grantOf(widest, t)]));
}

/**
 * The user's read depth on one table with `RetrieveUserPrivilegeByPrivilegeName`: a small answer, for the re-check at
 * every run start (a System Administrator's full privilege list is about a megabyte).
 */
export async function readGrant(
  orgUrl: string,
  token: string,
  userId: string,
  table: string,
  opts: Pick<DataverseRequestInit, "onHeadroom"> = {},
): Promise<ReadGrant> {
  const name = readPrivilegeName(table);
  const path = `${userPath(userId)}RetrieveUserPrivilegeByPrivilegeName(PrivilegeName=@p)?@p=${encodeURIComponent(`'${name}'`)}`;
  const res = await dataverseJson(orgUrl, path, { token, timeoutMs: 15_000, ...opts }, RetrieveUserPrivilegesResponse);
  return grantOf(widestByName(res.RolePrivileges), table);
}

/** Syncing a table copies every row: only Organization-wide (Global) read covers that. */
export const coversWholeTable = (depth: PrivilegeDepth | undefined): boolean => depth === "Global";

/** How an admin reads a depth (Power Apps' security role editor names). */
export function depthLabel(depth: PrivilegeDepth): string {
  switch (depth) {
    case "Global":
      return "Organization";
    case "Deep":
      return "Parent: Child Business Units";
    case "Local":
      return "Business Unit";
    case "Basic":
      return "User";
    case "None":
      return "None";
  }
}
