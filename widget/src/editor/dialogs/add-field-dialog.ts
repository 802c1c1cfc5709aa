import { localized, msg, str } from "@lit/localize";
import { LitElement, html, nothing } from "lit";
import { property, state } from "lit/decorators.js";
import { live } from "lit/directives/live.js";
import { isCompatibleAnyUse, LOOKUP_TYPES } from "#contract/compatibility";
import { openModal } from "../../views/dialog";
import { edgeErrorText } from "../../l10n/localization";
import { define } from "../../util/define";
import type { Banner } from "../banner";
import "../combobox";
import { fieldTypeLabel, preferredUse } from "../compatibility";
import { emitEditor } from "../editor-events";
import { proposeField } from "../job-model";
import { attrLabel, attrMap, entityLabel, sourceItems } from "../metadata-views";
import { selectField } from "../sections/editor-section";
import { isEdgeError, type AttributeInfo, type EditorClient, type EntityInfo, type FieldType, type Mapping, type TargetObject } from "../types";

type AddFieldKey = "name" | "label" | "type";

/** The field being added, the column it is suggested from (and mapped to), and what failed. */
interface AddFieldForm {
  source: string;
  through: boolean;
  viaEntity: string;
  viaAttribute: string;
  name: string;
  label: string;
  type: FieldType;
  /** Values the admin typed are theirs: picking another column no longer overwrites them. */
  edited: Record<AddFieldKey, boolean>;
  busy: boolean;
  errors: Partial<Record<AddFieldKey | "form", string>>;
  requestId?: string;
}

/** Types a new field can have here; reference fields are made by lookups to other objects, not from a column. */
const NEW_FIELD_TYPES: FieldType[] = [
  "string",
  "text",
  "integer",
  "number",
  "currency",
  "boolean",
  "date",
  "datetime",
  "email",
  "url",
  "phone",
  "id",
  "string_list",
];

/**
 * "Add a field to <Object>": a modal `<dialog id="add-field">` that adds a field to the target object right away
 * (PATCH /objects/:name with addFields). Name, label and type are suggested from a column — also one read through a
 * lookup — and the new field is mapped to it. The edge's validation lands on the dialog's fields. Renders into the
 * editor's shadow root (no shadow root of its own; see EditorSection), so the dialog is the editor's part.
 *
 * @event dc-editor-field-added - `detail: { object, field, mapping, notice }` once the edge added the field.
 * @event dc-editor-dialog-close - the dialog closed (after adding, Cancel or Escape).
 * @event dc-editor-attributes-need - `detail: { logicalName }` the related table's columns are needed.
 * @csspart add-field-dialog - the dialog.
 */
@localized()
export class DcEditorAddFieldDialog extends LitElement {
  /** The object the field is added to. */
  @property({ attribute: false }) object!: TargetObject;
  /** The source table (logical name). */
  @property({ attribute: false }) entity = "";
  /** Columns by table. */
  @property({ attribute: false }) attrs: ReadonlyMap<string, AttributeInfo[]> = new Map();
  /** The Dynamics tables (labels, primary names). */
  @property({ attribute: false }) entities: EntityInfo[] | null = null;
  /** The edge API client. */
  @property({ attribute: false }) client!: EditorClient;

  @state() private _form: AddFieldForm | null = null;

  protected override createRenderRoot() {
    return this;
  }

  private get _dialog() {
    return this.querySelector<HTMLDialogElement>("#add-field");
  }

  /** Opens the dialog empty, with the focus on "Column to fill it from" (it returns to the opener on close). */
  async show(): Promise<void> {
    if (!this.object) return;
    this._form = {
      source: "",
      through: false,
      viaEntity: "",
      viaAttribute: "",
      name: "",
      label: "",
      type: "string",
      edited: { name: false, label: false, type: false },
      busy: false,
      errors: {},
    };
    await this.updateComplete;
    const dialog = this._dialog;
    openModal(dialog, dialog?.querySelector<HTMLElement>("dc-combobox") ?? null);
  }

  /** Applies a change and re-suggests name, label and type from the chosen column (keeping what the admin typed). */
  private _set(patch: Partial<AddFieldForm>) {
    const cur = this._form;
    if (!cur) return;
    const next: AddFieldForm = { ...cur, ...patch };
    const p = this._proposal(next);
    if (p && ("source" in patch || "through" in patch || "viaEntity" in patch || "viaAttribute" in patch)) {
      if (!next.edited.name) next.name = p.field.name;
      if (!next.edited.label) next.label = p.field.label;
      if (!next.edited.type) next.type = p.field.type;
    }
    this._form = next;
  }

  private _proposal(st: AddFieldForm) {
    const attr = st.source ? attrMap(this.attrs.get(this.entity)).get(st.source) : undefined;
    if (!attr) return null;
    let via: Parameters<typeof proposeField>[1] = null;
    if (st.through && LOOKUP_TYPES.has(attr.type)) {
      const va = attrMap(this.attrs.get(st.viaEntity)).get(st.viaAttribute);
      if (!va) return null;
      via = { entity: st.viaEntity, attr: va, primaryName: this.entities?.find((e) => e.logicalName === st.viaEntity)?.primaryNameAttribute };
    }
    return proposeField(attr, via, this.object?.fields ?? []);
  }

