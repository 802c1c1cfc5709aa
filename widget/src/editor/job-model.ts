/**
 * The editor's draft: what the admin is editing, in the shape the form needs (emails as typed, the schedule as a
 * preset), plus the conversions to and from the edge's job JSON. Pure, so it is unit-tested without a browser, and
 * JSON-safe, so it is what the draft store keeps in IndexedDB.
 */
import type { AttributeInfo, EntityInfo, FieldType, Job, JobInput, Lookup, Mapping, ObjectField } from "./types";
import { cronToPreset, presetToCron, type SchedulePreset } from "./schedule";
import { isMappable } from "#contract/compatibility";
import { fieldTypeForAttribute, preferredUse } from "./compatibility";

export type JobMode = "insert" | "update" | "upsert";
export type DeletePolicy = "ignore" | "soft" | "delete";
export type OnMissing = "null" | "skip" | "error";

export interface EditorDraft {
  v: 1;
  name: string;
  enabled: boolean;
  entity: string;
  filter: string;
  targetObject: string;
  mode: JobMode;
  deletes: DeletePolicy;
  identifiers: Array<{ source: string; target: string }>;
  mappings: Mapping[];
  /** Target fields whose mapping Auto-map guessed and the admin has not reviewed yet. */
  review: string[];
  /** onMissing: the column's value matches no record; onEmpty: the column is empty. */
  lookups: Array<{ target: string; object: string; match: Array<{ source: string; field: string }>; onMissing: OnMissing; onEmpty: OnMissing }>;
  schedule: SchedulePreset;
  timezone: string;
  dependsOn: string | null;
  /** Comma-separated e-mail addresses as typed, and the webhook URL ("" = none). */
  notify: { onSuccess: string; onPartial: string; onFailure: string; webhook: string };
}

export function emptyDraft(timezone: string): EditorDraft {
  return {
    v: 1,
    name: "",
    enabled: true,
    entity: "",
    filter: "",
    targetObject: "",
    mode: "upsert",
    deletes: "ignore",
    identifiers: [],
    mappings: [],
    review: [],
    lookups: [],
    schedule: cronToPreset(null),
    timezone,
    dependsOn: null,
    notify: { onSuccess: "", onPartial: "", onFailure: "", webhook: "" },
  };
}

export function draftFromJob(job: Job | null, defaultTimezone: string): EditorDraft {
  if (!job) return emptyDraft(defaultTimezone);
  return {
    v: 1,
    name: job.name,
    enabled: job.enabled,
    entity: job.source.entity,
    filter: job.source.filter ?? "",
    targetObject: job.target.object,
    mode: job.mode,
    deletes: job.deletes,
    identifiers: job.identifiers.map((i) => ({ ...i })),
    mappings: job.mappings.map((m) => ({ ...m, ...(m.via ? { via: { ...m.via } } : {}) })),
    review: [],
    lookups: job.lookups.map((l) => ({ ...l, onEmpty: l.onEmpty ?? "null", match: l.match.map((m) => ({ ...m })) })),
    schedule: cronToPreset(job.schedule?.cron ?? null),
    timezone: job.schedule?.timezone ?? defaultTimezone,
    dependsOn: job.dependsOn,
    notify: {
      onSuccess: job.notify.onSuccess.join(", "),
      onPartial: job.notify.onPartial.join(", "),
      onFailure: job.notify.onFailure.join(", "),
      webhook: job.notify.webhook ?? "",
    },
  };
}

