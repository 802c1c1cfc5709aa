/**
 * The filter section's condition builder: rows of (attribute, operator, value) joined with "and", written as the OData
 * `$filter` text the job stores. The text stays editable; `parseFilter` reads it back when it is still in the
 * builder's shape, otherwise the builder steps aside and the text rules.
 */
import { msg } from "@lit/localize";
import type { AttributeInfo, AttributeType } from "#contract/metadata";

export type FilterOperator = "eq" | "ne" | "gt" | "ge" | "lt" | "le" | "contains" | "startswith" | "endswith" | "null" | "notnull";

export interface FilterCondition {
  attribute: string;
  operator: FilterOperator;
  value: string;
}

export const OPERATORS: ReadonlyArray<{ op: FilterOperator; needsValue: boolean }> = [
  { op: "eq", needsValue: true },
  { op: "ne", needsValue: true },
  { op: "gt", needsValue: true },
  { op: "ge", needsValue: true },
  { op: "lt", needsValue: true },
  { op: "le", needsValue: true },
  { op: "contains", needsValue: true },
  { op: "startswith", needsValue: true },
  { op: "endswith", needsValue: true },
  { op: "null", needsValue: false },
  { op: "notnull", needsValue: false },
];

/** An operator as the builder's select names it, in the widget's language. */
export function operatorLabel(op: FilterOperator): string {
  const labels: Record<FilterOperator, string> = {
    eq: msg("equals"),
    ne: msg("does not equal"),
    gt: msg("greater than"),
    ge: msg("greater than or equal to"),
    lt: msg("less than"),
    le: msg("less than or equal to"),
    contains: msg("contains"),
    startswith: msg("begins with"),
    endswith: msg("ends with"),
    null: msg("is empty"),
    notnull: msg("is not empty"),
  };
  return labels[op];
}

const TEXT_FUNCS = new Set<FilterOperator>(["contains", "startswith", "endswith"]);
const LOOKUPS = new Set<AttributeType>(["Lookup", "Customer", "Owner"]);
const UNQUOTED = new Set<AttributeType>([
  "Integer",
  "BigInt",
  "Decimal",
  "Double",
  "Money",
  "Picklist",
  "State",
  "Status",
  "Boolean",
  "DateTime",
  "Uniqueidentifier",
  "Lookup",
  "Customer",
  "Owner",
]);

/** Operators that make sense for an attribute type. */
export function operatorsFor(type: AttributeType | undefined): FilterOperator[] {
  switch (type) {
    case "String":
    case "Memo":
    case "EntityName":
      return ["eq", "ne", "contains", "startswith", "endswith", "null", "notnull"];
    case "Boolean":
    case "Picklist":
    case "State":
    case "Status":
    case "Uniqueidentifier":
    case "Lookup":
    case "Customer":
    case "Owner":
      return ["eq", "ne", "null", "notnull"];
    case "Integer":
    case "BigInt":
    case "Decimal":
    case "Double":
    case "Money":
    case "DateTime":
      return ["eq", "ne", "gt", "ge", "lt", "le", "null", "notnull"];
    default:
      return ["eq", "ne", "null", "notnull"];
  }
}

/** Lookups are filtered on their `_x_value` property in the Web API. */
export function filterProperty(attr: Pick<AttributeInfo, "logicalName" | "type">): string {
  return LOOKUPS.has(attr.type) ? `_${attr.logicalName}_value` : attr.logicalName;
}

/** An OData literal for a value typed into the builder. Strings are quoted with '' escaping. */
export function literal(type: AttributeType | undefined, raw: string): string {
  const v = raw.trim();
  if (type === "Boolean") return /^(true|yes|1)$/i.test(v) ? "true" : "false";
  if (type && UNQUOTED.has(type)) return v.replace(/^\{|\}$/g, "");
  return `'${raw.replace(/'/g, "''")}'`;
}

