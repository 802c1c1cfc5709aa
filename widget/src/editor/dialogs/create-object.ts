import { localized, msg, str } from "@lit/localize";
import { LitElement, html, nothing } from "lit";
import { property, state } from "lit/decorators.js";
import { live } from "lit/directives/live.js";
import { isMappable } from "#contract/compatibility";
import { edgeErrorText } from "../../l10n/localization";
import { define } from "../../util/define";
import { fieldTypeForAttribute, fieldTypeLabel } from "../compatibility";
import { emitEditor } from "../editor-events";
import { defaultAttributeSelection, deriveObject } from "../job-model";
import { isEdgeError, type AttributeInfo, type EditorClient, type EntityInfo, type TargetObject } from "../types";

interface CreateObjectForm {
  name: string;
  label: string;
  selected: Set<string>;
  filter: string;
  busy: boolean;
  error: string;
}

/**
 * "Create a custom object from this table": an inline panel (`#create-object`) to name the object and pick the
 * columns that become its fields; POST /objects creates it. Renders into the editor's shadow root (no shadow root of
 * its own; see EditorSection).
 *
 * @event dc-editor-create-object-toggle - `detail: { open }` when the panel opens or closes.
 * @event dc-editor-object-created - `detail: { object, derived }` once the edge created the object.
 */
@localized()
export class DcEditorCreateObject extends LitElement {
  /** The source table the object is made from. */
  @property({ attribute: false }) entity: EntityInfo | undefined;
  /** Its columns. */
  @property({ attribute: false }) attrs: AttributeInfo[] = [];
  /** The existing objects (a new name must not clash with theirs). */
  @property({ attribute: false }) objects: TargetObject[] | null = null;
  /** The edge API client. */
  @property({ attribute: false }) client!: EditorClient;

  @state() private _form: CreateObjectForm | null = null;

  protected override createRenderRoot() {
    return this;
  }

  /** Opens the panel (again: afresh) with the table's name, label and suggested columns, and focuses the name. */
  show(): void {
    const e = this.entity;
    if (!e) return;
    const name = deriveObject(e, [], new Set()).body.name;
    const taken = new Set((this.objects ?? []).map((o) => o.name.toLowerCase()));
    let unique = name;
    for (let i = 2; taken.has(unique.toLowerCase()); i++) unique = `${name}${i}`;
    this._form = {
      name: unique,
      label: e.displayName || e.logicalName,
      selected: new Set(defaultAttributeSelection(e, this.attrs)),
      filter: "",
      busy: false,
      error: "",
    };
    emitEditor(this, "dc-editor-create-object-toggle", { open: true });
    void this.updateComplete.then(() => this.querySelector<HTMLInputElement>("#create-name")?.focus());
  }

  private _close() {
    this._form = null;
    emitEditor(this, "dc-editor-create-object-toggle", { open: false });
  }

  private async _create() {
    const c = this._form;
    const e = this.entity;
    if (!c || !e) return;
    const derived = deriveObject(e, this.attrs, c.selected, c.name.trim(), c.label.trim());
    this._form = { ...c, busy: true, error: "" };
    try {
      const created = await this.client.request<TargetObject>("POST", "/objects", { body: derived.body });
      emitEditor(this, "dc-editor-object-created", { object: created, derived });
      this._close();
    } catch (err) {
      const details = isEdgeError(err) && err.details?.length ? err.details.map((d) => `${d.path}: ${d.message}`).join("; ") : "";
      this._form = { ...c, busy: false, error: `${edgeErrorText(err)}${details ? ` (${details})` : ""}` };
    }
  }

  override render() {
    const c = this._form;
    if (!c) return html`<div id="create-object" hidden></div>`;
    const q = c.filter.trim().toLowerCase();
    const attrs = this.attrs.filter((a) => isMappable(a) && fieldTypeForAttribute(a) && a.logicalName !== this.entity?.primaryIdAttribute);
    const shown = q ? attrs.filter((a) => `${a.displayName} ${a.logicalName}`.toLowerCase().includes(q)) : attrs;
    const set = (patch: Partial<CreateObjectForm>) => (this._form = { ...c, ...patch });
    return html`<div class="sub" id="create-object" role="group" aria-labelledby="create-h">
      <h4 id="create-h">${msg(str`New object from ${this.entity?.displayName ?? ""}`)}</h4>
      <div class="grid two">
        <div class="field">
          <label for="create-name">${msg("Object name")}</label>
          <input
            id="create-name"
            .value=${live(c.name)}
            @input=${(e: Event) => set({ name: (e.target as HTMLInputElement).value })}
            aria-describedby="create-name-help"
          />
          <p class="help" id="create-name-help">${msg("Letters, digits and _; starts with a letter.")}</p>
        </div>
        <div class="field">
          <label for="create-label">${msg("Label")}</label>
          <input id="create-label" .value=${live(c.label)} @input=${(e: Event) => set({ label: (e.target as HTMLInputElement).value })} />
        </div>
      </div>
      <fieldset>
        <legend>${msg(str`Fields (${c.selected.size + 1} of ${attrs.length + 1}; Dynamics ID is always included)`)}</legend>
        <div class="row">
          <div class="grow field">
            <label for="create-filter" class="visually-hidden">${msg("Filter columns")}</label>
            <input
              id="create-filter"
              placeholder=${msg("Filter columns")}
              .value=${live(c.filter)}
              @input=${(e: Event) => set({ filter: (e.target as HTMLInputElement).value })}
            />
          </div>
          <button @click=${() => set({ selected: new Set([...c.selected, ...shown.map((a) => a.logicalName)]) })}>${msg("Select shown")}</button>
          <button
            @click=${() => {
              const s = new Set(c.selected);
              shown.forEach((a) => s.delete(a.logicalName));
              set({ selected: s });
            }}
          >
            ${msg("Clear shown")}
          </button>
        </div>
        <div class="attr-list">
          ${shown.map((a) => {
            const t = fieldTypeForAttribute(a)!;
            return html`<label
              ><input
                type="checkbox"
                .checked=${c.selected.has(a.logicalName)}
                @change=${(e: Event) => {
                  const s = new Set(c.selected);
                  if ((e.target as HTMLInputElement).checked) s.add(a.logicalName);
                  else s.delete(a.logicalName);
                  set({ selected: s });
                }}
              />${a.displayName || a.logicalName} <span class="grey">${a.logicalName} → ${fieldTypeLabel(t.type)}</span></label
            >`;
          })}
        </div>
      </fieldset>
      ${c.error ? html`<p class="error" role="alert">${c.error}</p>` : nothing}
      <div class="row actions">
        <button class="primary" ?disabled=${c.busy || !c.name.trim()} @click=${() => void this._create()}>
          ${c.busy ? msg("Creating…") : msg("Create object and map its fields")}
        </button>
        <button @click=${() => this._close()}>${msg("Cancel")}</button>
      </div>
    </div>`;
  }
}

define("dc-editor-create-object", DcEditorCreateObject);

declare global {
  interface HTMLElementTagNameMap {
    "dc-editor-create-object": DcEditorCreateObject;
  }
}
