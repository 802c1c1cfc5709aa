import { describe, expect, it } from "vitest";
import type { Job } from "#contract/job";
import type { AttributeInfo } from "#contract/metadata";
import type { ObjectField } from "#contract/object";
import { mapRecord } from "../../src/sync/mapper";

const F = "@OData.Community.Display.V1.FormattedValue";
const attrs: AttributeInfo[] = [
  { logicalName: "contactid", displayName: "Contact", type: "Uniqueidentifier", required: "none", readable: true },
  { logicalName: "fullname", displayName: "Full name", type: "String", required: "none", readable: true },
  { logicalName: "industrycode", displayName: "Industry", type: "Picklist", required: "none", readable: true, options: [{ value: 1, label: "Accounting" }] },
  {
    logicalName: "cr123_tags",
    displayName: "Tags",
    type: "MultiSelectPicklist",
    required: "none",
    readable: true,
    options: [
      { value: 1, label: "A" },
      { value: 2, label: "B" },
    ],
  },
  { logicalName: "revenue", displayName: "Revenue", type: "Money", required: "none", readable: true },
  { logicalName: "birthdate", displayName: "Birthday", type: "DateTime", format: "DateOnly", required: "none", readable: true },
  { logicalName: "createdon", displayName: "Created", type: "DateTime", format: "DateAndTime", required: "none", readable: true },
  {
    logicalName: "donotemail",
    displayName: "Do not email",
    type: "Boolean",
    required: "none",
    readable: true,
    options: [
      { value: 0, label: "Allow" },
      { value: 1, label: "Do Not Allow" },
    ],
  },
  { logicalName: "parentcustomerid", displayName: "Company", type: "Customer", required: "none", readable: true, targets: ["account", "contact"] },
  { logicalName: "numberofemployees", displayName: "Employees", type: "Integer", required: "none", readable: true },
  { logicalName: "emailaddress1", displayName: "Email", type: "String", required: "none", readable: true },
];
const field = (name: string, type: ObjectField["type"], required = false): ObjectField => ({ name, label: name, type, required });
const object = {
  fields: [
    field("DynamicsId", "id", true),
    field("Name", "string", true),
    field("Industry", "string"),
    field("IndustryCode", "integer"),
    field("Tags", "string_list"),
    field("TagLabels", "string_list"),
    field("Revenue", "currency"),
    field("Birthday", "date"),
    field("CreatedDay", "date"),
    field("BirthdayAt", "datetime"),
    field("NoEmail", "boolean"),
    field("CompanyDynamicsId", "id"),
    field("CompanyName", "string"),
    field("Employees", "integer"),
    field("Email", "email"),
  ],
};
const job = (mappings: Job["mappings"]): Pick<Job, "source" | "identifiers" | "mappings"> => ({
  source: { entity: "contact", filter: null },
  identifiers: [{ source: "contactid", target: "DynamicsId" }],
  mappings,
});
const m = (source: string, target: string, extra: Partial<Job["mappings"][number]> = {}): Job["mappings"][number] => ({
  source,
  target,
  use: "value",
  ...extra,
});
const ID = "6f1f0e8e-0000-4000-8000-000000000001";
const base = { contactid: ID, fullname: "Ada Lovelace" };

