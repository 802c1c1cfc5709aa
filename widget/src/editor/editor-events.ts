/**
 * The events the job editor's sections and dialogs send to `<dc-job-editor>`, which owns the draft. They bubble but
 * are not composed: they stay inside the editor's shadow root (the widget's public events are in ../events.ts).
 */
import type { Banner } from "./banner";
import type { FilterCondition } from "./filter-builder";
import type { DerivedObject, EditorDraft } from "./job-model";
import type { Mapping, ObjectField, TargetObject } from "./types";

/** A change to the draft: the fields to replace, or a function of the current draft (for edits that read it). */
export type DraftPatch = Partial<EditorDraft> | ((draft: EditorDraft) => EditorDraft);

/** Every editor-internal event, by name → `detail`. */
export interface EditorEventDetails {
  /** A section changed the draft; `clear` names the form keys whose validation errors the change answers. */
  "dc-editor-edit": { patch: DraftPatch; clear?: string[] };
  /** The admin picked the Dynamics table (what named the previous table's columns is cleared). */
  "dc-editor-entity-pick": { logicalName: string };
  /** The admin picked the target object (mappings to fields it does not have are dropped). */
  "dc-editor-object-pick": { name: string };
  /** A section needs the columns of a table (a lookup's related table). */
  "dc-editor-attributes-need": { logicalName: string };
  /** "Refresh tables and columns": reload the metadata from Dynamics, bypassing the caches. */
  "dc-editor-metadata-refresh": Record<string, never>;
  /** The filter builder or the OData text changed: the text to keep and the builder rows (null: hand-written). */
  "dc-editor-filter-change": { filter: string; conditions: FilterCondition[] | null };
  /** A notice for the editor's banner (what Auto-map did). */
  "dc-editor-notice": { banner: Banner };
  /** The create-object panel opened or closed (the button that opens it says so with aria-expanded). */
  "dc-editor-create-object-toggle": { open: boolean };
  /** The edge created a custom object from the table; `derived` holds the mappings and identifier that fill it. */
  "dc-editor-object-created": { object: TargetObject; derived: DerivedObject };
  /** "Add a field" added `field` to `object`; `mapping` maps it from the column it was suggested from, if it fits. */
  "dc-editor-field-added": { object: TargetObject; field: Pick<ObjectField, "name" | "label" | "type">; mapping: Mapping | null; notice: Banner };
  /** The add-field dialog closed (added, cancelled or Escape). */
  "dc-editor-dialog-close": Record<string, never>;
  /** "Fetch 10 sample records". */
  "dc-editor-preview-run": Record<string, never>;
  /** The preview's error banner was dismissed. */
  "dc-editor-preview-dismiss": Record<string, never>;
}

export type EditorEventName = keyof EditorEventDetails;
export type EditorEvent<K extends EditorEventName> = CustomEvent<EditorEventDetails[K]>;

declare global {
  interface GlobalEventHandlersEventMap {
    "dc-editor-edit": EditorEvent<"dc-editor-edit">;
    "dc-editor-entity-pick": EditorEvent<"dc-editor-entity-pick">;
    "dc-editor-object-pick": EditorEvent<"dc-editor-object-pick">;
    "dc-editor-attributes-need": EditorEvent<"dc-editor-attributes-need">;
    "dc-editor-metadata-refresh": EditorEvent<"dc-editor-metadata-refresh">;
    "dc-editor-filter-change": EditorEvent<"dc-editor-filter-change">;
    "dc-editor-notice": EditorEvent<"dc-editor-notice">;
    "dc-editor-create-object-toggle": EditorEvent<"dc-editor-create-object-toggle">;
    "dc-editor-object-created": EditorEvent<"dc-editor-object-created">;
    "dc-editor-field-added": EditorEvent<"dc-editor-field-added">;
    "dc-editor-dialog-close": EditorEvent<"dc-editor-dialog-close">;
    "dc-editor-preview-run": EditorEvent<"dc-editor-preview-run">;
    "dc-editor-preview-dismiss": EditorEvent<"dc-editor-preview-dismiss">;
  }
}

/** The one way the editor's parts talk to the shell: a bubbling, non-composed event, typed by name. */
export function emitEditor<K extends EditorEventName>(target: EventTarget, name: K, detail: EditorEventDetails[K]): void {
  target.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: false, detail }));
}
