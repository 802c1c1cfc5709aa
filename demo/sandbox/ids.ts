/**
 * Fixed, documented identifiers of the sandbox (docs/sandbox.md lists them). Everything is deterministic so that
 * tests, the demo and the edge's dev config can hard-code them.
 */
import { nameGuid } from "./util";

export const TENANT_CONTOSO = "11111111-1111-4111-8111-111111111111";
export const TENANT_FABRIKAM = "22222222-2222-4222-8222-222222222222";
export const ORG_CONTOSO = "0c0c0c0c-0000-4000-8000-00000000c001";
export const ORG_FABRIKAM = "0f0f0f0f-0000-4000-8000-00000000f001";
export const BU_CONTOSO = "b0b0b0b0-0000-4000-8000-00000000c001";
export const BU_FABRIKAM = "b0b0b0b0-0000-4000-8000-00000000f001";

/**
 * OrganizationId of an org copy (startSandbox's `copies`): deterministic from the copy's key, a name-based (v5-style)
 * GUID, so it is stable across restarts and differs from its source's and every other copy's.
 */
export function copyOrganizationId(key: string): string {
  return nameGuid(`sandbox-organization:${key}`);
}

/** The connector's confidential app (the edge's DYNAMICS_CLIENT_ID / DYNAMICS_CLIENT_SECRET). */
export const APP_CONNECTOR_ID = "c0ec7000-0000-4000-8000-000000000001";
export const APP_CONNECTOR_SECRET = "sandbox-connector-secret-1";
/** A second confidential app that is registered but has no application user in any org. */
export const APP_OTHER_ID = "c0ec7000-0000-4000-8000-000000000002";
export const APP_OTHER_SECRET = "sandbox-other-secret-2";
/** Public SPA client for msal-browser. */
export const SPA_CLIENT_ID = "5ba00000-0000-4000-8000-000000000001";

/** Entra object ids of the demo users. */
export const OID_CONTOSO_ADMIN = "a0a0a0a0-0000-4000-8000-000000000001";
export const OID_CONTOSO_LIMITED = "a0a0a0a0-0000-4000-8000-000000000002";
export const OID_FABRIKAM_ADMIN = "a0a0a0a0-0000-4000-8000-000000000003";
export const OID_CONTOSO_BASIC = "a0a0a0a0-0000-4000-8000-000000000004";
/** Service principal object ids of the connector app, one per tenant (multi-tenant app, consented in both). */
export const SP_CONNECTOR = { [TENANT_CONTOSO]: "5b5b5b5b-0000-4000-8000-00000000c001", [TENANT_FABRIKAM]: "5b5b5b5b-0000-4000-8000-00000000f001" } as Record<
  string,
  string
>;
export const SP_OTHER = { [TENANT_CONTOSO]: "5b5b5b5b-0000-4000-8000-00000000c002", [TENANT_FABRIKAM]: "5b5b5b5b-0000-4000-8000-00000000f002" } as Record<
  string,
  string
>;

/** Dataverse's first-party app id (aud of real Dataverse tokens is the org URL; kept for reference). */
export const DATAVERSE_APP_ID = "00000007-0000-0000-c000-000000000000";

/**
 * Row GUIDs: `PPPPPPPP-000O-4000-8000-IIIIIIIIIIII` with an entity prefix P, org number O and row index I (+1).
 * Lexicographic order of the GUIDs is the index order, so "order by primary key" is the generation order.
 */
export const ENTITY_PREFIX: Record<string, string> = {
  account: "a0000000",
  contact: "c0000000",
  systemuser: "5e000000",
  transactioncurrency: "7c000000",
  cr123_project: "d0000000",
};

export function rowGuid(entity: string, org: number, index: number): string {
  const p = ENTITY_PREFIX[entity] ?? "e0000000";
  return `${p}-${(org + 1).toString(16).padStart(4, "0")}-4000-8000-${(index + 1).toString(16).padStart(12, "0")}`;
}

/** Inverse of rowGuid: the row index if `id` is a generated id of that entity/org, else -1. */
export function rowIndex(entity: string, org: number, id: string): number {
  const p = ENTITY_PREFIX[entity] ?? "e0000000";
  const want = `${p}-${(org + 1).toString(16).padStart(4, "0")}-4000-8000-`;
  const low = id.toLowerCase();
  if (!low.startsWith(want) || low.length !== 36) return -1;
  const n = parseInt(low.slice(24), 16);
  return Number.isFinite(n) && n >= 1 ? n - 1 : -1;
}

/** Well-known systemuser indexes (index 0.. of each org's systemuser table). */
export const SU_INDEX = { admin: 0, limited: 1, appUser: 2, basic: 3 } as const;
