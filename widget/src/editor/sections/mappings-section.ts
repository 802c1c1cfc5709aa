import { msg, str } from "@lit/localize";
import { html, nothing, type TemplateResult } from "lit";
import { property, query, state } from "lit/decorators.js";
import { hasLabel, isCompatible, LOOKUP_TYPES } from "#contract/compatibility";
import { define } from "../../util/define";
import { listFormat } from "../../util/format";
import { autoMap } from "../auto-map";
import "../combobox";
import { fieldTypeLabel, OPTION_TYPES, preferredUse, typeIcon } from "../compatibility";
import "../dialogs/add-field-dialog";
import type { DcEditorAddFieldDialog } from "../dialogs/add-field-dialog";
import { withMapping } from "../draft-edits";
import { emitEditor } from "../editor-events";
import { mappingKey, orderFields } from "../job-model";
import { attrMap, entityLabel, sourceItems } from "../metadata-views";
import type { AttributeInfo, EditorClient, EntityInfo, Mapping, ObjectField, TargetObject } from "../types";
import { EditorSection, editorSection, selectField } from "./editor-section";

/**
 * Section 2, "Field mappings": a row per field of the target object (required first) with the column that fills it —
 * its value or its label, or a column of the record a lookup points to — plus Auto-map, the guesses to review, and
 * "Add a field to <Object>".
 *
 * @event dc-editor-edit - a mapping or the review list changed.
 * @event dc-editor-attributes-need - `detail: { logicalName }` a lookup's related table's columns are needed.
 * @event dc-editor-notice - what Auto-map did.
 * @event dc-editor-field-added - (from the add-field dialog) a field was added to the object.
 */
export class DcEditorMappingsSection extends EditorSection {
  /** The target object (undefined: none chosen, or objects still loading). */
  @property({ attribute: false }) object: TargetObject | undefined;
  /** Columns by table (the source table's and related tables'). */
  @property({ attribute: false }) attrs: ReadonlyMap<string, AttributeInfo[]> = new Map();
  /** Tables whose columns are loading. */
  @property({ attribute: false }) attrsLoading: ReadonlySet<string> = new Set();
  /** The Dynamics tables (labels, the source table's primary id and name). */
  @property({ attribute: false }) entities: EntityInfo[] | null = null;
  /** The edge API client (the add-field dialog patches the object with it). */
  @property({ attribute: false }) client!: EditorClient;

  /** Rows (form keys) whose picker lists the columns that do not fit too. */
  @state() private _showAll = new Set<string>();
  @query("dc-editor-add-field-dialog") private _addField!: DcEditorAddFieldDialog | null;
  /** The field "Add a field" just added: its row gets the focus once the dialog has closed. */
  private _focusAfterClose: string | null = null;

  private get _sourceAttrs(): AttributeInfo[] {
    return this.attrs.get(this.draft.entity) ?? [];
  }

  private _setMapping(target: string, m: Mapping | null, ...clear: string[]) {
    this._edit((d) => withMapping(d, target, m), mappingKey(target), ...clear);
  }

  private _pickSource(field: ObjectField, source: string) {
    const a = attrMap(this._sourceAttrs).get(source);
    if (!a) return;
    this._setMapping(field.name, { source, target: field.name, use: preferredUse(a, field.type) });
  }

  private _toggleVia(field: ObjectField, a: AttributeInfo, on: boolean) {
    if (on) {
      const entity = a.targets?.[0] ?? "";
      this._setMapping(field.name, { source: a.logicalName, target: field.name, use: "value", via: { entity, attribute: "" } });
      if (entity) emitEditor(this, "dc-editor-attributes-need", { logicalName: entity });
    } else {
      this._setMapping(field.name, { source: a.logicalName, target: field.name, use: preferredUse(a, field.type) });
    }
  }

  private _toggleShowAll(rowKey: string, action: string) {
    const s = new Set(this._showAll);
    if (action === "__show") s.add(rowKey);
    else s.delete(rowKey);
    this._showAll = s;
  }

  private _runAutoMap() {
    const obj = this.object;
    if (!obj || !this._sourceAttrs.length) return;
    const e = this.entities?.find((x) => x.logicalName === this.draft.entity);
    const result = autoMap(obj.fields, this._sourceAttrs, this.draft.mappings, { primaryId: e?.primaryIdAttribute, primaryName: e?.primaryNameAttribute });
    this._edit((d) => ({ ...d, mappings: result.mappings, review: [...new Set([...d.review, ...result.guessed])] }));
    const n = result.guessed.length;
    emitEditor(this, "dc-editor-notice", {
      banner: {
        kind: "info",
        title: n === 1 ? msg("Auto-map filled 1 field") : n ? msg(str`Auto-map filled ${n} fields`) : msg("Auto-map found nothing more to map"),
        ...(n ? { message: msg("Rows marked “Review” are guesses: check each one, or accept them all.") } : {}),
      },
    });
  }

