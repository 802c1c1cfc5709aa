/**
 * Where target-object records live in D1: one table per (tenant, object), typed columns per field.
 * Table and column names are derived, never taken raw from input, so DDL and DML can't be injected.
 *
 * Every table has the system columns below; a field `Name` is column `f_Name`.
 * A field marked `unique` (the job identifiers, e.g. DynamicsId) gets a UNIQUE index on (`_org`, field) so upserts can
 * use ON CONFLICT and two organizations' records with the same GUID stay two records.
 */
export const SYSTEM_COLUMNS = {
  id: "_id", // record id (uuid) — what lookups store
  createdAt: "_created_at", // ISO string
  updatedAt: "_updated_at", // ISO string
  deleted: "_deleted", // 0 | 1 (soft delete)
  // The Dynamics OrganizationId (lower-case) the record was synced from; '' = written before records were scoped to
  // their organization. Part of every unique index: a sandbox copied from production keeps the record GUIDs
  // (docs/decisions/0007-identifiers-per-organization.md).
  org: "_org",
} as const;

/** An organization id as the `_org` column holds it. */
export const orgKey = (organizationId: string): string => organizationId.toLowerCase();

/** Stable, short, identifier-safe key of a host tenant (hex SHA-256 prefix). */
export async function tenantKey(tenant: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(tenant));
  return [...new Uint8Array(digest).slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * `o_<tenantKey>_<object>` (unquoted, as sqlite_master names it). Object names are validated identifiers; compare
 * case-insensitively.
 *
 * Two objects never share a table: the tenant key is always exactly 16 hex characters, so the prefix `o_<tenantKey>_`
 * ends at a fixed position and what follows is the object's name alone — `a_b` of one tenant and `a` of another can't
 * meet, and within a tenant object names are unique case-insensitively (the `objects` primary key on the lower-cased
 * name). (Two tenants share a table only if their SHA-256 agrees on the first 64 bits.) Unique index names need more
 * than that: see stores/objects.ts `uniqueIndexName`.
 */
export async function objectTableName(tenant: string, objectName: string): Promise<string> {
  return `o_${await tenantKey(tenant)}_${objectName.toLowerCase()}`;
}

/** `"o_<tenantKey>_<object>"`, quoted for SQL (see objectTableName). */
export async function objectTable(tenant: string, objectName: string): Promise<string> {
  return `"${await objectTableName(tenant, objectName)}"`;
}

export function fieldColumn(fieldName: string): string {
  return `"f_${fieldName}"`;
}