describe("mapRecord", () => {
  it("maps an option set to its label through the FormattedValue annotation", () => {
    const r = mapRecord(
      job([m("fullname", "Name"), m("industrycode", "Industry", { use: "label" })]),
      attrs,
      { ...base, industrycode: 1, [`industrycode${F}`]: "Accounting" },
      object,
    );
    expect(r.errors).toEqual([]);
    expect(r.fields).toEqual({ DynamicsId: ID, Name: "Ada Lovelace", Industry: "Accounting" });
  });

  it("maps an option set to its value", () => {
    const r = mapRecord(job([m("industrycode", "IndustryCode")]), attrs, { ...base, industrycode: 1 }, object);
    expect(r.fields.IndustryCode).toBe(1);
  });

  it("maps a multi-select option set to values and to labels as JSON lists", () => {
    const row = { ...base, cr123_tags: "1,2", [`cr123_tags${F}`]: "A; B" };
    const r = mapRecord(job([m("cr123_tags", "Tags"), m("cr123_tags", "TagLabels", { use: "label" })]), attrs, row, object);
    expect(r.fields.Tags).toBe('["1","2"]');
    expect(r.fields.TagLabels).toBe('["A","B"]');
  });

  it("keeps money as a number and dates as dates vs date-times", () => {
    const row = { ...base, revenue: 1234.5, birthdate: "1990-12-10", createdon: "2024-03-05T23:30:00Z" };
    const r = mapRecord(
      job([m("revenue", "Revenue"), m("birthdate", "Birthday"), m("birthdate", "BirthdayAt"), m("createdon", "CreatedDay")]),
      attrs,
      row,
      object,
    );
    expect(r.errors).toEqual([]);
    expect(r.fields).toMatchObject({ Revenue: 1234.5, Birthday: "1990-12-10", BirthdayAt: "1990-12-10T00:00:00Z", CreatedDay: "2024-03-05" });
  });

  it("stores booleans as 0/1 and their label when asked", () => {
    const r = mapRecord(
      job([m("donotemail", "NoEmail"), m("donotemail", "Industry", { use: "label" })]),
      attrs,
      { ...base, donotemail: true, [`donotemail${F}`]: "Do Not Allow" },
      object,
    );
    expect(r.fields.NoEmail).toBe(1);
    expect(r.fields.Industry).toBe("Do Not Allow");
  });

  it("reads a lookup as its id from _x_value", () => {
    const row = { ...base, _parentcustomerid_value: "A1B2C3D4-0000-4000-8000-000000000009" };
    const r = mapRecord(job([m("parentcustomerid", "CompanyDynamicsId")]), attrs, row, object);
    expect(r.fields.CompanyDynamicsId).toBe("a1b2c3d4-0000-4000-8000-000000000009");
  });

  it("reads a field through a Customer lookup from the expanded account, null when it points to a contact", () => {
    const j = job([m("parentcustomerid", "CompanyName", { via: { entity: "account", attribute: "name" } })]);
    expect(mapRecord(j, attrs, { ...base, parentcustomerid_account: { name: "Contoso" }, parentcustomerid_contact: null }, object).fields.CompanyName).toBe(
      "Contoso",
    );
    expect(mapRecord(j, attrs, { ...base, parentcustomerid_account: null, parentcustomerid_contact: { fullname: "X" } }, object).fields.CompanyName).toBeNull();
  });

  it("reports a value that cannot convert as a per-record error naming field, value and reason", () => {
    const r = mapRecord(job([m("fullname", "Employees")]), attrs, base, object);
    expect(r.errors).toEqual([{ sourceId: ID, field: "Employees", value: "Ada Lovelace", reason: expect.stringContaining("not a number") }]);
    expect("Employees" in r.fields).toBe(false);
  });

  it("never truncates a decimal into an integer field", () => {
    const r = mapRecord(job([m("revenue", "Employees")]), attrs, { ...base, revenue: 12.5 }, object);
    expect(r.errors[0]?.reason).toMatch(/whole number/);
  });

  it("reports an empty required field", () => {
    const r = mapRecord(job([m("fullname", "Name")]), attrs, { contactid: ID, fullname: null }, object);
    expect(r.errors).toEqual([expect.objectContaining({ field: "Name", reason: "required field is empty" })]);
  });

  it("rejects a malformed email instead of storing it", () => {
    const r = mapRecord(job([m("emailaddress1", "Email")]), attrs, { ...base, emailaddress1: "not-an-email" }, object);
    expect(r.errors[0]).toMatchObject({ field: "Email", value: "not-an-email" });
  });
});
