/**
 * The draft edits that reach across sections (a new source table clears what named its columns; a new target object
 * drops mappings to fields it lacks; the job name follows both while it is the suggested one). Pure.
 */
import type { DerivedObject, EditorDraft } from "./job-model";
import { suggestJobName } from "./job-model";
import { entityLabel } from "./metadata-views";
import type { EntityInfo, Mapping, TargetObject } from "./types";

/** The metadata the edits read. */
export interface EditContext {
  entities: readonly EntityInfo[] | null;
  objects: readonly TargetObject[] | null;
}

const objectLabel = (ctx: EditContext, name: string) => ctx.objects?.find((o) => o.name === name)?.label ?? name;

/** The job's name for a new source and target: suggested while the admin has not named it themselves. */
export function autoName(d: EditorDraft, entity: string, object: string, ctx: EditContext): string {
  const prevAuto = d.entity && d.targetObject ? suggestJobName(entityLabel(ctx.entities, d.entity), objectLabel(ctx, d.targetObject)) : "";
  if (d.name && d.name !== prevAuto) return d.name;
  return entity && object ? suggestJobName(entityLabel(ctx.entities, entity), objectLabel(ctx, object)) : d.name;
}

/** Another source table: columns of the old one do not carry over (mappings, lookups' matches, the filter). */
export function withEntity(d: EditorDraft, logicalName: string, ctx: EditContext): EditorDraft {
  const oldId = ctx.entities?.find((e) => e.logicalName === d.entity)?.primaryIdAttribute;
  const newId = ctx.entities?.find((e) => e.logicalName === logicalName)?.primaryIdAttribute ?? "";
  return {
    ...d,
    entity: logicalName,
    mappings: [],
    review: [],
    // An identifier fed by the old table's id column follows to the new table's id column.
    identifiers: d.identifiers.map((i) => ({ ...i, source: !i.source || i.source === oldId ? newId : "" })),
    lookups: d.lookups.map((l) => ({ ...l, match: l.match.map((m) => ({ ...m, source: "" })) })),
    filter: "",
    name: autoName(d, logicalName, d.targetObject, ctx),
  };
}

/** A unique id-typed field (DynamicsId on the standard objects) is the natural upsert key. */
export function defaultIdentifiers(obj: TargetObject | undefined, entity: EntityInfo | undefined): EditorDraft["identifiers"] {
  const key = obj?.fields.find((f) => f.unique && (f.type === "id" || /dynamicsid/i.test(f.name)));
  return key ? [{ source: entity?.primaryIdAttribute ?? "", target: key.name }] : [];
}

/** Another target object: mappings, reviews and identifiers naming fields it does not have are dropped. */
export function withObject(d: EditorDraft, name: string, ctx: EditContext): EditorDraft {
  const obj = ctx.objects?.find((o) => o.name === name);
  const fields = new Set((obj?.fields ?? []).map((f) => f.name));
  return {
    ...d,
    targetObject: name,
    mappings: d.mappings.filter((m) => fields.has(m.target)),
    review: d.review.filter((t) => fields.has(t)),
    identifiers: d.identifiers.length
      ? d.identifiers.map((i) => ({ ...i, target: fields.has(i.target) ? i.target : "" }))
      : defaultIdentifiers(
          obj,
          ctx.entities?.find((e) => e.logicalName === d.entity),
        ),
    name: autoName(d, d.entity, name, ctx),
  };
}

/** The object just created from the source table becomes the target, each field mapped from its column. */
export function withCreatedObject(d: EditorDraft, created: TargetObject, derived: DerivedObject, ctx: EditContext): EditorDraft {
  return {
    ...d,
    targetObject: created.name,
    mappings: derived.mappings,
    review: [],
    identifiers: derived.identifiers,
    mode: "upsert",
    name: autoName(d, d.entity, created.name, ctx),
  };
}

/** Sets (or with null, clears) the mapping of a target field; a set mapping is no longer a guess to review. */
export function withMapping(d: EditorDraft, target: string, m: Mapping | null): EditorDraft {
  const rest = d.mappings.filter((x) => x.target !== target);
  const mappings = m ? [...d.mappings.map((x) => (x.target === target ? m : x)), ...(d.mappings.some((x) => x.target === target) ? [] : [m])] : rest;
  return { ...d, mappings, review: d.review.filter((t) => t !== target) };
}
