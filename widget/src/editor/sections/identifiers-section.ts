import { msg, str } from "@lit/localize";
import { html, nothing } from "lit";
import { property } from "lit/decorators.js";
import { define } from "../../util/define";
import { deleteLabels, modeLabels, onMissingLabels } from "../../util/job-wording";
import "../combobox";
import type { DeletePolicy, EditorDraft, JobMode, OnMissing } from "../job-model";
import { sourceItems } from "../metadata-views";
import type { AttributeInfo, EntityInfo, TargetObject } from "../types";
import { EditorSection, editorSection } from "./editor-section";

const MODES = (): Array<{ value: JobMode; label: string; help: string }> =>
  Object.entries(modeLabels()).map(([value, l]) => ({ value: value as JobMode, ...l }));
const DELETES = (): Array<{ value: DeletePolicy; label: string }> =>
  Object.entries(deleteLabels()).map(([value, label]) => ({ value: value as DeletePolicy, label }));
const ON_MISSING = (): Array<{ value: OnMissing; label: string }> =>
  Object.entries(onMissingLabels()).map(([value, label]) => ({ value: value as OnMissing, label }));

type Lookup = EditorDraft["lookups"][number];

/**
 * Section 3, "Identifiers and lookups": what happens when a record arrives or is deleted in Dynamics, the fields that
 * recognise a record synced before (the upsert key), and lookups that link each record to one of another object.
 *
 * @event dc-editor-edit - the mode, deletes, identifiers or lookups changed.
 */
export class DcEditorIdentifiersSection extends EditorSection {
  /** The target object (undefined: none chosen yet). */
  @property({ attribute: false }) object: TargetObject | undefined;
  /** Every target object (a lookup finds its record in one). */
  @property({ attribute: false }) objects: TargetObject[] | null = null;
  /** The source table (its id column is the usual identifier). */
  @property({ attribute: false }) entity: EntityInfo | undefined;
  /** The source table's columns (undefined: not loaded). */
  @property({ attribute: false }) attrs: AttributeInfo[] | undefined;

  override render() {
    const d = this.draft;
    const fieldOpts = [
      { value: "", label: msg("Choose a field") },
      ...(this.object?.fields ?? [])
        .filter((f) => f.type !== "reference")
        .map((f) => ({ value: f.name, label: f.unique ? msg(str`${f.label} (unique)`) : f.label })),
    ];
    const srcItems = sourceItems(this.attrs, null);
    const ids = (next: EditorDraft["identifiers"], ...clear: string[]) => this._edit({ identifiers: next }, "identifiers", ...clear);
    return editorSection(
      3,
      "sec-identifiers",
      msg("Identifiers and lookups"),
      html`
        <div class="grid two">
          <fieldset data-field-key="mode">
            <legend>${msg("When a record arrives")}</legend>
            <div class="choices stacked">
              ${MODES().map(
                (mo) =>
                  html`<label
                    ><input type="radio" name="mode" .checked=${d.mode === mo.value} @change=${() => this._edit({ mode: mo.value })} />${mo.label}
                    <span class="grey">${mo.help}</span></label
                  >`,
              )}
            </div>
          </fieldset>
          <fieldset data-field-key="deletes">
            <legend>${msg("When a record is deleted in Dynamics")}</legend>
            <div class="choices stacked">
              ${DELETES().map((o) => html`<label><input type="radio" name="deletes" .checked=${d.deletes === o.value} @change=${() => this._edit({ deletes: o.value })} />${o.label}</label>`)}
            </div>
          </fieldset>
        </div>

        <h4>${msg("Identifier (upsert key)")}</h4>
        <p class="help">${msg("Which field recognises a record that was synced before. Usually Dynamics ID filled from the table's id column.")}</p>
        ${this._err("identifiers") ? html`<p class="error" data-field-key="identifiers" tabindex="-1">${this._err("identifiers")}</p>` : nothing}
        ${d.identifiers.map(
          (id, i) =>
            html`<div class="row">
              <div class="grow">
                ${this._select(
                  `identifiers.${i}.target`,
                  msg(str`Identifier ${i + 1}: target field`),
                  id.target,
                  fieldOpts,
                  (v) => ({ identifiers: d.identifiers.map((x, j) => (j === i ? { ...x, target: v } : x)) }),
                  { id: `id-target-${i}`, clear: ["identifiers"] },
                )}
              </div>
              <div class="grow">
                <dc-combobox
                  label=${msg(str`Identifier ${i + 1}: column`)}
                  data-field-key="identifiers.${i}.source"
                  .items=${srcItems}
                  .value=${id.source}
                  .valueLabel=${id.source}
                  .error=${this._err(`identifiers.${i}.source`)}
                  @dc-combobox-change=${(e: GlobalEventHandlersEventMap["dc-combobox-change"]) =>
                    ids(
                      d.identifiers.map((x, j) => (j === i ? { ...x, source: e.detail.value } : x)),
                      `identifiers.${i}.source`,
                    )}
                ></dc-combobox>
              </div>
              <button class="icon" aria-label=${msg(str`Remove identifier ${i + 1}`)} @click=${() => ids(d.identifiers.filter((_, j) => j !== i))}>✕</button>
            </div>`,
        )}
        ${d.identifiers.length < 3 ? html`<button @click=${() => ids([...d.identifiers, { target: "", source: d.identifiers.length ? "" : (this.entity?.primaryIdAttribute ?? "") }])}>${msg("Add identifier")}</button>` : nothing}

        <h4>${msg("Lookups")}</h4>
        <p class="help">${msg("Link each record to a record of another object, found by matching fields (up to 6).")}</p>
        ${d.lookups.map((l, i) => this._renderLookup(l, i))}
        ${d.lookups.length < 20 ? html`<button @click=${() => this._edit({ lookups: [...d.lookups, { target: "", object: "", match: [{ source: "", field: "" }], onMissing: "null", onEmpty: "null" }] })}>${msg("Add lookup")}</button>` : nothing}
      `,
    );
  }