  private _needAttributes(logicalName: string) {
    emitEditor(this, "dc-editor-attributes-need", { logicalName });
  }

  private async _submit() {
    const st = this._form;
    const obj = this.object;
    if (!st || !obj || st.busy) return;
    const field = { name: st.name.trim(), label: st.label.trim(), type: st.type, required: false };
    const local: AddFieldForm["errors"] = {};
    if (!field.name) local.name = msg("Give the field a name.");
    if (!field.label) local.label = msg("Give the field a label.");
    if (local.name || local.label) {
      this._form = { ...st, errors: local };
      void this._focusError();
      return;
    }
    this._form = { ...st, busy: true, errors: {} };
    try {
      const updated = await this.client.request<TargetObject>("PATCH", `/objects/${encodeURIComponent(obj.name)}`, { body: { addFields: [field] } });
      const added = updated.fields.find((f) => f.name.toLowerCase() === field.name.toLowerCase()) ?? field;
      // Map it from the column it was suggested from, when that column can fill the type the admin kept.
      const p = this._proposal(st);
      const sourceAttrs = this.attrs.get(this.entity);
      const read = p?.mapping.via ? attrMap(this.attrs.get(p.mapping.via.entity)).get(p.mapping.via.attribute) : attrMap(sourceAttrs).get(st.source);
      const mapped = !!(p && read && isCompatibleAnyUse(read, added.type));
      const mapping: Mapping | null = p && read && mapped ? { ...p.mapping, target: added.name, use: preferredUse(read, added.type) } : null;
      const from = p?.mapping.via ? `${attrLabel(sourceAttrs, st.source)} → ${read?.displayName ?? st.viaAttribute}` : attrLabel(sourceAttrs, st.source);
      const notice: Banner = {
        kind: "info",
        title: msg(str`Added “${added.label}” to ${updated.label}`),
        message: mapped
          ? msg(str`Mapped from ${from}. Save the job to keep the mapping.`)
          : st.source
            ? msg(str`${from} does not fit ${fieldTypeLabel(added.type)}: choose its column below.`)
            : msg("Choose the column that fills it below."),
      };
      emitEditor(this, "dc-editor-field-added", { object: updated, field: added, mapping, notice });
      this._form = { ...st, busy: false };
      this._dialog?.close();
    } catch (e) {
      const errors: AddFieldForm["errors"] = {};
      if (isEdgeError(e) && e.code === "validation_failed" && e.details?.length) {
        const other: string[] = [];
        for (const d of e.details) {
          const m = /^addFields\.\d+\.(name|label|type)$/.exec(d.path);
          if (m) errors[m[1] as AddFieldKey] = [errors[m[1] as AddFieldKey], d.message].filter(Boolean).join(" ");
          else other.push(d.message);
        }
        if (other.length) errors.form = other.join(" ");
      } else {
        errors.form = msg(str`The field was not added: ${edgeErrorText(e)}`);
      }
      this._form = { ...st, busy: false, errors, ...(isEdgeError(e) && e.requestId ? { requestId: e.requestId } : {}) };
      void this._focusError();
    }
  }

  private async _focusError() {
    await this.updateComplete;
    this.querySelector<HTMLElement>('#add-field [aria-invalid="true"], #add-field [role="alert"]')?.focus();
  }

  override render() {
    return html`<dialog
      id="add-field"
      part="add-field-dialog"
      aria-labelledby="add-field-h"
      @close=${() => {
        this._form = null;
        emitEditor(this, "dc-editor-dialog-close", {});
      }}
    >
      ${this._renderBody()}
    </dialog>`;
  }

