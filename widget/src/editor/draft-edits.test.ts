import { describe, expect, it } from "vitest";
import type { EntityInfo } from "#contract/metadata";
import type { TargetObject } from "#contract/object";
import { withEntity, withMapping, withObject } from "./draft-edits";
import { emptyDraft } from "./job-model";

const entity = (logicalName: string, displayName: string): EntityInfo => ({
  logicalName,
  displayName,
  entitySetName: `${logicalName}s`,
  primaryIdAttribute: `${logicalName}id`,
  primaryNameAttribute: "name",
  isCustom: false,
  changeTracking: true,
});
const ENTITIES = [entity("account", "Account"), entity("contact", "Contact")];
const PERSON: TargetObject = {
  name: "Person",
  label: "Person",
  standard: true,
  createdAt: "2026-01-01T00:00:00Z",
  fields: [
    { name: "DynamicsId", label: "Dynamics ID", type: "id", required: true, unique: true },
    { name: "LastName", label: "Last name", type: "string", required: true },
  ],
};
const ctx = { entities: ENTITIES, objects: [PERSON] };

describe("draft edits", () => {
  it("a new source table clears what named the old one's columns and moves an id identifier to the new id column", () => {
    const d = {
      ...emptyDraft("UTC"),
      entity: "account",
      targetObject: "Person",
      filter: "statecode eq 0",
      name: "Account → Person",
      mappings: [{ source: "name", target: "LastName", use: "value" as const }],
      review: ["LastName"],
      identifiers: [{ source: "accountid", target: "DynamicsId" }],
    };
    const next = withEntity(d, "contact", ctx);
    expect(next).toMatchObject({ entity: "contact", mappings: [], review: [], filter: "", name: "Contact → Person" });
    expect(next.identifiers).toEqual([{ source: "contactid", target: "DynamicsId" }]);
  });

  it("keeps a job name the admin typed when the source or target changes", () => {
    const d = { ...emptyDraft("UTC"), entity: "contact", name: "People sync" };
    expect(withObject(d, "Person", ctx).name).toBe("People sync");
  });

  it("a target object with a unique id field gets it as the identifier, fed by the table's id column", () => {
    const next = withObject({ ...emptyDraft("UTC"), entity: "contact" }, "Person", ctx);
    expect(next.identifiers).toEqual([{ source: "contactid", target: "DynamicsId" }]);
    expect(next.name).toBe("Contact → Person");
  });

  it("setting a mapping replaces the field's row in place and takes it off the review list", () => {
    const d = {
      ...emptyDraft("UTC"),
      mappings: [
        { source: "a", target: "X", use: "value" as const },
        { source: "b", target: "Y", use: "value" as const },
      ],
      review: ["X"],
    };
    const next = withMapping(d, "X", { source: "c", target: "X", use: "label" });
    expect(next.mappings.map((m) => m.source)).toEqual(["c", "b"]);
    expect(next.review).toEqual([]);
    expect(withMapping(next, "Y", null).mappings.map((m) => m.target)).toEqual(["X"]);
  });
});
