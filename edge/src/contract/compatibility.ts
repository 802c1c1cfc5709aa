/**
 * Which Dataverse attribute types may feed which target field types — the one table the edge's job validation, the
 * sync engine and the widget's editor (source picker, auto-map) agree on. Pure and dependency-free (type-only
 * imports): the Worker and the browser both import it at run time.
 */
import type { AttributeInfo, AttributeType } from "./metadata";
import type { FieldType } from "./object";

/** How a mapping reads a column: its raw value, or Dataverse's FormattedValue (the display text). */
export type Use = "value" | "label";

/** Attribute types that point at another record: their value is `_x_value`, and they can be followed "through lookup". */
export const LOOKUP_TYPES: ReadonlySet<AttributeType> = new Set<AttributeType>(["Lookup", "Customer", "Owner"]);

/**
 * `value` is the raw value; `label` is Dataverse's FormattedValue (option sets, booleans, lookups: the display text).
 * Types not listed (PartyList, Virtual, Other) can't be mapped.
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

/** Compatible with either reading. */
export function isCompatibleAnyUse(attr: Pick<AttributeInfo, "type">, field: FieldType): boolean {
  return isCompatible(attr, field, "value") || isCompatible(attr, field, "label");
}

/** Attributes that can be mapped at all (readable, and of a type with a conversion). */
export function isMappable(attr: Pick<AttributeInfo, "type" | "readable">): boolean {
  return attr.readable !== false && !!COMPATIBILITY[attr.type];
}
