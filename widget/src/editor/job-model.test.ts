import { describe, expect, it } from "vitest";
import type { AttributeInfo, EntityInfo } from "#contract/metadata";
import type { Job } from "#contract/job";
import {
  deriveObject,
  draftFromJob,
  draftToInput,
  emptyDraft,
  errorKey,
  errorsByKey,
  orderFields,
  proposeField,
  sameDraft,
  sentenceLabel,
  splitEmails,
  toFieldName,
} from "./job-model";

// The example job of architecture.md.
const JOB: Job = {
  id: "job_1",
  connectionId: "conn_1",
  name: "Accounts → Companies",
  enabled: true,
  source: { entity: "account", filter: "statecode eq 0" },
  target: { object: "Company" },
  mode: "upsert",
  deletes: "soft",
  identifiers: [{ source: "accountid", target: "DynamicsId" }],
  mappings: [
    { source: "name", target: "Name", use: "value" },
    { source: "industrycode", target: "Industry", use: "label" },
    { source: "parentcustomerid", via: { entity: "account", attribute: "name" }, target: "ParentName", use: "value" },
  ],
  lookups: [
    { target: "CompanyId", object: "Company", match: [{ source: "_parentcustomerid_value", field: "DynamicsId" }], onMissing: "null", onEmpty: "null" },
  ],
  schedule: { cron: "0 * * * *", timezone: "Europe/Berlin" },
  dependsOn: null,
  notify: { onSuccess: [], onPartial: [], onFailure: ["ops@example.com"], webhook: null },
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-02T00:00:00Z",
};

describe("job draft", () => {
  it("round-trips a job through the draft unchanged", () => {
    const draft = draftFromJob(JOB, "UTC");
    expect(draft.schedule.kind).toBe("hourly");
    expect(draft.notify.onFailure).toBe("ops@example.com");
    const { id: _id, createdAt: _c, updatedAt: _u, ...input } = JOB;
    expect(draftToInput(draft, "conn_1")).toEqual(input);
  });

  it("starts a new job empty, in the browser's time zone, with upsert and no schedule", () => {
    const d = draftFromJob(null, "Asia/Tokyo");
    expect(d).toEqual(emptyDraft("Asia/Tokyo"));
    const input = draftToInput({ ...d, entity: "contact", targetObject: "Person" }, "c");
    expect(input.schedule).toBeNull();
    expect(input.source.filter).toBeNull();
    expect(input.mode).toBe("upsert");
  });

  it("leaves out mapping rows without a source and through-lookups without a column", () => {
    const d = {
      ...emptyDraft("UTC"),
      mappings: [
        { source: "", target: "Name", use: "value" as const },
        { source: "parentcustomerid", target: "Parent", use: "value" as const, via: { entity: "account", attribute: "" } },
        { source: "fullname", target: "FullName", use: "value" as const },
      ],
    };
    const out = draftToInput(d, "c").mappings;
    expect(out).toEqual([
      { source: "parentcustomerid", target: "Parent", use: "value" },
      { source: "fullname", target: "FullName", use: "value" },
    ]);
  });

  it("splits e-mail lists on commas, semicolons and spaces", () => {
    expect(splitEmails(" a@x.com, b@y.com;c@z.com  d@w.com ,")).toEqual(["a@x.com", "b@y.com", "c@z.com", "d@w.com"]);
  });

  it("sees no change when only review marks differ", () => {
    const d = draftFromJob(JOB, "UTC");
    expect(sameDraft(d, { ...d, review: ["Name"] })).toBe(true);
    expect(sameDraft(d, { ...d, name: "x" })).toBe(false);
  });
});

describe("validation error paths", () => {
  const sent = draftToInput(draftFromJob(JOB, "UTC"), "conn_1");

  it("puts mapping errors on the row of the field the mapping fills", () => {
    expect(errorKey("mappings.2.source", sent)).toBe("mapping:ParentName");
    expect(errorKey("mappings.1.target", sent)).toBe("mapping:Industry");
    expect(errorKey("mappings.9.source", sent)).toBe("mappings");
    expect(errorKey("mappings", sent)).toBe("mappings");
  });

  it("keeps the other paths on their own fields", () => {
    expect(errorKey("notify.onFailure.0", sent)).toBe("notify.onFailure");
    expect(errorKey("schedule", sent)).toBe("schedule.cron");
    expect(errorKey("schedule.timezone", sent)).toBe("schedule.timezone");
    expect(errorKey("identifiers.0.target", sent)).toBe("identifiers.0.target");
    expect(errorKey("lookups.0.match.0.field", sent)).toBe("lookups.0.match.0.field");
    expect(errorKey("source.entity", sent)).toBe("source.entity");
    expect(errorKey("", sent)).toBe("form");
  });

  it("groups several messages for one field", () => {
    const m = errorsByKey(
      [
        { path: "mappings.0.source", message: "a" },
        { path: "mappings.0.target", message: "b" },
        { path: "name", message: "c" },
      ],
      sent,
    );
    expect([...m.entries()]).toEqual([
      ["mapping:Name", ["a", "b"]],
      ["name", ["c"]],
    ]);
  });
});

