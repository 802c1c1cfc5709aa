import type { ObjectField, TargetObject } from "#contract/object";

/**
 * The standard target objects every host tenant has: what a customer-success platform keeps about accounts,
 * their people and its own users. Each has a unique `DynamicsId` (the Dataverse primary key) that the
 * out-of-the-box jobs use as their identifier, so upserts are idempotent.
 */
const f = (name: string, label: string, type: ObjectField["type"], extra: Partial<ObjectField> = {}): ObjectField => ({
  name,
  label,
  type,
  required: false,
  ...extra,
});

const dynamicsId = f("DynamicsId", "Dynamics ID", "id", { required: true, unique: true });
const audit = [f("CreatedOn", "Created on (Dynamics)", "datetime"), f("ModifiedOn", "Modified on (Dynamics)", "datetime")];

export const STANDARD_OBJECTS: Array<Omit<TargetObject, "createdAt">> = [
  {
    name: "Company",
    label: "Company",
    standard: true,
    fields: [
      dynamicsId,
      f("Name", "Name", "string", { required: true }),
      f("AccountNumber", "Account number", "string"),
      f("Website", "Website", "url"),
      f("Industry", "Industry", "string"),
      f("Employees", "Employees", "integer"),
      f("AnnualRevenue", "Annual revenue", "currency"),
      f("Phone", "Phone", "phone"),
      f("Email", "Email", "email"),
      f("City", "City", "string"),
      f("Country", "Country", "string"),
      f("Status", "Status", "string"),
      f("Owner", "Account owner", "string"),
      f("ParentCompanyId", "Parent company", "reference", { references: "Company" }),
      f("Description", "Description", "text"),
      ...audit,
    ],
  },
  {
    name: "Person",
    label: "Person",
    standard: true,
    fields: [
      dynamicsId,
      f("FirstName", "First name", "string"),
      f("LastName", "Last name", "string"),
      f("FullName", "Full name", "string"),
      f("Email", "Email", "email"),
      f("Phone", "Business phone", "phone"),
      f("MobilePhone", "Mobile phone", "phone"),
      f("JobTitle", "Job title", "string"),
      f("CompanyId", "Company", "reference", { references: "Company" }),
      f("City", "City", "string"),
      f("Country", "Country", "string"),
      f("Status", "Status", "string"),
      ...audit,
    ],
  },
  {
    name: "CompanyPerson",
    label: "Company person",
    standard: true,
    fields: [
      dynamicsId,
      f("CompanyId", "Company", "reference", { references: "Company" }),
      f("PersonId", "Person", "reference", { references: "Person" }),
      f("Role", "Role", "string"),
      f("IsPrimary", "Primary contact", "boolean"),
      ...audit,
    ],
  },
  {
    name: "User",
    label: "User",
    standard: true,
    fields: [
      dynamicsId,
      f("FullName", "Full name", "string", { required: true }),
      f("FirstName", "First name", "string"),
      f("LastName", "Last name", "string"),
      f("Email", "Email", "email"),
      f("Title", "Title", "string"),
      f("Phone", "Phone", "phone"),
      f("BusinessUnit", "Business unit", "string"),
      f("IsDisabled", "Disabled", "boolean"),
      ...audit,
    ],
  },
];
