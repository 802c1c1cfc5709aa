/**
 * Dataverse metadata wire format (EntityDefinitions, AttributeMetadata and its derived types, read with casts)
 * parsed with zod at the boundary and normalised into contract/metadata.ts types.
 */
import { z } from "zod";
import type { AttributeInfo, AttributeType, EntityInfo } from "#contract/metadata";

const Label = z
  .object({
    UserLocalizedLabel: z.object({ Label: z.string().nullable().optional() }).nullable().optional(),
    LocalizedLabels: z.array(z.object({ Label: z.string().nullable().optional() })).optional(),
  })
  .nullable()
  .optional();
type Label = z.infer<typeof Label>;

function labelText(l: Label, fallback: string): string {
  return l?.UserLocalizedLabel?.Label || l?.LocalizedLabels?.[0]?.Label || fallback;
}

const Managed = <T extends z.ZodType>(inner: T) =>
  z
    .union([z.object({ Value: inner }).passthrough(), inner])
    .nullable()
    .optional();
const managedValue = <T>(v: { Value: T } | T | null | undefined): T | undefined =>
  v !== null && typeof v === "object" && "Value" in (v as object) ? (v as { Value: T }).Value : ((v ?? undefined) as T | undefined);

const EntityDefinitionRow = z
  .object({
    LogicalName: z.string(),
    EntitySetName: z.string().nullable().optional(),
    DisplayName: Label,
    PrimaryIdAttribute: z.string().nullable().optional(),
    PrimaryNameAttribute: z.string().nullable().optional(),
    IsCustomEntity: z.boolean().nullable().optional(),
    ChangeTrackingEnabled: z.boolean().nullable().optional(),
  })
  .passthrough();
export const EntityDefinitionsResponse = z.object({ value: z.array(EntityDefinitionRow) });

export function normalizeEntities(rows: z.infer<typeof EntityDefinitionRow>[]): EntityInfo[] {
  return rows
    .filter((r) => r.EntitySetName) // entities without a set (intersect-less internals) can't be read through the Web API
    .map((r) => ({
      logicalName: r.LogicalName,
      entitySetName: r.EntitySetName!,
      displayName: labelText(r.DisplayName, r.LogicalName),
      primaryIdAttribute: r.PrimaryIdAttribute ?? `${r.LogicalName}id`,
      primaryNameAttribute: r.PrimaryNameAttribute || null,
      isCustom: r.IsCustomEntity === true,
      changeTracking: r.ChangeTrackingEnabled === true,
    }))
    .sort((a, b) => a.displayName.localeCompare(b.displayName) || a.logicalName.localeCompare(b.logicalName));
}

const AttributeRow = z
  .object({
    LogicalName: z.string(),
    AttributeType: z.union([z.string(), z.number()]).nullable().optional(),
    AttributeTypeName: z.object({ Value: z.string().nullable().optional() }).nullable().optional(),
    DisplayName: Label,
    RequiredLevel: Managed(z.string()),
    IsValidForRead: z.boolean().nullable().optional(),
    AttributeOf: z.string().nullable().optional(),
  })
  .passthrough();
export const AttributesResponse = z.object({ value: z.array(AttributeRow) });

const LookupRow = z.object({ LogicalName: z.string(), Targets: z.array(z.string()).nullable().optional() }).passthrough();
export const LookupsResponse = z.object({ value: z.array(LookupRow) });

const OptionMeta = z.object({ Value: z.number().nullable().optional(), Label: Label }).passthrough();
const OptionSet = z
  .object({
    Options: z.array(OptionMeta).nullable().optional(),
    TrueOption: OptionMeta.nullable().optional(),
    FalseOption: OptionMeta.nullable().optional(),
  })
  .passthrough()
  .nullable()
  .optional();
const OptionSetRow = z.object({ LogicalName: z.string(), OptionSet, GlobalOptionSet: OptionSet }).passthrough();
export const OptionSetsResponse = z.object({ value: z.array(OptionSetRow) });

const DateTimeRow = z.object({ LogicalName: z.string(), Format: z.string().nullable().optional() }).passthrough();
export const DateTimesResponse = z.object({ value: z.array(DateTimeRow) });

