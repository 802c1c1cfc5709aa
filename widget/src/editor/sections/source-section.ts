import { msg, str } from "@lit/localize";
import { html, nothing } from "lit";
import { property, query, state } from "lit/decorators.js";
import { define } from "../../util/define";
import { formatNumber } from "../../util/format";
import "../combobox";
import { relativeTime, TickController } from "../controllers";
import "../dialogs/create-object";
import type { DcEditorCreateObject } from "../dialogs/create-object";
import { emitEditor } from "../editor-events";
import { entityItems, objectItems } from "../metadata-views";
import type { AttributeInfo, EditorClient, EntityInfo, TargetObject } from "../types";
import { EditorSection, editorSection } from "./editor-section";

const NO_ATTRS: AttributeInfo[] = [];

/**
 * Section 1, "Source and target": the job's name, the Dynamics table it reads (with the metadata refresh), the
 * object it fills, and the panel that creates a custom object from the table.
 *
 * @event dc-editor-edit - the name changed.
 * @event dc-editor-entity-pick - `detail: { logicalName }` a table was picked.
 * @event dc-editor-object-pick - `detail: { name }` an object was picked.
 * @event dc-editor-metadata-refresh - "Refresh tables and columns".
 * @event dc-editor-object-created - (from the create-object panel) an object was created.
 */
export class DcEditorSourceSection extends EditorSection {
  /** The Dynamics tables (null: loading). */
  @property({ attribute: false }) entities: EntityInfo[] | null = null;
  /** When the table list was fetched (0: unknown). */
  @property({ attribute: false }) entitiesAt = 0;
  /** The source table's columns (undefined: not loaded). */
  @property({ attribute: false }) attrs: AttributeInfo[] | undefined;
  /** The target objects (null: loading). */
  @property({ attribute: false }) objects: TargetObject[] | null = null;
  /** The metadata refresh is running. */
  @property({ attribute: false }) refreshing = false;
  /** The edge API client (the create-object panel posts with it). */
  @property({ attribute: false }) client!: EditorClient;

  @state() private _createOpen = false;
  @query("dc-editor-create-object") private _createPanel!: DcEditorCreateObject | null;

  constructor() {
    super();
    // "Table list from 3 min ago" stays true while the page is open.
    new TickController(this, 5000);
  }

  override render() {
    const d = this.draft;
    const e = this.entities?.find((x) => x.logicalName === d.entity);
    const loadingEntities = this.entities === null;
    return editorSection(
      1,
      "sec-source",
      msg("Source and target"),
      html`
        <div class="grid two">
          ${this._input("name", msg("Job name"), d.name, (v) => ({ name: v }), { required: true, placeholder: msg("Accounts → Companies") })}
          <div></div>
          <div class="field">
            <dc-combobox
              label=${msg("Dynamics table")}
              required
              data-field-key="source.entity"
              placeholder=${loadingEntities ? msg("Loading tables…") : msg(str`Search ${formatNumber(this.entities?.length ?? 0)} tables by name`)}
              .items=${entityItems(this.entities)}
              .value=${d.entity}
              .valueLabel=${d.entity}
              .error=${this._err("source.entity")}
              .description=${e ? (e.changeTracking ? msg("Change tracking on: later runs read only what changed.") : msg("No change tracking: runs compare modified dates.")) : ""}
              ?disabled=${loadingEntities}
              @dc-combobox-change=${(ev: GlobalEventHandlersEventMap["dc-combobox-change"]) => emitEditor(this, "dc-editor-entity-pick", { logicalName: ev.detail.value })}
            ></dc-combobox>
            <p class="help">
              ${this.entitiesAt ? msg(str`Table list from ${relativeTime(this.entitiesAt)}.`) : nothing}
              <button class="link" ?disabled=${this.refreshing} @click=${() => emitEditor(this, "dc-editor-metadata-refresh", {})}>
                ${this.refreshing ? msg("Refreshing…") : msg("Refresh tables and columns")}
              </button>
            </p>
          </div>
          <div class="field">
            <dc-combobox
              label=${msg("Target object")}
              required
              data-field-key="target.object"
              placeholder=${this.objects === null ? msg("Loading objects…") : msg("Choose an object")}
              .items=${objectItems(this.objects)}
              .value=${d.targetObject}
              .valueLabel=${d.targetObject}
              .error=${this._err("target.object")}
              ?disabled=${this.objects === null}
              @dc-combobox-change=${(ev: GlobalEventHandlersEventMap["dc-combobox-change"]) => emitEditor(this, "dc-editor-object-pick", { name: ev.detail.value })}
            ></dc-combobox>
            <p class="help">
              <button
                class="link"
                ?disabled=${!e || !this.attrs}
                @click=${() => this._createPanel?.show()}
                aria-expanded=${this._createOpen ? "true" : "false"}
                aria-controls="create-object"
              >
                ${msg("Create a custom object from this table")}
              </button>
            </p>
          </div>
        </div>
        <dc-editor-create-object
          .entity=${e}
          .attrs=${this.attrs ?? NO_ATTRS}
          .objects=${this.objects}
          .client=${this.client}
          @dc-editor-create-object-toggle=${(ev: GlobalEventHandlersEventMap["dc-editor-create-object-toggle"]) => (this._createOpen = ev.detail.open)}
        ></dc-editor-create-object>
      `,
    );
  }
}

define("dc-editor-source-section", DcEditorSourceSection);

declare global {
  interface HTMLElementTagNameMap {
    "dc-editor-source-section": DcEditorSourceSection;
  }
}