  private _renderLookup(l: Lookup, i: number) {
    const d = this.draft;
    const obj = this.object;
    const other = this.objects?.find((o) => o.name === l.object);
    const lookup = (patch: Partial<Lookup>) => ({ lookups: d.lookups.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
    const targetFields = (obj?.fields ?? []).filter((f) => f.type === "reference" || f.type === "id" || f.type === "string");
    const srcItems = sourceItems(this.attrs, null);
    return html`<div class="sub" role="group" aria-label=${msg(str`Lookup ${i + 1}`)}>
      <div class="grid two">
        ${this._select(
          `lookups.${i}.target`,
          msg("Field to fill"),
          l.target,
          [
            { value: "", label: msg("Choose a field") },
            ...targetFields.map((f) => ({ value: f.name, label: `${f.label}${f.references ? ` (→ ${f.references})` : ""}` })),
          ],
          (v) => {
            const f = obj?.fields.find((x) => x.name === v);
            return lookup({ target: v, ...(f?.references ? { object: f.references } : {}) });
          },
          { id: `lk-target-${i}` },
        )}
        ${this._select(
          `lookups.${i}.object`,
          msg("Find the record in"),
          l.object,
          [{ value: "", label: msg("Choose an object") }, ...(this.objects ?? []).map((o) => ({ value: o.name, label: o.label }))],
          (v) => lookup({ object: v, match: l.match.map((m) => ({ ...m, field: "" })) }),
          { id: `lk-object-${i}` },
        )}
      </div>
      <fieldset>
        <legend>${msg("Match when")}</legend>
        ${l.match.map(
          (m, k) =>
            html`<div class="row">
              <div class="grow">
                <dc-combobox
                  label=${msg(str`Column ${k + 1}`)}
                  data-field-key="lookups.${i}.match.${k}.source"
                  .items=${srcItems}
                  .value=${m.source}
                  .valueLabel=${m.source}
                  .error=${this._err(`lookups.${i}.match.${k}.source`)}
                  @dc-combobox-change=${(e: GlobalEventHandlersEventMap["dc-combobox-change"]) =>
                    this._edit(lookup({ match: l.match.map((x, q) => (q === k ? { ...x, source: e.detail.value } : x)) }), `lookups.${i}.match.${k}.source`)}
                ></dc-combobox>
              </div>
              <div class="grow">
                ${this._select(
                  `lookups.${i}.match.${k}.field`,
                  other ? msg(str`equals field ${k + 1} of ${other.label}`) : msg(str`equals field ${k + 1} of the object`),
                  m.field,
                  [{ value: "", label: msg("Choose a field") }, ...(other?.fields ?? []).map((f) => ({ value: f.name, label: f.label }))],
                  (v) => lookup({ match: l.match.map((x, q) => (q === k ? { ...x, field: v } : x)) }),
                  { id: `lk-${i}-field-${k}` },
                )}
              </div>
              ${l.match.length > 1 ? html`<button class="icon" aria-label=${msg(str`Remove match ${k + 1} of lookup ${i + 1}`)} @click=${() => this._edit(lookup({ match: l.match.filter((_, q) => q !== k) }))}>✕</button>` : nothing}
            </div>`,
        )}
        ${l.match.length < 6 ? html`<button @click=${() => this._edit(lookup({ match: [...l.match, { source: "", field: "" }] }))}>${msg("Add match field")}</button>` : html`<p class="help">${msg("Up to 6 match fields.")}</p>`}
      </fieldset>
      <div class="row">
        <div class="grow">
          ${this._select(`lookups.${i}.onMissing`, msg("When no record matches"), l.onMissing, ON_MISSING(), (v) => lookup({ onMissing: v }), { id: `lk-missing-${i}` })}
        </div>
        <div class="grow">
          ${this._select(`lookups.${i}.onEmpty`, msg("When the column is empty"), l.onEmpty, ON_MISSING(), (v) => lookup({ onEmpty: v }), { id: `lk-empty-${i}` })}
        </div>
        <button @click=${() => this._edit({ lookups: d.lookups.filter((_, j) => j !== i) })}>${msg(str`Remove lookup ${i + 1}`)}</button>
      </div>
    </div>`;
  }
}

define("dc-editor-identifiers-section", DcEditorIdentifiersSection);

declare global {
  interface HTMLElementTagNameMap {
    "dc-editor-identifiers-section": DcEditorIdentifiersSection;
  }
}
