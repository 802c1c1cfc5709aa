import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { COMPATIBILITY, fieldTypeForAttribute, isCompatible, isCompatibleAnyUse, isMappable, preferredUse } from "./compatibility.js";

describe("type compatibility", () => {
  it("is the same table as the edge's job validation", () => {
    // The edge keeps its copy in a module the widget cannot import (it pulls in Worker stores); compare the source rows.
    const src = readFileSync(fileURLToPath(new URL("../../../edge/src/routes/job-validation.ts", import.meta.url)), "utf8");
    const block = /export const COMPATIBILITY[^=]*=\s*\{([\s\S]*?)\n\};/.exec(src)?.[1];
    expect(block, "COMPATIBILITY table not found in edge/src/routes/job-validation.ts").toBeTruthy();
    const edge: Record<string, { value: string[]; label?: string[] }> = {};
    for (const m of block!.matchAll(/(\w+):\s*\{\s*value:\s*\[([^\]]*)\](?:,\s*label:\s*\[([^\]]*)\])?\s*\}/g)) {
      const list = (s: string) => s.split(",").map((x) => x.trim().replace(/"/g, "")).filter(Boolean);
      edge[m[1]!] = { value: list(m[2]!), ...(m[3] !== undefined ? { label: list(m[3]) } : {}) };
    }
    expect(edge).toEqual(JSON.parse(JSON.stringify(COMPATIBILITY)));
  });

  it("lets option set labels fill text but not numbers", () => {
    expect(isCompatible({ type: "Picklist" }, "string", "label")).toBe(true);
    expect(isCompatible({ type: "Picklist" }, "integer", "label")).toBe(false);
    expect(isCompatible({ type: "Picklist" }, "integer", "value")).toBe(true);
  });

  it("refuses a date for a number field and a money value for a boolean", () => {
    expect(isCompatibleAnyUse({ type: "DateTime" }, "number")).toBe(false);
    expect(isCompatibleAnyUse({ type: "Money" }, "boolean")).toBe(false);
  });

  it("treats virtual and party-list columns as unmappable", () => {
    expect(isMappable({ type: "Virtual", readable: true })).toBe(false);
    expect(isMappable({ type: "PartyList", readable: true })).toBe(false);
    expect(isMappable({ type: "String", readable: false })).toBe(false);
    expect(isMappable({ type: "String", readable: true })).toBe(true);
  });

  it("prefers the label when a choice or lookup fills text", () => {
    expect(preferredUse({ type: "Picklist" }, "string")).toBe("label");
    expect(preferredUse({ type: "Customer" }, "text")).toBe("label");
    expect(preferredUse({ type: "Customer" }, "id")).toBe("value");
    expect(preferredUse({ type: "Integer" }, "string")).toBe("value");
  });

  it("derives field types whose mapping the table accepts", () => {
    const types = ["String", "Memo", "Integer", "BigInt", "Decimal", "Double", "Money", "Boolean", "DateTime", "Picklist", "State", "Status", "MultiSelectPicklist", "Uniqueidentifier", "Lookup", "Customer", "Owner", "EntityName"] as const;
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
