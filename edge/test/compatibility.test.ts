/** The one type-compatibility table (edge/src/contract/compatibility.ts), shared by job validation and the editor. */
import { describe, expect, it } from "vitest";
import { hasLabel, isCompatible, isCompatibleAnyUse, isMappable } from "#contract/compatibility";

describe("type compatibility", () => {
  it("lets option set labels fill text but not numbers", () => {
    expect(isCompatible({ type: "Picklist" }, "string", "label")).toBe(true);
    expect(isCompatible({ type: "Picklist" }, "integer", "label")).toBe(false);
    expect(isCompatible({ type: "Picklist" }, "integer", "value")).toBe(true);
  });

  it("refuses a date for a number field and a money value for a boolean", () => {
    expect(isCompatibleAnyUse({ type: "DateTime" }, "number")).toBe(false);
    expect(isCompatibleAnyUse({ type: "Money" }, "boolean")).toBe(false);
  });

  it("reads a label only from option sets, booleans and lookups", () => {
    expect(hasLabel("Boolean")).toBe(true);
    expect(hasLabel("Owner")).toBe(true);
    expect(hasLabel("String")).toBe(false);
    expect(isCompatible({ type: "String" }, "string", "label")).toBe(false);
  });

  it("treats virtual and party-list columns as unmappable", () => {
    expect(isMappable({ type: "Virtual", readable: true })).toBe(false);
    expect(isMappable({ type: "PartyList", readable: true })).toBe(false);
    expect(isMappable({ type: "String", readable: false })).toBe(false);
    expect(isMappable({ type: "String", readable: true })).toBe(true);
  });
});
