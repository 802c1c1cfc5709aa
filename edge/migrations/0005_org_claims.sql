-- Org ownership (docs/security.md "An org belongs to one host tenant"): the first successful authorize of a Dynamics
-- organization claims it for the host tenant; another tenant's authorize of the same organization is refused (409
-- org_claimed). One row per organization, so the claim is one atomic INSERT. Released when the owning tenant deletes
-- its last connection to the organization.
CREATE TABLE IF NOT EXISTS org_claims (
  organization_id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  claimed_at TEXT NOT NULL,
  claimed_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS org_claims_tenant ON org_claims (tenant);
