import { msg, str } from "@lit/localize";
import { html, nothing, type TemplateResult } from "lit";
import { property } from "lit/decorators.js";
import { define } from "../../util/define";
import { renderBanner, type Banner } from "../banner";
import { emitEditor } from "../editor-events";
import type { TargetObject } from "../types";
import { EditorSection, editorSection } from "./editor-section";

/** A sample record as the edge maps it, with the problems of its cells (`field` null: of the record). */
export interface PreviewRow {
  sourceId: string;
  fields: Record<string, unknown>;
  errors: Array<{ field: string | null; value: unknown; reason: string }>;
}

/** The last preview: its rows and when they were fetched. */
export interface PreviewResult {
  rows: PreviewRow[];
  at: number;
}

function displayValue(v: unknown): TemplateResult | string {
  if (v === null || v === undefined) return html`<span class="null">${msg("empty")}</span>`;
  if (Array.isArray(v)) return v.map((x) => String(x)).join(", ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/**
 * Section 6, "Preview": "Fetch 10 sample records" and the table of their mapped values, cells with a problem saying
 * why. The editor fetches them (it decides whether the draft or the saved job is previewed).
 *
 * @event dc-editor-preview-run - "Fetch 10 sample records".
 * @event dc-editor-preview-dismiss - the error banner was dismissed.
 */
export class DcEditorPreviewPanel extends EditorSection {
  /** The last preview (null: none yet). */
  @property({ attribute: false }) preview: PreviewResult | null = null;
  /** Fetching. */
  @property({ attribute: false }) busy = false;
  /** Fetching is not possible now (saving, or no table or object chosen). */
  @property({ attribute: false }) disabled = false;
  /** Why the last fetch failed. */
  @property({ attribute: false }) error: Banner | null = null;
  /** The target object (column headers are its field labels). */
  @property({ attribute: false }) object: TargetObject | undefined;

  override render() {
    const p = this.preview;
    const d = this.draft;
    const cols = d.mappings.filter((m) => m.source).map((m) => m.target);
    const lookupCols = d.lookups.map((l) => l.target).filter(Boolean);
    const allCols = [...new Set([...cols, ...lookupCols])];
    const label = (t: string) => this.object?.fields.find((f) => f.name === t)?.label ?? t;
    return editorSection(
      6,
      "sec-preview",
      msg("Preview"),
      html`
        <div class="toolbar">
          <button ?disabled=${this.busy || this.disabled} @click=${() => emitEditor(this, "dc-editor-preview-run", {})}>
            ${this.busy ? msg("Fetching…") : msg("Fetch 10 sample records")}
          </button>
          <span class="help">${msg("Reads live from Dynamics and maps what you see here, saved or not; nothing is written.")}</span>
        </div>
        ${renderBanner(this.error, "preview-error", () => emitEditor(this, "dc-editor-preview-dismiss", {}))}
        ${
          p
            ? html` <p role="status" class="help">
                  ${
                    p.rows.length === 1
                      ? msg(str`1 record, ${p.rows.reduce((n, r) => n + r.errors.length, 0)} problem(s).`)
                      : msg(str`${p.rows.length} records, ${p.rows.reduce((n, r) => n + r.errors.length, 0)} problem(s).`)
                  }
                </p>
                ${
                  p.rows.length
                    ? html`<div class="table-wrap" tabindex="0" role="region" aria-label=${msg("Sample records")}>
                        <table part="preview-table">
                          <caption>
                            ${msg(str`Mapped values of ${p.rows.length} sample records; cells with a problem say why.`)}
                          </caption>
                          <thead>
                            <tr>
                              <th scope="col">${msg("Dynamics id")}</th>
                              ${allCols.map((c) => html`<th scope="col">${label(c)}</th>`)}
                            </tr>
                          </thead>
                          <tbody>
                            ${p.rows.map(
                              (r) =>
                                html`<tr>
                                  <th scope="row"><code>${r.sourceId}</code></th>
                                  ${allCols.map((c) => {
                                    const errs = r.errors.filter((e) => e.field === c);
                                    return html`<td class=${errs.length ? "cell-error" : ""}>
                                      ${errs.length ? html`<span aria-hidden="true">⚠ </span>${displayValue(errs[0]!.value ?? r.fields[c])}${errs.map((e) => html`<span class="cell-reason">${e.reason}</span>`)}` : displayValue(r.fields[c])}
                                    </td>`;
                                  })}
                                </tr>`,
                            )}
                          </tbody>
                        </table>
                      </div>`
                    : html`<p class="help">${msg("No records matched the filter.")}</p>`
                }
                ${
                  p.rows.some((r) => r.errors.some((e) => !e.field || !allCols.includes(e.field)))
                    ? html`<ul>
                        ${p.rows.flatMap((r) => r.errors.filter((e) => !e.field || !allCols.includes(e.field)).map((e) => html`<li><code>${r.sourceId}</code>${e.field ? ` · ${label(e.field)}` : ""}: ${e.reason}</li>`))}
                      </ul>`
                    : nothing
                }`
            : nothing
        }
      `,
    );
  }
}

define("dc-editor-preview-panel", DcEditorPreviewPanel);

declare global {
  interface HTMLElementTagNameMap {
    "dc-editor-preview-panel": DcEditorPreviewPanel;
  }
}