export function splitEmails(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The job JSON for POST/PUT /jobs. Incomplete rows (no source picked) are left out. */
export function draftToInput(d: EditorDraft, connectionId: string): JobInput {
  const cron = presetToCron(d.schedule);
  const mappings: Mapping[] = d.mappings
    .filter((m) => m.source && m.target)
    .map((m) => ({
      source: m.source,
      target: m.target,
      use: m.use ?? "value",
      ...(m.via && m.via.attribute ? { via: { entity: m.via.entity, attribute: m.via.attribute } } : {}),
    }));
  const lookups: Lookup[] = d.lookups.map((l) => ({
    target: l.target,
    object: l.object,
    match: l.match.map((m) => ({ ...m })),
    onMissing: l.onMissing,
    onEmpty: l.onEmpty,
  }));
  return {
    connectionId,
    name: d.name.trim(),
    enabled: d.enabled,
    source: { entity: d.entity, filter: d.filter.trim() ? d.filter.trim() : null },
    target: { object: d.targetObject },
    mode: d.mode,
    deletes: d.deletes,
    identifiers: d.identifiers.filter((i) => i.source || i.target).map((i) => ({ ...i })),
    mappings,
    lookups,
    schedule: cron ? { cron, timezone: d.timezone } : null,
    dependsOn: d.dependsOn || null,
    notify: {
      onSuccess: splitEmails(d.notify.onSuccess),
      onPartial: splitEmails(d.notify.onPartial),
      onFailure: splitEmails(d.notify.onFailure),
      webhook: d.notify.webhook.trim() ? d.notify.webhook.trim() : null,
    },
  };
}

/** Field keys of the form. Mapping rows are keyed by target field (`mapping:Name`), since rows follow the object. */
export function mappingKey(target: string): string {
  return `mapping:${target}`;
}

/**
 * The form field a validation error's `path` names (`mappings.2.source` → the row of the 3rd mapping sent;
 * `notify.onFailure.1` → the failure e-mail box). `sent` is the body that was validated.
 */
export function errorKey(path: string, sent: Pick<JobInput, "mappings">): string {
  const parts = path.split(".");
  const [head, i] = parts;
  if (head === "mappings") {
    const m = i !== undefined ? sent.mappings[Number(i)] : undefined;
    return m ? mappingKey(m.target) : "mappings";
  }
  if (head === "notify" && parts.length >= 2) return `notify.${parts[1]}`;
  if (head === "schedule") return parts[1] === "timezone" ? "schedule.timezone" : "schedule.cron";
  if (head === "source" || head === "target") return parts.length >= 2 ? `${head}.${parts[1]}` : head === "source" ? "source.entity" : "target.object";
  if (head === "identifiers")
    return parts.length >= 3 ? `identifiers.${parts[1]}.${parts[2]}` : parts.length === 2 ? `identifiers.${parts[1]}.target` : "identifiers";
  if (head === "lookups") {
    if (parts.length >= 5 && parts[2] === "match") return `lookups.${parts[1]}.match.${parts[3]}.${parts[4]}`;
    if (parts.length >= 3) return `lookups.${parts[1]}.${parts[2]}`;
    return parts.length === 2 ? `lookups.${parts[1]}.target` : "lookups";
  }
  return path || "form";
}

/** Group validation details by form key, keeping their order. */
export function errorsByKey(details: ReadonlyArray<{ path: string; message: string }>, sent: Pick<JobInput, "mappings">): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const d of details) {
    const k = errorKey(d.path, sent);
    const list = out.get(k) ?? [];
    list.push(d.message);
    out.set(k, list);
  }
  return out;
}

/** Required fields first (keeping the object's order within each group). */
export function orderFields(fields: readonly ObjectField[]): ObjectField[] {
  return [...fields.filter((f) => f.required), ...fields.filter((f) => !f.required)];
}

/** A valid target-field / object name from a Dataverse label: "Account Name" → "AccountName". */
export function toFieldName(label: string, fallback: string): string {
  const words = (label || fallback)
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  let name = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
  if (!/^[A-Za-z]/.test(name)) name = `F${name}`;
  if (name.length <= 1 && fallback && label !== fallback) return toFieldName(fallback, "Field");
  return name.slice(0, 63) || "Field";
}

/** A field label in the host's sentence case: "Company Name" → "Company name"; acronyms ("ID", "URL") stay. */
export function sentenceLabel(text: string): string {
  const words = text.trim().split(/\s+/).filter(Boolean);
  return words
    .map((w, i) => (i === 0 || /^[A-Z0-9]{2,}$/.test(w) || !/^[A-Z][a-z]/.test(w) ? w : w[0]!.toLowerCase() + w.slice(1)))
    .join(" ")
    .slice(0, 100);
}

/** What "Add a field to <Object>" proposes for a source column (optionally a column of a record it looks up). */
export interface ProposedField {
  field: { name: string; label: string; type: FieldType };
  mapping: Omit<Mapping, "target">;
}

/**
 * The field a column would fill: its label, a unique name, and the type of what is read — through a lookup, the
 * related column's type ("Company Name" through account.name → "Company name", Text). A related column other than
 * the related table's primary name is named after both ("Owner primary email").
 */
