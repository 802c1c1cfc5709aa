/**
 * Maps one Dataverse row (with `odata.include-annotations="*"`) to target fields. Pure: no I/O; lookups to target
 * records are resolved separately (sync/lookups.ts). Used by the sync engine and by the previews (POST /jobs/:id/preview, /jobs/preview).
 */
import { LOOKUP_TYPES } from "#contract/compatibility";
import type { AttributeInfo } from "#contract/metadata";
import type { Job, Mapping } from "#contract/job";
import type { FieldType, TargetObject } from "#contract/object";
import type { RunRecordError } from "#contract/run";
import { convertValue, printable } from "./convert";

const FORMATTED = "@OData.Community.Display.V1.FormattedValue";

interface MappedRecord {
  fields: Record<string, unknown>;
  errors: RunRecordError[];
}

/** Where a (non-via) attribute's value sits in a row: lookups are `_x_value`. */
export function rowKey(attr: AttributeInfo | undefined, logicalName: string): string {
  return attr && LOOKUP_TYPES.has(attr.type) ? `_${logicalName}_value` : logicalName;
}

/** The single-valued navigation property for a through-lookup mapping (Customer: `parentcustomerid_account`). */
export function navigationProperty(attr: AttributeInfo | undefined, mapping: Pick<Mapping, "source" | "via">): string {
  if (attr && (attr.type === "Customer" || (attr.targets?.length ?? 0) > 1) && mapping.via) return `${mapping.source}_${mapping.via.entity}`;
  return mapping.source;
}

/** The source row's primary id (`<entity>id`), lower-case. */
export function sourceIdOf(entity: string, row: Record<string, unknown>): string {
  const v = row[`${entity}id`];
  return typeof v === "string" ? v.toLowerCase() : "";
}

function labelFromOptions(attr: AttributeInfo | undefined, v: unknown): string | undefined {
  const opt = attr?.options?.find((o) => o.value === (typeof v === "boolean" ? (v ? 1 : 0) : Number(v)));
  return opt?.label;
}

/** Extracts the raw value for one mapping (value or label, direct or through a lookup). */
function extractValue(
  mapping: Pick<Mapping, "source" | "via" | "use">,
  attr: AttributeInfo | undefined,
  row: Record<string, unknown>,
): { value: unknown; error?: string } {
  let holder: Record<string, unknown> = row;
  let key: string;
  if (mapping.via) {
    const nav = navigationProperty(attr, mapping);
    const expanded = row[nav];
    if (expanded === null || expanded === undefined) return { value: null };
    if (typeof expanded !== "object" || Array.isArray(expanded)) return { value: null, error: `unexpected value of ${nav}` };
    holder = expanded as Record<string, unknown>;
    key = mapping.via.attribute in holder ? mapping.via.attribute : `_${mapping.via.attribute}_value`;
  } else {
    key = rowKey(attr, mapping.source);
  }
  const raw = holder[key];
  if (raw === null || raw === undefined) return { value: null };
  const isMulti = !mapping.via && attr?.type === "MultiSelectPicklist";
  if (mapping.use === "label") {
    const formatted = holder[`${key}${FORMATTED}`];
    if (typeof formatted === "string") return { value: isMulti ? formatted.split(/;\s*/).filter(Boolean) : formatted };
    if (!mapping.via) {
      if (isMulti) {
        const labels = String(raw)
          .split(",")
          .map((p) => labelFromOptions(attr, p.trim()));
        if (labels.every((l) => l !== undefined)) return { value: labels };
      } else {
        const l = labelFromOptions(attr, raw);
        if (l !== undefined) return { value: l };
      }
    }
    return { value: null, error: "no label (FormattedValue) for this value" };
  }
  if (isMulti) {
    return {
      value:
        typeof raw === "string"
          ? raw
              .split(",")
              .map((p) => p.trim())
              .filter(Boolean)
              .map(Number)
          : raw,
    };
  }
  return { value: raw };
}

// mapRecord runs for every row of a page with the same attribute list and object: their lookup maps are built once
// per list (by identity), not per row. Entries go with their (immutable, per-run) lists.
const byNameCache = new WeakMap<AttributeInfo[], Map<string, AttributeInfo>>();
const fieldTypeCache = new WeakMap<object, Map<string, { type: FieldType; required: boolean }>>();
const NO_FIELDS = new Map<string, { type: FieldType; required: boolean }>();

function attributesByName(attributes: AttributeInfo[]): Map<string, AttributeInfo> {
  let m = byNameCache.get(attributes);
  if (!m) byNameCache.set(attributes, (m = new Map(attributes.map((a) => [a.logicalName, a]))));
  return m;
}

function fieldTypesOf(fields: TargetObject["fields"] | undefined): Map<string, { type: FieldType; required: boolean }> {
  if (!fields) return NO_FIELDS;
  let m = fieldTypeCache.get(fields);
  if (!m) fieldTypeCache.set(fields, (m = new Map(fields.map((f) => [f.name, { type: f.type, required: f.required }]))));
  return m;
}

/**
 * Maps one row. `object` gives target field types (conversion per type); without it values pass through as read.
 * Identifiers are included as fields. Every problem is a per-record error naming the target field and the value.
 */
export function mapRecord(
  job: Pick<Job, "source" | "identifiers" | "mappings">,
  attributes: AttributeInfo[],
  row: Record<string, unknown>,
  object?: Pick<TargetObject, "fields">,
): MappedRecord {
  const byName = attributesByName(attributes);
  const fieldTypes = fieldTypesOf(object?.fields);
  const sourceId = sourceIdOf(job.source.entity, row);
  const fields: Record<string, unknown> = {};
  const errors: RunRecordError[] = [];
  const put = (target: string, value: unknown, sourceName: string) => {
    const ft = fieldTypes.get(target);
    if (!ft) {
      fields[target] = value ?? null;
      return;
    }
    const c = convertValue(value, ft.type);
    if (!c.ok) {
      errors.push({ sourceId, field: target, value: printable(value), reason: `${sourceName}: ${c.reason} (target type ${ft.type})` });
      return;
    }
    fields[target] = c.value;
  };

  for (const id of job.identifiers) {
    const attr = byName.get(id.source);
    const v = row[rowKey(attr, id.source)];
    if (v === null || v === undefined || v === "") {
      errors.push({ sourceId, field: id.target, value: null, reason: `identifier ${id.source} is empty` });
      continue;
    }
    put(id.target, v, id.source);
  }
  for (const m of job.mappings) {
    const attr = byName.get(m.source);
    const { value, error } = extractValue(m, attr, row);
    if (error) {
      errors.push({ sourceId, field: m.target, value: null, reason: `${m.source}: ${error}` });
      continue;
    }
    put(m.target, value, m.via ? `${m.source}.${m.via.attribute}` : m.source);
  }
  for (const [name, ft] of fieldTypes) {
    if (ft.required && name in fields && (fields[name] === null || fields[name] === "")) {
      errors.push({ sourceId, field: name, value: null, reason: "required field is empty" });
    }
  }
  return { fields, errors };
}