describe("custom object from an entity", () => {
  const entity: EntityInfo = {
    logicalName: "cr123_project",
    displayName: "Project",
    entitySetName: "cr123_projects",
    primaryIdAttribute: "cr123_projectid",
    primaryNameAttribute: "cr123_name",
    isCustom: true,
    changeTracking: true,
  };
  const attr = (logicalName: string, displayName: string, type: AttributeInfo["type"], extra: Partial<AttributeInfo> = {}): AttributeInfo => ({
    logicalName,
    displayName,
    type,
    required: "none",
    readable: true,
    ...extra,
  });
  const attrs = [
    attr("cr123_projectid", "Project", "Uniqueidentifier"),
    attr("cr123_name", "Name", "String", { required: "required" }),
    attr("cr123_budget", "Budget", "Money"),
    attr("cr123_stage", "Stage", "Picklist", { options: [{ value: 1, label: "Plan" }] }),
    attr("cr123_accountid", "Account", "Lookup", { targets: ["account"] }),
    attr("cr123_start", "Start date", "DateTime", { format: "DateOnly" }),
    attr("cr123_name_copy", "Name", "String"),
    attr("cr123_virtual", "Virtual", "Virtual"),
  ];

  it("makes a DynamicsId identifier and one typed field per selected column", () => {
    const d = deriveObject(entity, attrs, new Set(attrs.map((a) => a.logicalName)));
    expect(d.body.name).toBe("Project");
    expect(d.body.fields.map((f) => [f.name, f.type])).toEqual([
      ["DynamicsId", "id"],
      ["Name", "string"],
      ["Budget", "currency"],
      ["Stage", "string"],
      ["Account", "string"],
      ["StartDate", "date"],
      ["Name2", "string"],
    ]);
    expect(d.body.fields[0]).toMatchObject({ required: true, unique: true });
    expect(d.identifiers).toEqual([{ source: "cr123_projectid", target: "DynamicsId" }]);
    expect(d.mappings.find((m) => m.target === "Stage")?.use).toBe("label");
    expect(d.mappings).toHaveLength(d.body.fields.length);
  });

  it("turns labels into valid field names", () => {
    expect(toFieldName("Address 1: Street 1", "address1_line1")).toBe("Address1Street1");
    expect(toFieldName("1st contact", "x")).toBe("F1stContact");
    expect(toFieldName("Société", "x")).toBe("Societe");
    expect(toFieldName("", "new_thing")).toBe("NewThing");
    expect(toFieldName("x".repeat(80), "y")).toHaveLength(63);
  });

  it("lists required fields first", () => {
    const fields = [
      { name: "A", label: "A", type: "string" as const, required: false },
      { name: "B", label: "B", type: "string" as const, required: true },
    ];
    expect(orderFields(fields).map((f) => f.name)).toEqual(["B", "A"]);
  });
});

describe("add a field from a column", () => {
  const customer = { logicalName: "parentcustomerid", displayName: "Company Name", type: "Customer" as const };
  const accountName = { logicalName: "name", displayName: "Account Name", type: "String" as const };

  it("names a field read through a lookup after the lookup, typed by the related column", () => {
    const p = proposeField(customer, { entity: "account", attr: accountName, primaryName: "name" }, [{ name: "FirstName" }]);
    expect(p).toEqual({
      field: { name: "CompanyName", label: "Company name", type: "string" },
      mapping: { source: "parentcustomerid", via: { entity: "account", attribute: "name" }, use: "value" },
    });
  });

  it("names a non-primary related column after both, and types it by that column", () => {
    const email = { logicalName: "internalemailaddress", displayName: "Primary Email", type: "String" as const, format: "Email" };
    const p = proposeField({ logicalName: "ownerid", displayName: "Owner", type: "Owner" }, { entity: "systemuser", attr: email, primaryName: "fullname" }, []);
    expect(p?.field).toEqual({ name: "OwnerPrimaryEmail", label: "Owner primary email", type: "email" });
  });

  it("reads an option set's label into text and keeps names unique", () => {
    const p = proposeField({ logicalName: "industrycode", displayName: "Industry", type: "Picklist" }, null, [{ name: "industry" }]);
    expect(p).toEqual({ field: { name: "Industry2", label: "Industry", type: "string" }, mapping: { source: "industrycode", use: "label" } });
  });

  it("proposes nothing for a column no field type can hold", () => {
    expect(proposeField({ logicalName: "x", displayName: "X", type: "Virtual" }, null, [])).toBeNull();
  });

  it("writes labels in sentence case and keeps acronyms", () => {
    expect(sentenceLabel("Company Name")).toBe("Company name");
    expect(sentenceLabel("Dynamics ID")).toBe("Dynamics ID");
    expect(sentenceLabel("Address 1: Street 1")).toBe("Address 1: street 1");
    expect(sentenceLabel("  Website URL ")).toBe("Website URL");
  });
});
