import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { AttributeInfo, AttributeType } from "#contract/metadata";
import type { ObjectField } from "#contract/object";
import { autoMap } from "./auto-map";
import { isCompatible } from "#contract/compatibility";

// Microsoft's published contact table (copied into the sandbox with its attribution).
const raw = JSON.parse(readFileSync(fileURLToPath(new URL("../../../demo/sandbox/schema/contact.json", import.meta.url)), "utf8")) as {
  attributes: Array<{ logicalName: string; displayName?: string; type: string; requiredLevel?: string; format?: string; targets?: string[] }>;
};
const CONTACT: AttributeInfo[] = raw.attributes.map((a) => ({
  logicalName: a.logicalName,
  displayName: a.displayName ?? a.logicalName,
  type: (a.type === "MultiSelectPicklist" ? a.type : a.type) as AttributeType,
  required:
    a.requiredLevel === "ApplicationRequired" || a.requiredLevel === "SystemRequired" ? "required" : a.requiredLevel === "Recommended" ? "recommended" : "none",
  readable: true,
  ...(a.format ? { format: a.format } : {}),
  ...(a.targets ? { targets: a.targets } : {}),
}));

const f = (name: string, type: ObjectField["type"], label = name): ObjectField => ({ name, label, type, required: false });
const PERSON: ObjectField[] = [
  f("DynamicsId", "id", "Dynamics ID"),
  f("FirstName", "string", "First name"),
  f("LastName", "string", "Last name"),
  f("Email", "email"),
  f("Phone", "phone"),
  f("JobTitle", "string", "Job title"),
  f("CompanyName", "string", "Company name"),
  f("Birthday", "date"),
  f("CompanyId", "reference"),
  f("Nonsense", "boolean", "Zebra stripes"),
];

describe("auto-map", () => {
  const result = autoMap(PERSON, CONTACT, [], { primaryId: "contactid", primaryName: "fullname" });
  const by = new Map(result.mappings.map((m) => [m.target, m]));

  it("maps by name and type the fields an admin expects", () => {
    expect(by.get("DynamicsId")?.source).toBe("contactid");
    expect(by.get("FirstName")?.source).toBe("firstname");
    expect(by.get("LastName")?.source).toBe("lastname");
    expect(by.get("Email")?.source).toBe("emailaddress1");
    expect(by.get("Phone")?.source).toBe("telephone1");
    expect(by.get("JobTitle")?.source).toBe("jobtitle");
    expect(by.get("Birthday")?.source).toBe("birthdate");
  });

  it("reads the Customer lookup's name for a text field", () => {
    // contact.parentcustomerid is displayed as "Company Name" in Dataverse.
    expect(by.get("CompanyName")).toEqual({ source: "parentcustomerid", target: "CompanyName", use: "label" });
  });

  it("never maps reference fields or fields with no plausible column", () => {
    expect(by.has("CompanyId")).toBe(false);
    expect(by.has("Nonsense")).toBe(false);
  });

  it("only proposes type-compatible columns and marks every one as a guess", () => {
    const attrs = new Map(CONTACT.map((a) => [a.logicalName, a]));
    for (const m of result.mappings) {
      const field = PERSON.find((x) => x.name === m.target)!;
      expect(isCompatible(attrs.get(m.source)!, field.type, m.use), `${m.source} → ${m.target}`).toBe(true);
    }
    expect(result.guessed.sort()).toEqual(result.mappings.map((m) => m.target).sort());
  });

  it("keeps existing mappings and does not reuse their columns", () => {
    const again = autoMap(PERSON, CONTACT, [
      { source: "emailaddress2", target: "Email", use: "value" },
      { source: "firstname", target: "LastName", use: "value" },
    ]);
    expect(again.mappings.find((m) => m.target === "Email")?.source).toBe("emailaddress2");
    expect(again.mappings.find((m) => m.target === "FirstName")?.source).not.toBe("firstname");
    expect(again.guessed).not.toContain("Email");
  });
});