  private _renderBody() {
    const st = this._form;
    const obj = this.object;
    if (!st || !obj) return nothing;
    const attr = st.source ? attrMap(this.attrs.get(this.entity)).get(st.source) : undefined;
    const isLookup = !!attr && LOOKUP_TYPES.has(attr.type);
    const targets = attr?.targets ?? [];
    const viaAttrs = st.through ? this.attrs.get(st.viaEntity) : undefined;
    const label = (t: string) => entityLabel(this.entities, t);
    const fieldErr = (k: AddFieldKey) => st.errors[k] ?? "";
    const described = (k: AddFieldKey, help?: boolean) => [fieldErr(k) ? `af-${k}-err` : "", help ? `af-${k}-help` : ""].filter(Boolean).join(" ") || nothing;
    const text = (k: "name" | "label", caption: string, help?: string) =>
      html`<div class="field">
        <label for="af-${k}">${caption}</label>
        <input
          id="af-${k}"
          type="text"
          .value=${live(st[k])}
          aria-invalid=${fieldErr(k) ? "true" : "false"}
          aria-describedby=${described(k, !!help)}
          @input=${(e: Event) => this._set({ [k]: (e.target as HTMLInputElement).value, edited: { ...st.edited, [k]: true }, errors: { ...st.errors, [k]: "" } })}
        />
        ${help ? html`<p class="help" id="af-${k}-help">${help}</p>` : nothing}
        ${fieldErr(k) ? html`<p class="error" id="af-${k}-err">${fieldErr(k)}</p>` : nothing}
      </div>`;
    return html` <h3 id="add-field-h">${msg(str`Add a field to ${obj.label}`)}</h3>
      <p class="help">${msg(str`The field is added to ${obj.label} right away, for every job that fills it. Fields are never removed or retyped later.`)}</p>
      <div class="stack">
        <dc-combobox
          label=${msg("Column to fill it from")}
          placeholder=${msg("Optional")}
          .items=${sourceItems(this.attrs.get(this.entity), null)}
          .value=${st.source}
          .valueLabel=${st.source}
          .description=${msg("Suggests the name, label and type, and maps the new field to this column.")}
          @dc-combobox-change=${(e: GlobalEventHandlersEventMap["dc-combobox-change"]) => {
            const a = attrMap(this.attrs.get(this.entity)).get(e.detail.value);
            this._set({ source: e.detail.value, through: false, viaEntity: a?.targets?.[0] ?? "", viaAttribute: "" });
          }}
        ></dc-combobox>
        ${
          isLookup
            ? html`<label class="check"
                ><input
                  type="checkbox"
                  .checked=${st.through}
                  @change=${(e: Event) => {
                    const on = (e.target as HTMLInputElement).checked;
                    if (on && st.viaEntity) this._needAttributes(st.viaEntity);
                    this._set({ through: on, viaAttribute: "" });
                  }}
                />${msg("Through lookup: use a column of the related record")}</label
              >`
            : nothing
        }
        ${
          isLookup && st.through
            ? html`<div class="grid two">
                ${
                  targets.length > 1
                    ? selectField(
                        "add-field.via.entity",
                        msg("Related table"),
                        st.viaEntity,
                        targets.map((t) => ({ value: t, label: label(t) })),
                        "",
                        (v) => {
                          this._needAttributes(v);
                          this._set({ viaEntity: v, viaAttribute: "" });
                        },
                        { id: "af-via-entity" },
                      )
                    : html`<div class="field"><span class="label">${msg("Related table")}</span><span>${label(st.viaEntity)}</span></div>`
                }
                ${
                  viaAttrs
                    ? html`<dc-combobox
                        label=${msg(str`Column of ${label(st.viaEntity)}`)}
                        .items=${sourceItems(viaAttrs, null)}
                        .value=${st.viaAttribute}
                        .valueLabel=${st.viaAttribute}
                        @dc-combobox-change=${(e: GlobalEventHandlersEventMap["dc-combobox-change"]) => this._set({ viaAttribute: e.detail.value })}
                      ></dc-combobox>`
                    : html`<p class="help" role="status">${msg(str`Loading columns of ${label(st.viaEntity)}…`)}</p>`
                }
              </div>`
            : nothing
        }
        <div class="grid two">
          ${text("label", msg("Label"))} ${text("name", msg("Name"), msg("Letters, digits and _; starts with a letter."))}
          <div class="field">
            <label for="af-type">${msg("Type")}</label>
            <select
              id="af-type"
              aria-invalid=${fieldErr("type") ? "true" : "false"}
              aria-describedby=${described("type")}
              @change=${(e: Event) => this._set({ type: (e.target as HTMLSelectElement).value as FieldType, edited: { ...st.edited, type: true }, errors: { ...st.errors, type: "" } })}
            >
              ${NEW_FIELD_TYPES.map((t) => html`<option value=${t} ?selected=${t === st.type}>${fieldTypeLabel(t)}</option>`)}
            </select>
            ${fieldErr("type") ? html`<p class="error" id="af-type-err">${fieldErr("type")}</p>` : nothing}
          </div>
        </div>
        ${
          st.errors.form
            ? html`<div class="banner" role="alert" tabindex="-1">
                <p>${st.errors.form}</p>
                ${
                  st.requestId
                    ? html`<details>
                        <summary>${msg("Details")}</summary>
                        ${msg("Request id:")} <code>${st.requestId}</code>
                      </details>`
                    : nothing
                }
              </div>`
            : nothing
        }
      </div>
      <div class="row actions">
        <button class="primary" ?disabled=${st.busy} @click=${() => void this._submit()}>${st.busy ? msg("Adding…") : msg("Add field")}</button>
        <button @click=${() => this._dialog?.close()}>${msg("Cancel")}</button>
      </div>`;
  }
}

define("dc-editor-add-field-dialog", DcEditorAddFieldDialog);

declare global {
  interface HTMLElementTagNameMap {
    "dc-editor-add-field-dialog": DcEditorAddFieldDialog;
  }
}
