/**
 * Security roles and table privileges of one org, the way Dataverse names and evaluates them (docs/sandbox.md,
 * "Users, security roles and privileges"):
 * - a privilege of a table is `prv` + verb + the table's SchemaName (`prvReadAccount`, `prvReadcr123_Project`); the
 *   systemuser table's privileges are named `…User` (`prvReadUser`)
 *   — https://learn.microsoft.com/power-apps/developer/data-platform/security-access-coding
 * - a role grants a privilege at a depth (PrivilegeDepth: Basic, Local, Deep, Global); a user's roles add up, the least
 *   restrictive grant wins; organization-owned tables only know Global (or nothing)
 *   — https://learn.microsoft.com/power-apps/developer/data-platform/security-concepts
 *   — https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/privilegedepth
 * The sandbox models the table privileges only (no miscellaneous privileges such as prvReadAuditSummary), one business
 * unit per org, no teams and no sharing; Basic read therefore means "rows whose ownerid is the user".
 */
import type { EntityModel } from "./schema";
import { ODataError } from "./odata";
import { nameGuid } from "./util";

/** Web API enum PrivilegeDepth (serialised by member name). */
export type PrivilegeDepth = "Basic" | "Local" | "Deep" | "Global";
export const DEPTHS: readonly PrivilegeDepth[] = ["Basic", "Local", "Deep", "Global"];
/** A role's read access on a table: a depth, or no privilege at all. */
export type ReadLevel = PrivilegeDepth | "None";
const RANK: Record<ReadLevel, number> = { None: -1, Basic: 0, Local: 1, Deep: 2, Global: 3 };

/** Verbs of table privileges, in the order RetrieveUserPrivileges lists them. */
export const VERBS = ["Create", "Read", "Write", "Delete", "Append", "AppendTo", "Assign", "Share"] as const;
export type Verb = (typeof VERBS)[number];

/** The caller of a Web API request (resolved from the token by Org.principalFor). */
export interface Principal {
  kind: "user" | "app";
  systemUserId: string;
  name: string;
}

/** A security role as seeded in the org config or set through the control API. */
export interface RoleSpec {
  name: string;
  /** Every table privilege (all verbs) at Global, like the System Administrator role. */
  allTables?: boolean;
  /** Read level per table logical name; `"*"` applies to tables not listed. Overrides `allTables` for Read. */
  read?: Record<string, ReadLevel>;
}

/** A role held by one user (roles are per user in the sandbox, so changing one never affects another user). */
export interface Role {
  roleId: string;
  name: string;
  allTables: boolean;
  read: Map<string, ReadLevel>;
}

export function isReadLevel(v: unknown): v is ReadLevel {
  return typeof v === "string" && v in RANK;
}
export function maxLevel(a: ReadLevel, b: ReadLevel): ReadLevel {
  return RANK[a] >= RANK[b] ? a : b;
}

const orgOwned = (m: EntityModel): boolean => m.ownershipType === "OrganizationOwned";
/** Assign and Share only exist for tables owned by users or teams. */
const principalOwned = (m: EntityModel): boolean => m.ownershipType === "UserOwned" || m.ownershipType === "TeamOwned";

/** The part after the verb: the table's SchemaName, except for systemuser (prvReadUser). */
export function privilegeSuffix(m: EntityModel): string {
  return m.logicalName === "systemuser" ? "User" : m.schemaName;
}
export function privilegeName(verb: Verb, m: EntityModel): string {
  return `prv${verb}${privilegeSuffix(m)}`;
}
/** Privilege ids are stable GUIDs derived from the name (the same in every org, like Microsoft's system privileges). */
export function privilegeId(name: string): string {
  return nameGuid("privilege:" + name);
}
export function verbsOf(m: EntityModel): Verb[] {
  return VERBS.filter((v) => (v !== "Assign" && v !== "Share") || principalOwned(m));
}