  private _onDialogClose() {
    const target = this._focusAfterClose;
    this._focusAfterClose = null;
    // After the dialog has returned the focus to its opener.
    if (target) setTimeout(() => void this._focusMappingRow(target));
  }

  private async _focusMappingRow(target: string) {
    await this.updateComplete;
    const row = this.querySelector<HTMLElement>(`[part="mapping-row"][data-target="${CSS.escape(target)}"]`);
    row?.scrollIntoView({ block: "center" });
    row?.querySelector<HTMLElement>("dc-combobox")?.focus({ preventScroll: true });
  }

  override render() {
    const d = this.draft;
    const obj = this.object;
    let body: TemplateResult;
    if (!d.entity || !d.targetObject) {
      body = html`<p class="help">${msg("Choose a Dynamics table and a target object first.")}</p>`;
    } else if (!obj || (!this.attrs.has(d.entity) && this.attrsLoading.has(d.entity))) {
      body = html`<div class="skeleton" aria-hidden="true"></div>
        <p role="status" class="help">${msg("Loading columns…")}</p>`;
    } else {
      const reviewCount = d.review.length;
      body = html` <div class="toolbar">
          <button @click=${() => this._runAutoMap()} ?disabled=${!this._sourceAttrs.length}>${msg("Auto-map")}</button>
          <span class="help">${msg("Fills empty rows by name and type.")}</span>
          ${
            reviewCount
              ? html`<span class="badge guess" role="status">${msg(str`${reviewCount} to review`)}</span>
                  <button class="link" @click=${() => this._edit({ review: [] })}>${msg("Accept all guesses")}</button>`
              : nothing
          }
          <button class="push" aria-haspopup="dialog" @click=${() => void this._addField?.show()}>${msg(str`Add a field to ${obj.label}`)}</button>
        </div>
        ${this._err("mappings") ? html`<p class="error" data-field-key="mappings" tabindex="-1">${this._err("mappings")}</p>` : nothing}
        <div class="mappings" role="list" aria-label=${msg("Field mappings")}>${orderFields(obj.fields).map((f) => this._renderRow(f))}</div>
        <dc-editor-add-field-dialog
          .object=${obj}
          .entity=${d.entity}
          .attrs=${this.attrs}
          .entities=${this.entities}
          .client=${this.client}
          @dc-editor-field-added=${(e: GlobalEventHandlersEventMap["dc-editor-field-added"]) => (this._focusAfterClose = e.detail.field.name)}
          @dc-editor-dialog-close=${() => this._onDialogClose()}
        ></dc-editor-add-field-dialog>`;
    }
    return editorSection(2, "sec-mappings", msg("Field mappings"), body);
  }

  private _renderRow(f: ObjectField) {
    const d = this.draft;
    const m = d.mappings.find((x) => x.target === f.name);
    const attr = m ? attrMap(this._sourceAttrs).get(m.source) : undefined;
    const key = mappingKey(f.name);
    const guess = d.review.includes(f.name);
    if (f.type === "reference") {
      return html`<div class="mapping" role="listitem" part="mapping-row">
        <div>
          <div class="target-name" translate="no">${f.label}</div>
          <div class="target-meta">${f.name} · ${f.references ? msg(str`${fieldTypeLabel(f.type)} to ${f.references}`) : fieldTypeLabel(f.type)}</div>
        </div>
        <p class="help">${msg("Filled by a lookup (section 3).")}</p>
        <div></div>
      </div>`;
    }
    const via = m?.via;
    const isLookup = attr && LOOKUP_TYPES.has(attr.type);
    return html`<div class="mapping ${guess ? "guess" : ""}" role="listitem" part="mapping-row" data-target=${f.name}>
      <div>
        <div class="target-name">
          <span translate="no">${f.label}</span> ${f.required ? html`<span class="badge required">${msg("Required")}</span>` : nothing}
          ${guess ? html`<span class="badge guess">${msg("Review")}</span>` : nothing}
        </div>
        <div class="target-meta">${f.name} · ${fieldTypeLabel(f.type)}${f.unique ? ` · ${msg("unique")}` : ""}</div>
      </div>
      <div>
        <dc-combobox
          hide-label
          label=${msg(str`Column for ${f.label}`)}
          placeholder=${msg("Not mapped")}
          data-field-key=${key}
          .items=${sourceItems(this.attrs.get(d.entity), f.type, this._showAll.has(key))}
          .value=${m?.source ?? ""}
          .valueLabel=${m?.source ?? ""}
          .error=${this._err(key)}
          @dc-combobox-change=${(e: GlobalEventHandlersEventMap["dc-combobox-change"]) => this._pickSource(f, e.detail.value)}
          @dc-combobox-action=${(e: GlobalEventHandlersEventMap["dc-combobox-action"]) => this._toggleShowAll(key, e.detail.value)}
        ></dc-combobox>
        ${
          m && attr
            ? html`<div class="mapping-extra">
                ${
                  attr && !via && !isCompatible(attr, f.type, m.use)
                    ? html`<span class="warning" role="note"
                        >${
                          m.use === "label"
                            ? msg(str`⚠ ${typeIcon(attr.type).name} label does not fit ${fieldTypeLabel(f.type)}.`)
                            : msg(str`⚠ ${typeIcon(attr.type).name} does not fit ${fieldTypeLabel(f.type)}.`)
                        }</span
                      >`
                    : nothing
                }
                ${
                  isLookup
                    ? html`<label class="check"
                        ><input type="checkbox" .checked=${!!via} @change=${(e: Event) => this._toggleVia(f, attr, (e.target as HTMLInputElement).checked)} />
                        ${msg("Through lookup: use a column of the related record")}</label
                      >`
                    : nothing
                }
                ${!via && hasLabel(attr.type) && (OPTION_TYPES.has(attr.type) || isLookup) ? this._renderUse(f, m, attr) : nothing}
              </div>`
            : nothing
        }
        ${m && via && attr ? this._renderVia(f, m, attr) : nothing}
      </div>
      <div class="mapping-actions">
        ${guess ? html`<button class="icon" aria-label=${msg(str`Accept the guess for ${f.label}`)} @click=${() => this._edit((dd) => ({ ...dd, review: dd.review.filter((t) => t !== f.name) }))}>${msg("OK")}</button>` : nothing}
        ${m ? html`<button class="icon" aria-label=${msg(str`Clear the mapping of ${f.label}`)} @click=${() => this._setMapping(f.name, null)}>✕</button>` : nothing}
      </div>
    </div>`;
  }

