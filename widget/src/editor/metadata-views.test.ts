import { describe, expect, it } from "vitest";
import type { AttributeInfo } from "#contract/metadata";
import { sourceItems } from "./metadata-views";

describe("picker items", () => {
  const attrs: AttributeInfo[] = [
    { logicalName: "lastname", displayName: "Last Name", type: "String", required: "required", readable: true },
    { logicalName: "birthdate", displayName: "Birthday", type: "DateTime", required: "none", readable: true },
  ];

  it("keep their identity while the columns are the same array (the combobox re-indexes on a new one)", () => {
    expect(sourceItems(attrs, "string")).toBe(sourceItems(attrs, "string"));
    expect(sourceItems([...attrs], "string")).not.toBe(sourceItems(attrs, "string"));
  });

  it("list the columns that do not fit a field behind a Show all action", () => {
    expect(sourceItems(attrs, "date").map((i) => i.value)).toEqual(["birthdate", "__show"]);
    expect(sourceItems(attrs, "date", true).map((i) => i.value)).toEqual(["birthdate", "lastname", "__hide"]);
  });
});
