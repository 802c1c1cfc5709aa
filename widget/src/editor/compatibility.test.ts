import { describe, expect, it } from "vitest";
import { isCompatible } from "#contract/compatibility";
import { fieldTypeForAttribute, preferredUse } from "./compatibility";

describe("the editor's type policy", () => {
  it("prefers the label when a choice or lookup fills text", () => {
    expect(preferredUse({ type: "Picklist" }, "string")).toBe("label");
    expect(preferredUse({ type: "Customer" }, "text")).toBe("label");
    expect(preferredUse({ type: "Customer" }, "id")).toBe("value");
    expect(preferredUse({ type: "Integer" }, "string")).toBe("value");
  });

  it("derives field types whose mapping the shared table accepts", () => {
    const types = [
      "String",
      "Memo",
      "Integer",
      "BigInt",
      "Decimal",
      "Double",
      "Money",
      "Boolean",
      "DateTime",
      "Picklist",
      "State",
      "Status",
      "MultiSelectPicklist",
      "Uniqueidentifier",
      "Lookup",
      "Customer",
      "Owner",
      "EntityName",
    ] as const;
    for (const type of types) {
      const t = fieldTypeForAttribute({ type });
      expect(t, type).not.toBeNull();
      expect(isCompatible({ type }, t!.type, t!.use), type).toBe(true);
    }
    expect(fieldTypeForAttribute({ type: "DateTime", format: "DateOnly" })?.type).toBe("date");
    expect(fieldTypeForAttribute({ type: "String", format: "Email" })?.type).toBe("email");
    expect(fieldTypeForAttribute({ type: "Virtual" })).toBeNull();
  });
});
