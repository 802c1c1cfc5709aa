import { describe, expect, it } from "vitest";
import type { TargetObject } from "#contract/object";
import { draftToInput, emptyDraft } from "./job-model";
import { keyLabel, localErrors } from "./validation";

const PERSON: TargetObject = {
  name: "Person",
  label: "Person",
  standard: true,
  createdAt: "2026-01-01T00:00:00Z",
  fields: [{ name: "LastName", label: "Last name", type: "string", required: true }],
};

describe("local checks", () => {
  it("asks for a name, a table and an object before a round-trip", () => {
    const d = emptyDraft("UTC");
    expect(localErrors(draftToInput(d, "c"), d, null).map((e) => e.path)).toEqual(["name", "source.entity", "target.object"]);
  });

  it("asks for the related column of a mapping read through a lookup", () => {
    const d = {
      ...emptyDraft("UTC"),
      name: "J",
      entity: "contact",
      targetObject: "Person",
      mappings: [{ source: "parentcustomerid", target: "LastName", use: "value" as const, via: { entity: "account", attribute: "" } }],
    };
    const sent = { ...draftToInput(d, "c"), mappings: d.mappings };
    expect(localErrors(sent, d, null)).toEqual([{ path: "mappings.0.via.attribute", message: "Choose the column of account to use." }]);
  });
});

describe("error summary", () => {
  it("names a mapping's error by the target field's label", () => {
    expect(keyLabel("mapping:LastName", PERSON)).toBe("Mapping of Last name");
    expect(keyLabel("lookups.0.match.1.source", PERSON)).toBe("Lookup 1, match 2");
  });
});