/** Is this a value the attribute's type accepts? Returns a message for the admin, or null. */
export function valueError(type: AttributeType | undefined, raw: string): string | null {
  const v = raw.trim();
  if (!v) return msg("Enter a value.");
  switch (type) {
    case "Integer":
    case "BigInt":
    case "Picklist":
    case "State":
    case "Status":
      return /^-?\d+$/.test(v) ? null : msg("Enter a whole number.");
    case "Decimal":
    case "Double":
    case "Money":
      return /^-?\d+(\.\d+)?$/.test(v) ? null : msg("Enter a number (use . for decimals).");
    case "DateTime":
      return /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(v)
        ? null
        : msg("Enter a date as YYYY-MM-DD (or an ISO date-time with a zone).");
    case "Uniqueidentifier":
    case "Lookup":
    case "Customer":
    case "Owner":
      return /^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$/i.test(v) ? null : msg("Enter a record id (a GUID).");
    default:
      return null;
  }
}

/** The OData text of one condition; null when it is incomplete. */
export function conditionToOData(c: FilterCondition, attrs: ReadonlyMap<string, AttributeInfo>): string | null {
  if (!c.attribute) return null;
  const attr = attrs.get(c.attribute);
  const type = attr?.type;
  const prop = attr ? filterProperty(attr) : c.attribute;
  if (c.operator === "null") return `${prop} eq null`;
  if (c.operator === "notnull") return `${prop} ne null`;
  if (valueError(type, c.value)) return null;
  const lit = TEXT_FUNCS.has(c.operator) ? literal("String", c.value) : literal(type, c.value);
  return TEXT_FUNCS.has(c.operator) ? `${c.operator}(${prop},${lit})` : `${prop} ${c.operator} ${lit}`;
}

/** All complete conditions joined with "and"; null when there are none (the job then has no filter). */
export function buildFilter(conditions: readonly FilterCondition[], attrs: ReadonlyMap<string, AttributeInfo>): string | null {
  const parts = conditions.map((c) => conditionToOData(c, attrs)).filter((p): p is string => !!p);
  return parts.length ? parts.join(" and ") : null;
}

/**
 * Read a `$filter` back into conditions when it is a plain "and" of the builder's own shapes; null when it is not
 * (or, groups, functions the builder does not offer) — the caller then shows the text alone.
 */
export function parseFilter(text: string | null | undefined, attrs: ReadonlyMap<string, AttributeInfo>): FilterCondition[] | null {
  const src = (text ?? "").trim();
  if (!src) return [];
  // Split on " and " outside quotes.
  const parts: string[] = [];
  let buf = "";
  let inQuote = false;
  let depth = 0;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i]!;
    if (ch === "'") inQuote = !inQuote;
    else if (!inQuote && ch === "(") depth++;
    else if (!inQuote && ch === ")") depth--;
    if (!inQuote && depth === 0 && /\s/.test(ch)) {
      const m = /^\s+and\s+/i.exec(src.slice(i));
      if (m) {
        parts.push(buf);
        buf = "";
        i += m[0].length - 1;
        continue;
      }
    }
    buf += ch;
  }
  if (inQuote || depth !== 0) return null;
  parts.push(buf);
  const byProp = new Map<string, AttributeInfo>();
  for (const a of attrs.values()) byProp.set(filterProperty(a), a);
  const out: FilterCondition[] = [];
  for (const raw of parts) {
    const p = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^(contains|startswith|endswith)\(\s*([a-z_][a-z0-9_]*)\s*,\s*'((?:[^']|'')*)'\s*\)$/i.exec(p))) {
      const attr = byProp.get(m[2]!);
      out.push({ attribute: attr?.logicalName ?? m[2]!, operator: m[1]!.toLowerCase() as FilterOperator, value: m[3]!.replace(/''/g, "'") });
      continue;
    }
    if ((m = /^([a-z_][a-z0-9_]*)\s+(eq|ne|gt|ge|lt|le)\s+(null|'(?:[^']|'')*'|[^\s()']+)$/i.exec(p))) {
      const attr = byProp.get(m[1]!);
      const op = m[2]!.toLowerCase() as FilterOperator;
      const val = m[3]!;
      if (val.toLowerCase() === "null") {
        if (op !== "eq" && op !== "ne") return null;
        out.push({ attribute: attr?.logicalName ?? m[1]!, operator: op === "eq" ? "null" : "notnull", value: "" });
      } else {
        const unq = val.startsWith("'") ? val.slice(1, -1).replace(/''/g, "'") : val;
        out.push({ attribute: attr?.logicalName ?? m[1]!, operator: op, value: unq });
      }
      continue;
    }
    return null;
  }
  return out;
}
