import { msg, str } from "@lit/localize";
import { html, nothing } from "lit";
import { property } from "lit/decorators.js";
import { live } from "lit/directives/live.js";
import { define } from "../../util/define";
import "../combobox";
import { emitEditor } from "../editor-events";
import { buildFilter, OPERATORS, operatorLabel, operatorsFor, parseFilter, valueError, type FilterCondition, type FilterOperator } from "../filter-builder";
import { attrMap, sourceItems } from "../metadata-views";
import type { AttributeInfo } from "../types";
import { EditorSection, editorSection, selectField } from "./editor-section";

/**
 * Section 4, "Filter": a condition builder and the OData `$filter` text it writes. The text is the truth; editing it
 * updates the builder when the builder can express it, else the builder steps aside ("written by hand").
 *
 * @event dc-editor-filter-change - `detail: { filter, conditions }` the builder or the text changed.
 */
export class DcEditorFilterSection extends EditorSection {
  /** The source table's columns (undefined: not loaded). */
  @property({ attribute: false }) attrs: AttributeInfo[] | undefined;
  /** The builder's rows (null: the text is hand-written beyond what the builder expresses). */
  @property({ attribute: false }) conditions: FilterCondition[] | null = [];

  private _setConditions(conditions: FilterCondition[]) {
    emitEditor(this, "dc-editor-filter-change", { conditions, filter: buildFilter(conditions, attrMap(this.attrs)) ?? "" });
  }

  private _setText(filter: string) {
    emitEditor(this, "dc-editor-filter-change", { filter, conditions: parseFilter(filter, attrMap(this.attrs)) });
  }

  override render() {
    const d = this.draft;
    const attrs = attrMap(this.attrs);
    const conds = this.conditions;
    const items = sourceItems(this.attrs, null);
    const err = this._err("source.filter");
    return editorSection(
      4,
      "sec-filter",
      msg("Filter"),
      html`
        <p class="help">${msg("Only records that meet every condition are synced. Leave empty to sync all.")}</p>
        ${
          conds === null
            ? html`<p class="help" role="note">
                ${msg("This filter was written by hand; edit the text below or")}
                <button class="link" @click=${() => this._setConditions([])}>${msg("start over with the builder")}</button>.
              </p>`
            : html`${conds.map((c, i) => {
                  const a = attrs.get(c.attribute);
                  const ops = operatorsFor(a?.type);
                  const needsValue = OPERATORS.find((o) => o.op === c.operator)?.needsValue ?? true;
                  const vErr = c.attribute && needsValue && c.value !== "" ? valueError(a?.type, c.value) : null;
                  const set = (patch: Partial<FilterCondition>) => this._setConditions(conds.map((x, j) => (j === i ? { ...x, ...patch } : x)));
                  return html`<div class="row" role="group" aria-label=${msg(str`Condition ${i + 1}`)}>
                    <div class="grow">
                      <dc-combobox
                        label=${msg(str`Condition ${i + 1}: column`)}
                        .items=${items}
                        .value=${c.attribute}
                        .valueLabel=${c.attribute}
                        @dc-combobox-change=${(e: GlobalEventHandlersEventMap["dc-combobox-change"]) => {
                          const nops = operatorsFor(attrs.get(e.detail.value)?.type);
                          set({ attribute: e.detail.value, operator: nops.includes(c.operator) ? c.operator : nops[0]! });
                        }}
                      ></dc-combobox>
                    </div>
                    <div class="grow">
                      ${selectField(
                        `filter.${i}.op`,
                        msg(str`Condition ${i + 1}: operator`),
                        c.operator,
                        ops.map((op) => ({ value: op, label: operatorLabel(op) })),
                        this._err(`filter.${i}.op`),
                        (v) => set({ operator: v as FilterOperator }),
                        { id: `flt-op-${i}` },
                      )}
                    </div>
                    ${
                      needsValue
                        ? html`<div class="grow field">
                            ${
                              a?.options?.length
                                ? html`<label for="flt-val-${i}">${msg(str`Condition ${i + 1}: value`)}</label>
                                    <select id="flt-val-${i}" @change=${(e: Event) => set({ value: (e.target as HTMLSelectElement).value })}>
                                      <option value="" ?selected=${c.value === ""}>${msg("Choose")}</option>
                                      ${a.options.map((o) => html`<option value=${String(o.value)} ?selected=${c.value === String(o.value)}>${o.label}</option>`)}
                                    </select>`
                                : html`<label for="flt-val-${i}">${msg(str`Condition ${i + 1}: value`)}</label>
                                    <input
                                      id="flt-val-${i}"
                                      type=${a?.type === "DateTime" ? "date" : "text"}
                                      .value=${live(c.value)}
                                      aria-invalid=${vErr ? "true" : "false"}
                                      aria-describedby=${vErr ? `flt-val-${i}-err` : nothing}
                                      @input=${(e: Event) => set({ value: (e.target as HTMLInputElement).value })}
                                    />`
                            }
                            ${vErr ? html`<p class="error" id="flt-val-${i}-err">${vErr}</p>` : nothing}
                          </div>`
                        : nothing
                    }
                    <button class="icon" aria-label=${msg(str`Remove condition ${i + 1}`)} @click=${() => this._setConditions(conds.filter((_, j) => j !== i))}>
                      ✕
                    </button>
                  </div>`;
                })}
                <button ?disabled=${!d.entity} @click=${() => this._setConditions([...conds, { attribute: "", operator: "eq", value: "" }])}>
                  ${msg("Add condition")}
                </button>`
        }
        <div class="field spaced">
          <label for="filter-text">${msg("OData filter")}</label>
          <textarea
            id="filter-text"
            data-field-key="source.filter"
            spellcheck="false"
            .value=${live(d.filter)}
            placeholder="statecode eq 0"
            aria-invalid=${err ? "true" : "false"}
            aria-describedby=${err ? "filter-text-err filter-text-help" : "filter-text-help"}
            @input=${(e: Event) => this._setText((e.target as HTMLTextAreaElement).value)}
          ></textarea>
          <p class="help" id="filter-text-help">${msg("The $filter sent to Dynamics. Editing it here updates the builder when it can.")}</p>
          ${err ? html`<p class="error" id="filter-text-err">${err}</p>` : nothing}
        </div>
      `,
    );
  }
}

define("dc-editor-filter-section", DcEditorFilterSection);

declare global {
  interface HTMLElementTagNameMap {
    "dc-editor-filter-section": DcEditorFilterSection;
  }
}
