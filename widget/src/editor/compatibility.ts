/**
 * The editor's type policy on top of the one compatibility table (edge/src/contract/compatibility.ts, shared with the
 * edge's job validation): which reading a mapping starts with, the field type "Create a custom object from this
 * entity" gives a column, and how types are named and drawn.
 */
import { msg } from "@lit/localize";
import { hasLabel, isCompatible, type Use } from "#contract/compatibility";
import type { AttributeInfo, AttributeType } from "#contract/metadata";
import type { FieldType } from "#contract/object";

/** Option-set-like types: the editor offers the Value / Label choice for these. */
export const OPTION_TYPES: ReadonlySet<AttributeType> = new Set<AttributeType>(["Picklist", "State", "Status", "MultiSelectPicklist", "Boolean"]);

/**
 * The reading that fits best: option sets feeding text read their label ("Technology", not 7); lookups feeding text
 * read the referenced record's name; everything else its value.
 */
export function preferredUse(attr: Pick<AttributeInfo, "type">, field: FieldType): Use {
  const textual = field === "string" || field === "text" || field === "string_list";
  if (textual && hasLabel(attr.type) && isCompatible(attr, field, "label")) return "label";
  return isCompatible(attr, field, "value") ? "value" : "label";
}

/** The target field type a new custom object gets for an attribute ("Create a custom object from this entity"). */
export function fieldTypeForAttribute(attr: Pick<AttributeInfo, "type" | "format">): { type: FieldType; use: Use } | null {
  switch (attr.type) {
    case "String": {
      const f = (attr.format ?? "").toLowerCase();
      if (f === "email") return { type: "email", use: "value" };
      if (f === "url") return { type: "url", use: "value" };
      if (f === "phone") return { type: "phone", use: "value" };
      return { type: "string", use: "value" };
    }
    case "Memo":
      return { type: "text", use: "value" };
    case "Integer":
    case "BigInt":
      return { type: "integer", use: "value" };
    case "Decimal":
    case "Double":
      return { type: "number", use: "value" };
    case "Money":
      return { type: "currency", use: "value" };
    case "Boolean":
      return { type: "boolean", use: "value" };
    case "DateTime":
      return { type: attr.format === "DateOnly" ? "date" : "datetime", use: "value" };
    case "Picklist":
    case "State":
    case "Status":
      return { type: "string", use: "label" };
    case "MultiSelectPicklist":
      return { type: "string_list", use: "label" };
    case "Uniqueidentifier":
      return { type: "id", use: "value" };
    case "Lookup":
    case "Customer":
    case "Owner":
      return { type: "string", use: "label" };
    case "EntityName":
      return { type: "string", use: "value" };
    default:
      return null;
  }
}

/** A short glyph and a spoken name per attribute type, for the source picker's type icons. */
export function typeIcon(type: AttributeType): { glyph: string; name: string } {
  switch (type) {
    case "String":
      return { glyph: "Aa", name: msg("Text") };
    case "Memo":
      return { glyph: "¶", name: msg("Multiline text") };
    case "Integer":
    case "BigInt":
      return { glyph: "#", name: msg("Whole number") };
    case "Decimal":
    case "Double":
      return { glyph: "1.5", name: msg("Decimal number") };
    case "Money":
      return { glyph: "$", name: msg("Currency") };
    case "Boolean":
      return { glyph: "✓✗", name: msg("Yes/No") };
    case "DateTime":
      return { glyph: "📅", name: msg("Date and time") };
    case "Picklist":
    case "State":
    case "Status":
      return { glyph: "☰", name: msg("Choice") };
    case "MultiSelectPicklist":
      return { glyph: "☷", name: msg("Choices") };
    case "Uniqueidentifier":
      return { glyph: "ID", name: msg("Unique identifier") };
    case "Lookup":
    case "Owner":
      return { glyph: "↗", name: msg("Lookup") };
    case "Customer":
      return { glyph: "👤", name: msg("Customer") };
    default:
      return { glyph: "?", name: type };
  }
}

/** Human name of a target field type. */
export function fieldTypeLabel(t: FieldType): string {
  const names: Record<FieldType, string> = {
    string: msg("Text"),
    text: msg("Long text"),
    integer: msg("Whole number"),
    number: msg("Number"),
    currency: msg("Currency"),
    boolean: msg("Yes/No"),
    date: msg("Date"),
    datetime: msg("Date and time"),
    email: msg("Email"),
    url: "URL",
    phone: msg("Phone"),
    id: "ID",
    reference: msg("Reference"),
    string_list: msg("List of text"),
  };
  return names[t] ?? t;
}