/** AttributeType as name or as the numeric code of the AttributeTypeCode enum (dataverse.md). */
const TYPE_CODES: AttributeType[] = [
  "Boolean",
  "Customer",
  "DateTime",
  "Decimal",
  "Double",
  "Integer",
  "Lookup",
  "Memo",
  "Money",
  "Owner",
  "PartyList",
  "Picklist",
  "State",
  "Status",
  "String",
  "Uniqueidentifier",
  "Other" /* CalendarRules */,
  "Virtual",
  "BigInt",
  "Other" /* ManagedProperty */,
  "EntityName",
];
const KNOWN = new Set<string>(TYPE_CODES);

function attributeType(row: z.infer<typeof AttributeRow>): AttributeType {
  if (row.AttributeTypeName?.Value === "MultiSelectPicklistType") return "MultiSelectPicklist";
  const t = row.AttributeType;
  if (typeof t === "number") return TYPE_CODES[t] ?? "Other";
  if (typeof t === "string") {
    if (/^\d+$/.test(t)) return TYPE_CODES[Number(t)] ?? "Other";
    return KNOWN.has(t) ? (t as AttributeType) : "Other";
  }
  return "Other";
}

function requiredLevel(v: unknown): AttributeInfo["required"] {
  const level = managedValue(v as { Value: string } | string | undefined);
  if (level === "SystemRequired" || level === "ApplicationRequired") return "required";
  if (level === "Recommended") return "recommended";
  return "none";
}

function options(set: z.infer<typeof OptionSet>): Array<{ value: number; label: string }> | undefined {
  if (!set) return undefined;
  if (set.Options?.length) {
    return set.Options.filter((o) => typeof o.Value === "number").map((o) => ({ value: o.Value!, label: labelText(o.Label, String(o.Value)) }));
  }
  if (set.TrueOption || set.FalseOption) {
    return [
      { value: 0, label: labelText(set.FalseOption?.Label, "No") },
      { value: 1, label: labelText(set.TrueOption?.Label, "Yes") },
    ];
  }
  return undefined;
}

interface AttributeParts {
  attributes: z.infer<typeof AttributeRow>[];
  lookups: z.infer<typeof LookupRow>[];
  optionSets: z.infer<typeof OptionSetRow>[];
  dateTimes: z.infer<typeof DateTimeRow>[];
}

/**
 * Merges the base attribute list with what the casts returned: lookup targets (Customer → account, contact),
 * option labels for Picklist / State / Status / Boolean / MultiSelectPicklist, DateTime format.
 * Attributes that only exist as shadows of another (`AttributeOf`, e.g. `parentcustomeridname`) are dropped.
 */
export function normalizeAttributes(parts: AttributeParts): AttributeInfo[] {
  const targets = new Map(parts.lookups.map((l) => [l.LogicalName, l.Targets ?? []]));
  const opts = new Map<string, Array<{ value: number; label: string }>>();
  for (const row of parts.optionSets) {
    const o = options(row.OptionSet) ?? options(row.GlobalOptionSet);
    if (o) opts.set(row.LogicalName, o);
  }
  const formats = new Map(parts.dateTimes.map((d) => [d.LogicalName, d.Format ?? undefined]));
  return parts.attributes
    .filter((a) => !a.AttributeOf)
    .map((a): AttributeInfo => {
      const type = attributeType(a);
      const info: AttributeInfo = {
        logicalName: a.LogicalName,
        displayName: labelText(a.DisplayName, a.LogicalName),
        type,
        required: requiredLevel(a.RequiredLevel),
        readable: a.IsValidForRead !== false,
      };
      if (type === "Lookup" || type === "Customer" || type === "Owner") {
        info.targets = targets.get(a.LogicalName) ?? (type === "Customer" ? ["account", "contact"] : type === "Owner" ? ["systemuser", "team"] : []);
      }
      const o = opts.get(a.LogicalName);
      if (o && ["Picklist", "State", "Status", "Boolean", "MultiSelectPicklist"].includes(type)) info.options = o;
      if (type === "DateTime") {
        const f = formats.get(a.LogicalName);
        if (f) info.format = f;
      }
      return info;
    })
    .sort((x, y) => x.logicalName.localeCompare(y.logicalName));
}
