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
  /** The row's primary id (`<entity>id`), lower-case. */
  sourceId: string;
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
function sourceIdOf(entity: string, row: Record<string, unknown>): string {
  const v = row[`${entity}id`];
  return typeof v === "string" ? v.toLowerCase() : "";
}

function labelFromOptions(attr: AttributeInfo | undefined, v: unknown): string | undefined {
  const opt = attr?.options?.find((o) => o.value === (typeof v === "boolean" ? (v ? 1 : 0) : Number(v)));
  return opt?.label;
}

type FieldTypeInfo = { type: FieldType; required: boolean };

/** One mapping, with what every row needs worked out once: where its value sits, its label annotation, its target type. */
interface MappingStep {
  mapping: Pick<Mapping, "source" | "target" | "via" | "use">;
  attr: AttributeInfo | undefined;
  /** Direct mappings: the row's key and its FormattedValue key. */
  key: string;
  formattedKey: string;
  /** Through-lookup mappings: the navigation property and the attribute's keys in the expanded record. */
  nav: string;
  viaKeys: { plain: string; lookup: string; formattedPlain: string; formattedLookup: string } | null;
  isMulti: boolean;
  sourceName: string;
  ft: FieldTypeInfo | undefined;
}

/** A mapping's value could not be extracted (only ever created for a problem, never a row's value). */
class ExtractFailure {
  constructor(readonly error: string) {}
}

/** Extracts the raw value for one mapping (value or label, direct or through a lookup). */
function extractValue(s: MappingStep, row: Record<string, unknown>): unknown {
  let holder: Record<string, unknown> = row;
  let key = s.key;
  let formattedKey = s.formattedKey;
  if (s.viaKeys) {
    const expanded = row[s.nav];
    if (expanded === null || expanded === undefined) return null;
    if (typeof expanded !== "object" || Array.isArray(expanded)) return new ExtractFailure(`unexpected value of ${s.nav}`);
    holder = expanded as Record<string, unknown>;
    const plain = s.viaKeys.plain in holder;
    key = plain ? s.viaKeys.plain : s.viaKeys.lookup;
    formattedKey = plain ? s.viaKeys.formattedPlain : s.viaKeys.formattedLookup;
  }
  const raw = holder[key];
  if (raw === null || raw === undefined) return null;
  if (s.mapping.use === "label") {
    const formatted = holder[formattedKey];
    if (typeof formatted === "string") return s.isMulti ? formatted.split(/;\s*/).filter(Boolean) : formatted;
    if (!s.viaKeys) {
      if (s.isMulti) {
        const labels = String(raw)
          .split(",")
          .map((p) => labelFromOptions(s.attr, p.trim()));
        if (labels.every((l) => l !== undefined)) return labels;
      } else {
        const l = labelFromOptions(s.attr, raw);
        if (l !== undefined) return l;
      }
    }
    return new ExtractFailure("no label (FormattedValue) for this value");
  }
  if (s.isMulti) {
    return typeof raw === "string"
      ? raw
          .split(",")
          .map((p) => p.trim())
          .filter(Boolean)
          .map(Number)
      : raw;
  }
  return raw;
}

/**
 * A job's mapping compiled against the table's attributes and the target's field types: keys, annotations and types
 * are worked out once (a page's rows share them), not per row and field. `object` gives target field types (conversion
 * per type); without it values pass through as read. Identifiers are included as fields. Every problem is a per-record
 * error naming the target field and the value.
 */
export function compileMapping(
  job: Pick<Job, "source" | "identifiers" | "mappings">,
  attributes: AttributeInfo[],
  object?: Pick<TargetObject, "fields">,
): (row: Record<string, unknown>) => MappedRecord {
  const byName = new Map(attributes.map((a) => [a.logicalName, a]));
  const fieldTypes = new Map<string, FieldTypeInfo>((object?.fields ?? []).map((f) => [f.name, { type: f.type, required: f.required }]));
  const required = [...fieldTypes].filter(([, ft]) => ft.required).map(([name]) => name);
  const identifiers = job.identifiers.map((id) => ({
    source: id.source,
    target: id.target,
    key: rowKey(byName.get(id.source), id.source),
    ft: fieldTypes.get(id.target),
  }));
  const steps: MappingStep[] = job.mappings.map((m) => {
    const attr = byName.get(m.source);
    const key = rowKey(attr, m.source);
    const viaKeys = m.via
      ? {
          plain: m.via.attribute,
          lookup: `_${m.via.attribute}_value`,
          formattedPlain: `${m.via.attribute}${FORMATTED}`,
          formattedLookup: `_${m.via.attribute}_value${FORMATTED}`,
        }
      : null;
    return {
      mapping: m,
      attr,
      key,
      formattedKey: `${key}${FORMATTED}`,
      nav: navigationProperty(attr, m),
      viaKeys,
      isMulti: !m.via && attr?.type === "MultiSelectPicklist",
      sourceName: m.via ? `${m.source}.${m.via.attribute}` : m.source,
      ft: fieldTypes.get(m.target),
    };
  });
  const entity = job.source.entity;

  return (row) => {
    const sourceId = sourceIdOf(entity, row);
    const fields: Record<string, unknown> = {};
    const errors: RunRecordError[] = [];
    const put = (target: string, ft: FieldTypeInfo | undefined, value: unknown, sourceName: string): void => {
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
    for (const id of identifiers) {
      const v = row[id.key];
      if (v === null || v === undefined || v === "") {
        errors.push({ sourceId, field: id.target, value: null, reason: `identifier ${id.source} is empty` });
        continue;
      }
      put(id.target, id.ft, v, id.source);
    }
    for (const s of steps) {
      const value = extractValue(s, row);
      if (value instanceof ExtractFailure) {
        errors.push({ sourceId, field: s.mapping.target, value: null, reason: `${s.mapping.source}: ${value.error}` });
        continue;
      }
      put(s.mapping.target, s.ft, value, s.sourceName);
    }
    for (const name of required) {
      if (name in fields && (fields[name] === null || fields[name] === "")) {
        errors.push({ sourceId, field: name, value: null, reason: "required field is empty" });
      }
    }
    return { sourceId, fields, errors };
  };
}

/** Maps one row (the previews; a page's rows share one `compileMapping`). */
export function mapRecord(
  job: Pick<Job, "source" | "identifiers" | "mappings">,
  attributes: AttributeInfo[],
  row: Record<string, unknown>,
  object?: Pick<TargetObject, "fields">,
): MappedRecord {
  return compileMapping(job, attributes, object)(row);
}
