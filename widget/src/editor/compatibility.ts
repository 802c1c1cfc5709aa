/**
 * Which Dataverse attribute types may feed which target field types — the one table the editor (source picker hints,
 * auto-map, "Create a custom object from this entity") and the edge's job validation share. Keep it dependency-free
 * (type-only imports) so the edge can import it as is.
 */
import type { AttributeInfo, AttributeType } from "../../../edge/src/contract/metadata.js";
import type { FieldType } from "../../../edge/src/contract/object.js";

export type Use = "value" | "label";

/** Attribute types that point at another record: they can be followed "through lookup". */
export const LOOKUP_TYPES: ReadonlySet<AttributeType> = new Set<AttributeType>(["Lookup", "Customer", "Owner"]);

/** Option-set-like types: the editor offers the Value / Label choice for these. */
export const OPTION_TYPES: ReadonlySet<AttributeType> = new Set<AttributeType>(["Picklist", "State", "Status", "MultiSelectPicklist", "Boolean"]);

/**
 * The table, identical to the edge's (`COMPATIBILITY` in edge/src/routes/job-validation.ts — a unit test pins the two
 * copies to the same rows). `value` is the raw value; `label` is Dataverse's FormattedValue. Types not listed
 * (PartyList, Virtual, Other) cannot be mapped.
 *
 * | Dataverse type          | use = value                         | use = label             |
 * |-------------------------|-------------------------------------|-------------------------|
 * | String                  | string text email url phone id      | —                       |
 * | Memo                    | text string                         | —                       |
 * | Integer, BigInt         | integer number currency string      | —                       |
 * | Decimal, Double         | number currency string              | —                       |
 * | Money                   | currency number string              | —                       |
 * | Boolean                 | boolean integer string              | string text             |
 * | DateTime                | datetime date string                | —                       |
 * | Picklist, State, Status | integer string                      | string text             |
 * | MultiSelectPicklist     | string_list string text             | string_list string text |
 * | Lookup, Customer, Owner | id string                           | string text             |
 * | Uniqueidentifier        | id string                           | —                       |
 * | EntityName              | string                              | —                       |
 */
export const COMPATIBILITY: Partial<Record<AttributeType, { value: FieldType[]; label?: FieldType[] }>> = {
  String: { value: ["string", "text", "email", "url", "phone", "id"] },
  Memo: { value: ["text", "string"] },
  Integer: { value: ["integer", "number", "currency", "string"] },
  BigInt: { value: ["integer", "number", "currency", "string"] },
  Decimal: { value: ["number", "currency", "string"] },
  Double: { value: ["number", "currency", "string"] },
  Money: { value: ["currency", "number", "string"] },
  Boolean: { value: ["boolean", "integer", "string"], label: ["string", "text"] },
  DateTime: { value: ["datetime", "date", "string"] },
  Picklist: { value: ["integer", "string"], label: ["string", "text"] },
  State: { value: ["integer", "string"], label: ["string", "text"] },
  Status: { value: ["integer", "string"], label: ["string", "text"] },
  MultiSelectPicklist: { value: ["string_list", "string", "text"], label: ["string_list", "string", "text"] },
  Lookup: { value: ["id", "string"], label: ["string", "text"] },
  Customer: { value: ["id", "string"], label: ["string", "text"] },
  Owner: { value: ["id", "string"], label: ["string", "text"] },
  Uniqueidentifier: { value: ["id", "string"] },
  EntityName: { value: ["string"] },
};

/** Does this attribute type have a label reading at all? */
export function hasLabel(type: AttributeType): boolean {
  return !!COMPATIBILITY[type]?.label;
}

/** Can `attr` (read as `use`) fill a target field of type `field`? */
export function isCompatible(attr: Pick<AttributeInfo, "type">, field: FieldType, use: Use = "value"): boolean {
  const row = COMPATIBILITY[attr.type];
  if (!row) return false;
  const allowed = use === "label" ? row.label : row.value;
  return !!allowed?.includes(field);
}

/** Compatible with either reading — what the source picker uses to decide what to hide behind "show all". */
export function isCompatibleAnyUse(attr: Pick<AttributeInfo, "type">, field: FieldType): boolean {
  return isCompatible(attr, field, "value") || isCompatible(attr, field, "label");
}

/**
 * The reading that fits best: option sets feeding text read their label ("Technology", not 7); lookups feeding text
 * read the referenced record's name; everything else its value.
 */
export function preferredUse(attr: Pick<AttributeInfo, "type">, field: FieldType): Use {
  const textual = field === "string" || field === "text" || field === "string_list";
  if (textual && hasLabel(attr.type) && isCompatible(attr, field, "label")) return "label";
  return isCompatible(attr, field, "value") ? "value" : "label";
}

/** Attributes that can be mapped at all (readable, and of a type with a conversion). */
export function isMappable(attr: Pick<AttributeInfo, "type" | "readable">): boolean {
  return attr.readable !== false && !!COMPATIBILITY[attr.type];
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
    case "Memo": return { type: "text", use: "value" };
    case "Integer": case "BigInt": return { type: "integer", use: "value" };
    case "Decimal": case "Double": return { type: "number", use: "value" };
    case "Money": return { type: "currency", use: "value" };
    case "Boolean": return { type: "boolean", use: "value" };
    case "DateTime": return { type: attr.format === "DateOnly" ? "date" : "datetime", use: "value" };
    case "Picklist": case "State": case "Status": return { type: "string", use: "label" };
    case "MultiSelectPicklist": return { type: "string_list", use: "label" };
    case "Uniqueidentifier": return { type: "id", use: "value" };
    case "Lookup": case "Customer": case "Owner": return { type: "string", use: "label" };
    case "EntityName": return { type: "string", use: "value" };
    default: return null;
  }
}

/** A short glyph and a spoken name per attribute type, for the source picker's type icons. */
export function typeIcon(type: AttributeType): { glyph: string; name: string } {
  switch (type) {
    case "String": return { glyph: "Aa", name: "Text" };
    case "Memo": return { glyph: "¶", name: "Multiline text" };
    case "Integer": case "BigInt": return { glyph: "#", name: "Whole number" };
    case "Decimal": case "Double": return { glyph: "1.5", name: "Decimal number" };
    case "Money": return { glyph: "$", name: "Currency" };
    case "Boolean": return { glyph: "✓✗", name: "Yes/No" };
    case "DateTime": return { glyph: "📅", name: "Date and time" };
    case "Picklist": case "State": case "Status": return { glyph: "☰", name: "Choice" };
    case "MultiSelectPicklist": return { glyph: "☷", name: "Choices" };
    case "Uniqueidentifier": return { glyph: "ID", name: "Unique identifier" };
    case "Lookup": case "Owner": return { glyph: "↗", name: "Lookup" };
    case "Customer": return { glyph: "👤", name: "Customer" };
    default: return { glyph: "?", name: type };
  }
}

/** Human name of a target field type. */
export function fieldTypeLabel(t: FieldType): string {
  const names: Record<FieldType, string> = {
    string: "Text", text: "Long text", integer: "Whole number", number: "Number", currency: "Currency",
    boolean: "Yes/No", date: "Date", datetime: "Date and time", email: "Email", url: "URL", phone: "Phone",
    id: "ID", reference: "Reference", string_list: "List of text",
  };
  return names[t] ?? t;
}