  /** Value or label of an option set; record id or name of a lookup read directly. */
  private _renderUse(f: ObjectField, m: Mapping, attr: AttributeInfo) {
    const name = `use-${f.name}`;
    const opts: Array<{ v: "value" | "label"; label: string }> = LOOKUP_TYPES.has(attr.type)
      ? [
          { v: "value", label: msg("Record id") },
          { v: "label", label: msg("Name") },
        ]
      : [
          { v: "value", label: msg("Value") },
          { v: "label", label: msg("Label") },
        ];
    return html`<fieldset class="choices" data-field-key="${mappingKey(f.name)}.use">
      <legend class="visually-hidden">${msg(str`Use the value or the label of ${attr.displayName}`)}</legend>
      ${opts.map(
        (o) =>
          html`<label
            ><input
              type="radio"
              name=${name}
              .checked=${m.use === o.v}
              ?disabled=${!isCompatible(attr, f.type, o.v)}
              @change=${() => this._setMapping(f.name, { ...m, use: o.v })}
            />${o.label}</label
          >`,
      )}
    </fieldset>`;
  }

  /** Through a lookup: the related table (when it can point to several) and its column. */
  private _renderVia(f: ObjectField, m: Mapping, attr: AttributeInfo) {
    const via = m.via!;
    const targets = attr.targets ?? [];
    const rowKey = `${mappingKey(f.name)}.via`;
    const attrs = this.attrs.get(via.entity);
    const label = (t: string) => entityLabel(this.entities, t);
    return html`<div class="sub">
      <div class="grid two">
        ${
          targets.length > 1
            ? selectField(
                `${rowKey}.entity`,
                msg(str`Related table (${attr.displayName} can point to ${listFormat(targets.map(label), "disjunction")})`),
                via.entity,
                targets.map((t) => ({ value: t, label: label(t) })),
                this._err(`${rowKey}.entity`),
                (v) => {
                  this._setMapping(f.name, { ...m, via: { entity: v, attribute: "" } }, `${rowKey}.entity`);
                  emitEditor(this, "dc-editor-attributes-need", { logicalName: v });
                },
                { id: `via-entity-${f.name}` },
              )
            : html`<div class="field"><span class="label">${msg("Related table")}</span><span>${label(via.entity || targets[0] || "")}</span></div>`
        }
        ${
          attrs
            ? html`<dc-combobox
                label=${msg(str`Column of ${label(via.entity)}`)}
                data-field-key=${rowKey}
                .items=${sourceItems(attrs, f.type, this._showAll.has(rowKey))}
                .value=${via.attribute}
                .valueLabel=${via.attribute}
                @dc-combobox-change=${(e: GlobalEventHandlersEventMap["dc-combobox-change"]) => {
                  const va = attrs.find((a) => a.logicalName === e.detail.value);
                  this._setMapping(f.name, { ...m, via: { ...via, attribute: e.detail.value }, use: va ? preferredUse(va, f.type) : "value" });
                }}
                @dc-combobox-action=${(e: GlobalEventHandlersEventMap["dc-combobox-action"]) => this._toggleShowAll(rowKey, e.detail.value)}
              ></dc-combobox>`
            : html`<p class="help" role="status">${msg(str`Loading columns of ${label(via.entity)}…`)}</p>`
        }
      </div>
    </div>`;
  }
}

define("dc-editor-mappings-section", DcEditorMappingsSection);

declare global {
  interface HTMLElementTagNameMap {
    "dc-editor-mappings-section": DcEditorMappingsSection;
  }
}