export function proposeField(
  attr: Pick<AttributeInfo, "logicalName" | "displayName" | "type" | "format">,
  via: { entity: string; attr: Pick<AttributeInfo, "logicalName" | "displayName" | "type" | "format">; primaryName?: string | null } | null,
  existing: readonly Pick<ObjectField, "name">[],
): ProposedField | null {
  const read = via ? via.attr : attr;
  const t = fieldTypeForAttribute(read);
  if (!t) return null;
  const own = attr.displayName || attr.logicalName;
  const text = via && via.attr.logicalName !== via.primaryName ? `${own} ${via.attr.displayName || via.attr.logicalName}` : own;
  const label = sentenceLabel(text);
  const taken = new Set(existing.map((f) => f.name.toLowerCase()));
  const base = toFieldName(label, attr.logicalName);
  let name = base;
  for (let k = 2; taken.has(name.toLowerCase()); k++) name = `${base.slice(0, 60)}${k}`;
  const mapping: Omit<Mapping, "target"> = via
    ? { source: attr.logicalName, via: { entity: via.entity, attribute: via.attr.logicalName }, use: preferredUse(via.attr, t.type) }
    : { source: attr.logicalName, use: t.use };
  return { field: { name, label, type: t.type }, mapping };
}

export interface DerivedObject {
  body: { name: string; label: string; fields: ObjectField[] };
  mappings: Mapping[];
  identifiers: Array<{ source: string; target: string }>;
}

/** Attributes pre-selected when creating an object from an entity: id, primary name, required and recommended ones. */
export function defaultAttributeSelection(entity: Pick<EntityInfo, "primaryIdAttribute" | "primaryNameAttribute">, attrs: readonly AttributeInfo[]): string[] {
  return attrs
    .filter((a) => isMappable(a) && fieldTypeForAttribute(a) !== null)
    .filter((a) => a.logicalName === entity.primaryIdAttribute || a.logicalName === entity.primaryNameAttribute || a.required !== "none")
    .map((a) => a.logicalName);
}

/**
 * "Create a custom object from this entity": one field per selected attribute with the mapped type, a `DynamicsId`
 * identifier from the primary id, and the mappings that fill them.
 */
export function deriveObject(
  entity: Pick<EntityInfo, "logicalName" | "displayName" | "primaryIdAttribute" | "primaryNameAttribute">,
  attrs: readonly AttributeInfo[],
  selected: ReadonlySet<string>,
  name?: string,
  label?: string,
): DerivedObject {
  const fields: ObjectField[] = [];
  const mappings: Mapping[] = [];
  const taken = new Set<string>();
  const unique = (n: string) => {
    let candidate = n;
    for (let k = 2; taken.has(candidate.toLowerCase()); k++) candidate = `${n.slice(0, 60)}${k}`;
    taken.add(candidate.toLowerCase());
    return candidate;
  };
  const idName = unique("DynamicsId");
  fields.push({ name: idName, label: "Dynamics ID", type: "id", required: true, unique: true });
  mappings.push({ source: entity.primaryIdAttribute, target: idName, use: "value" });
  for (const a of attrs) {
    if (!selected.has(a.logicalName) || a.logicalName === entity.primaryIdAttribute) continue;
    const t = fieldTypeForAttribute(a);
    if (!t || !isMappable(a)) continue;
    const fname = unique(toFieldName(a.displayName, a.logicalName));
    fields.push({ name: fname, label: (a.displayName || a.logicalName).slice(0, 100), type: t.type, required: false });
    mappings.push({ source: a.logicalName, target: fname, use: t.use });
    if (fields.length >= 200) break;
  }
  return {
    body: {
      name: name ?? toFieldName(entity.displayName, entity.logicalName),
      label: (label ?? entity.displayName ?? entity.logicalName).slice(0, 100),
      fields,
    },
    mappings,
    identifiers: [{ source: entity.primaryIdAttribute, target: idName }],
  };
}

/** A name for a new job once source and target are known. */
export function suggestJobName(entityDisplay: string, objectLabel: string): string {
  return `${entityDisplay} → ${objectLabel}`.slice(0, 120);
}

/** Cheap structural equality for "is there anything unsaved?". */
export function sameDraft(a: EditorDraft, b: EditorDraft): boolean {
  const strip = (d: EditorDraft) => JSON.stringify({ ...d, review: [] });
  return strip(a) === strip(b);
}
