import type { Job, Lookup, Mapping } from "#contract/job";
import type { AttributeInfo } from "#contract/metadata";

/**
 * The out-of-the-box jobs created at a connection's first successful authorization. Ids are derived from the
 * connection id, so a second authorize (or a race of two) can never create duplicates.
 * Chain: Company runs on the schedule; Person after Company; CompanyPerson after Person; User on its own schedule.
 */
type Def = {
  key: NonNullable<Job["builtIn"]>;
  name: string;
  entity: string;
  object: string;
  filter: string | null;
  idAttr: string;
  mappings: Array<Pick<Mapping, "source" | "target"> & { use?: "value" | "label" }>;
  lookups: Array<Omit<Lookup, "onMissing" | "onEmpty"> & Pick<Lookup, "onMissing" | "onEmpty">>;
  dependsOn: NonNullable<Job["builtIn"]> | null;
  schedule: boolean;
};

const common = [
  { source: "createdon", target: "CreatedOn" },
  { source: "modifiedon", target: "ModifiedOn" },
];

const BUILT_IN_JOBS: Def[] = [
  {
    key: "company",
    name: "Accounts → Companies",
    entity: "account",
    object: "Company",
    filter: null,
    idAttr: "accountid",
    mappings: [
      { source: "name", target: "Name" },
      { source: "accountnumber", target: "AccountNumber" },
      { source: "websiteurl", target: "Website" },
      { source: "industrycode", target: "Industry", use: "label" },
      { source: "numberofemployees", target: "Employees" },
      { source: "revenue", target: "AnnualRevenue" },
      { source: "telephone1", target: "Phone" },
      { source: "emailaddress1", target: "Email" },
      { source: "address1_city", target: "City" },
      { source: "address1_country", target: "Country" },
      { source: "statecode", target: "Status", use: "label" },
      { source: "ownerid", target: "Owner", use: "label" },
      { source: "description", target: "Description" },
      ...common,
    ],
    lookups: [
      { target: "ParentCompanyId", object: "Company", match: [{ source: "_parentaccountid_value", field: "DynamicsId" }], onMissing: "null", onEmpty: "null" },
    ],
    dependsOn: null,
    schedule: true,
  },
  {
    key: "person",
    name: "Contacts → People",
    entity: "contact",
    object: "Person",
    filter: null,
    idAttr: "contactid",
    mappings: [
      { source: "firstname", target: "FirstName" },
      { source: "lastname", target: "LastName" },
      { source: "fullname", target: "FullName" },
      { source: "emailaddress1", target: "Email" },
      { source: "telephone1", target: "Phone" },
      { source: "mobilephone", target: "MobilePhone" },
      { source: "jobtitle", target: "JobTitle" },
      { source: "address1_city", target: "City" },
      { source: "address1_country", target: "Country" },
      { source: "statecode", target: "Status", use: "label" },
      ...common,
    ],
    lookups: [
      { target: "CompanyId", object: "Company", match: [{ source: "_parentcustomerid_value", field: "DynamicsId" }], onMissing: "null", onEmpty: "null" },
    ],
    dependsOn: "company",
    schedule: false,
  },
  {
    key: "company_person",
    name: "Contacts → Company people",
    entity: "contact",
    object: "CompanyPerson",
    // Contacts without a company are skipped by the Company lookup: an empty parentcustomerid (onEmpty) and one that
    // points at a contact (onMissing: no Company has that id). No $filter, so change tracking stays usable.
    filter: null,
    idAttr: "contactid",
    mappings: [{ source: "jobtitle", target: "Role" }, ...common],
    lookups: [
      { target: "CompanyId", object: "Company", match: [{ source: "_parentcustomerid_value", field: "DynamicsId" }], onMissing: "skip", onEmpty: "skip" },
      { target: "PersonId", object: "Person", match: [{ source: "contactid", field: "DynamicsId" }], onMissing: "skip", onEmpty: "skip" },
    ],
    dependsOn: "person",
    schedule: false,
  },
  {
    key: "user",
    name: "Users → Users",
    entity: "systemuser",
    object: "User",
    filter: null,
    idAttr: "systemuserid",
    mappings: [
      { source: "fullname", target: "FullName" },
      { source: "firstname", target: "FirstName" },
      { source: "lastname", target: "LastName" },
      { source: "internalemailaddress", target: "Email" },
      { source: "title", target: "Title" },
      { source: "address1_telephone1", target: "Phone" },
      { source: "businessunitid", target: "BusinessUnit", use: "label" },
      { source: "isdisabled", target: "IsDisabled" },
      ...common,
    ],
    lookups: [],
    dependsOn: null,
    schedule: true,
  },
];

const builtInJobId = (connectionId: string, key: string) => `${connectionId}_${key}`.slice(0, 64);

/** Entities the out-of-the-box jobs read. */
export const BUILT_IN_ENTITIES = [...new Set(BUILT_IN_JOBS.map((d) => d.entity))];

/**
 * Builds the jobs; when the entity's attributes are known, mappings to attributes the org doesn't have are dropped
 * (orgs remove or never had some columns), so the jobs validate and run as created.
 */
export function buildBuiltInJobs(connectionId: string, attributes: Map<string, AttributeInfo[] | null>, now: string): Job[] {
  return BUILT_IN_JOBS.map((d): Job => {
    const attrs = attributes.get(d.entity);
    const has = (name: string) => !attrs || attrs.some((a) => a.logicalName === name || `_${a.logicalName}_value` === name);
    return {
      id: builtInJobId(connectionId, d.key),
      connectionId,
      name: d.name,
      enabled: true,
      source: { entity: d.entity, filter: d.filter },
      target: { object: d.object },
      mode: "upsert",
      deletes: "soft",
      identifiers: [{ source: d.idAttr, target: "DynamicsId" }],
      mappings: d.mappings.filter((m) => has(m.source)).map((m) => ({ source: m.source, target: m.target, use: m.use ?? "value" })),
      lookups: d.lookups.filter((l) => l.match.every((m) => has(m.source))),
      schedule: d.schedule ? { cron: d.key === "user" ? "30 2 * * *" : "0 * * * *", timezone: "UTC" } : null,
      dependsOn: d.dependsOn ? builtInJobId(connectionId, d.dependsOn) : null,
      notify: { onSuccess: [], onPartial: [], onFailure: [], webhook: null },
      createdAt: now,
      updatedAt: now,
      builtIn: d.key,
    };
  });
}