/** Resolve a privilege name (case-insensitive, like Dataverse's SQL collation) to its verb and table. */
export function parsePrivilegeName(name: string, entities: readonly EntityModel[]): { verb: Verb; model: EntityModel; name: string } | undefined {
  const low = name.toLowerCase();
  if (!low.startsWith("prv")) return undefined;
  // "prvAppendTo…" may be AppendTo + table or Append + a table whose name starts with "To": try every verb that fits.
  for (const verb of VERBS) {
    const v = "prv" + verb.toLowerCase();
    if (!low.startsWith(v) || low.length === v.length) continue;
    const suffix = low.slice(v.length);
    const model = entities.find((e) => privilegeSuffix(e).toLowerCase() === suffix);
    if (model && verbsOf(model).includes(verb)) return { verb, model, name: privilegeName(verb, model) };
  }
  return undefined;
}

export function makeRole(spec: RoleSpec, roleId: string): Role {
  const read = new Map<string, ReadLevel>();
  for (const [k, v] of Object.entries(spec.read ?? {})) {
    if (!isReadLevel(v))
      throw new ODataError(`Role '${spec.name}': read level '${String(v)}' of '${k}' must be None, Basic, Local, Deep or Global.`, "sandbox_bad_request");
    read.set(k, v);
  }
  return { roleId, name: spec.name, allTables: spec.allTables === true, read };
}
export function roleSpec(r: Role): RoleSpec & { roleId: string } {
  return { roleId: r.roleId, name: r.name, allTables: r.allTables, read: Object.fromEntries(r.read) };
}

/** The depth at which one role grants a privilege, or undefined when it doesn't. */
export function roleGrant(role: Role, verb: Verb, m: EntityModel): PrivilegeDepth | undefined {
  if (!verbsOf(m).includes(verb)) return undefined;
  let level: ReadLevel;
  if (verb === "Read") level = role.read.get(m.logicalName) ?? role.read.get("*") ?? (role.allTables ? "Global" : "None");
  else level = role.allTables ? "Global" : "None";
  if (level === "None") return undefined;
  return orgOwned(m) ? "Global" : level;
}

/** Effective read level of a set of roles on a table (least restrictive grant wins). */
export function readLevelOf(roles: readonly Role[], m: EntityModel): ReadLevel {
  let out: ReadLevel = "None";
  for (const r of roles) out = maxLevel(out, roleGrant(r, "Read", m) ?? "None");
  return out;
}

/** Levels a table accepts: organization-owned tables only Global (or None); Basic needs an owner column to filter on. */
export function checkLevelFor(m: EntityModel, level: ReadLevel): void {
  if (level === "None" || level === "Global") return;
  if (orgOwned(m)) throw new ODataError(`Table '${m.logicalName}' is organization-owned: its privileges are Global or None.`, "sandbox_bad_request");
  if (level === "Basic" && !m.attrs.has("ownerid"))
    throw new ODataError(
      `Table '${m.logicalName}' has no ownerid column: the sandbox models Basic depth only on user- or team-owned tables.`,
      "sandbox_bad_request",
    );
}

/** 403 PrivilegeDenied (0x80040220), Dataverse's message for a missing privilege. */
export function privilegeError(p: Principal, model: EntityModel, verb: Verb = "Read"): ODataError {
  return new ODataError(
    `Principal user (Id=${p.systemUserId}, type=8, roleCount=1, privilegeCount=0, accessMode=${p.kind === "app" ? 4 : 0}), is missing ${privilegeName(verb, model)} privilege (Id=00000000-0000-0000-0000-000000000000) on OTC=${model.objectTypeCode} for entity '${model.logicalName}'. context.Caller=${p.systemUserId}`,
    "0x80040220",
    403,
  );
}

/**
 * 403 for a record outside the caller's depth: Dataverse's access-check failure -2147187962 (0x80048306), "Principal
 * with ID <guid> does not have <right>(s) for record with ID <guid> of entity"
 * (https://learn.microsoft.com/troubleshoot/power-platform/dataverse/user-permissions/client-errors).
 */
export function accessError(p: Principal, model: EntityModel, id: string): ODataError {
  return new ODataError(
    `Principal with ID ${p.systemUserId} does not have ReadAccess right(s) for record with ID ${id} of entity ${model.logicalName}.`,
    "0x80048306",
    403,
  );
}
