import { describe, expect, it } from "vitest";
import type { AttributeInfo } from "#contract/metadata";
import { buildFilter, conditionToOData, operatorsFor, parseFilter, valueError } from "./filter-builder";

const a = (logicalName: string, type: AttributeInfo["type"]): AttributeInfo => ({
  logicalName,
  displayName: logicalName,
  type,
  required: "none",
  readable: true,
});
const ATTRS = new Map(
  [
    a("name", "String"),
    a("statecode", "State"),
    a("revenue", "Money"),
    a("parentaccountid", "Lookup"),
    a("createdon", "DateTime"),
    a("donotemail", "Boolean"),
  ].map((x) => [x.logicalName, x]),
);

describe("filter builder", () => {
  it("writes conditions as OData joined with and", () => {
    expect(
      buildFilter(
        [
          { attribute: "statecode", operator: "eq", value: "0" },
          { attribute: "name", operator: "startswith", value: "Contoso" },
          { attribute: "revenue", operator: "gt", value: "1000.5" },
        ],
        ATTRS,
      ),
    ).toBe("statecode eq 0 and startswith(name,'Contoso') and revenue gt 1000.5");
  });

  it("escapes quotes in text values", () => {
    expect(conditionToOData({ attribute: "name", operator: "eq", value: "O'Neil" }, ATTRS)).toBe("name eq 'O''Neil'");
  });

  it("filters lookups on their _value property and strips braces from ids", () => {
    expect(conditionToOData({ attribute: "parentaccountid", operator: "eq", value: "{6A9B2C4E-1111-2222-3333-444455556666}" }, ATTRS)).toBe(
      "_parentaccountid_value eq 6A9B2C4E-1111-2222-3333-444455556666",
    );
  });

  it("writes empty / not empty as null comparisons", () => {
    expect(conditionToOData({ attribute: "createdon", operator: "null", value: "" }, ATTRS)).toBe("createdon eq null");
    expect(conditionToOData({ attribute: "createdon", operator: "notnull", value: "" }, ATTRS)).toBe("createdon ne null");
  });

  it("leaves out incomplete or invalid conditions", () => {
    expect(
      buildFilter(
        [
          { attribute: "revenue", operator: "gt", value: "lots" },
          { attribute: "", operator: "eq", value: "1" },
        ],
        ATTRS,
      ),
    ).toBeNull();
    expect(valueError("Money", "lots")).toMatch(/number/);
    expect(valueError("DateTime", "2026-01-31")).toBeNull();
  });

  it("reads its own output back", () => {
    const conds = [
      { attribute: "statecode", operator: "eq" as const, value: "0" },
      { attribute: "name", operator: "contains" as const, value: "a and b's" },
      { attribute: "parentaccountid", operator: "null" as const, value: "" },
      { attribute: "donotemail", operator: "eq" as const, value: "false" },
    ];
    const text = buildFilter(conds, ATTRS)!;
    expect(parseFilter(text, ATTRS)).toEqual(conds);
  });

  it("gives up on filters the builder cannot show", () => {
    expect(parseFilter("statecode eq 0 or statecode eq 1", ATTRS)).toBeNull();
    expect(parseFilter("(statecode eq 0)", ATTRS)).toBeNull();
    expect(parseFilter("name eq 'unterminated", ATTRS)).toBeNull();
    expect(parseFilter("", ATTRS)).toEqual([]);
  });

  it("offers text operators only for text columns", () => {
    expect(operatorsFor("String")).toContain("contains");
    expect(operatorsFor("Money")).not.toContain("contains");
    expect(operatorsFor("Picklist")).not.toContain("gt");
  });
});
