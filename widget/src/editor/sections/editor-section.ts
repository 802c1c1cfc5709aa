import { updateWhenLocaleChanges } from "@lit/localize";
import { LitElement, html, nothing, type TemplateResult } from "lit";
import { property } from "lit/decorators.js";
import { live } from "lit/directives/live.js";
import { emitEditor, type DraftPatch } from "../editor-events";
import type { EditorDraft } from "../job-model";

/**
 * The base of the editor's sections. A section renders the draft it is given and sends its edits to
 * `<dc-job-editor>` as `dc-editor-edit` events; the editor owns the draft and the validation errors.
 *
 * Sections have no shadow root: they render into the editor's, so its one stylesheet, its `::part`s, the id
 * references between its parts (label `for`, `aria-controls`, `aria-describedby`) and its focus on the first field
 * in error (found by `data-field-key` in page order) work across sections as they do within one.
 */
export abstract class EditorSection extends LitElement {
  /** The draft being edited (a new object on every change). */
  @property({ attribute: false }) draft!: EditorDraft;
  /** Validation messages by form key (`name`, `mapping:LastName`, `lookups.0.target` …). */
  @property({ attribute: false }) errors: ReadonlyMap<string, string[]> = new Map();

  constructor() {
    super();
    // What @localized() does, for an abstract base class: every section re-renders in a newly chosen language.
    updateWhenLocaleChanges(this);
  }

  protected override createRenderRoot() {
    return this;
  }

  /** The error text of a form key ("" when it has none). */
  protected _err(key: string): string {
    return (this.errors.get(key) ?? []).join(" ");
  }

  /** Sends a draft change; `clear`: the form keys whose errors it answers. */
  protected _edit(patch: DraftPatch, ...clear: string[]): void {
    emitEditor(this, "dc-editor-edit", { patch, ...(clear.length ? { clear } : {}) });
  }

  /** A labelled text input bound to a form key (its error, `aria-invalid`, help text). */
  protected _input(
    key: string,
    label: string,
    value: string,
    onInput: (v: string) => DraftPatch,
    opts: { type?: string; help?: string; placeholder?: string; required?: boolean; id?: string } = {},
  ): TemplateResult {
    const id = opts.id ?? `f-${key.replace(/[^a-z0-9]/gi, "-")}`;
    const err = this._err(key);
    const described = [err ? `${id}-err` : "", opts.help ? `${id}-help` : ""].filter(Boolean).join(" ");
    return html`<div class="field">
      <label for=${id}>${label}${opts.required ? html`<span aria-hidden="true"> *</span>` : nothing}</label>
      <input
        id=${id}
        type=${opts.type ?? "text"}
        data-field-key=${key}
        .value=${live(value)}
        placeholder=${opts.placeholder ?? ""}
        aria-invalid=${err ? "true" : "false"}
        aria-required=${opts.required ? "true" : "false"}
        aria-describedby=${described || nothing}
        @input=${(e: Event) => this._edit(onInput((e.target as HTMLInputElement).value), key)}
      />
      ${opts.help ? html`<p class="help" id="${id}-help">${opts.help}</p>` : nothing} ${err ? html`<p class="error" id="${id}-err">${err}</p>` : nothing}
    </div>`;
  }

  /** A labelled select bound to a form key; `onChange` returns the draft change (`opts.clear`: more keys it answers). */
  protected _select<T extends string>(
    key: string,
    label: string,
    value: T,
    options: ReadonlyArray<{ value: T; label: string }>,
    onChange: (v: T) => DraftPatch,
    opts: { id?: string; hideLabel?: boolean; help?: string; clear?: string[] } = {},
  ): TemplateResult {
    return selectField(key, label, value, options, this._err(key), (v) => this._edit(onChange(v), ...(opts.clear ?? []), key), opts);
  }
}

/** A labelled select; shared by the sections and the add-field dialog. */
export function selectField<T extends string>(
  key: string,
  label: string,
  value: T,
  options: ReadonlyArray<{ value: T; label: string }>,
  err: string,
  onChange: (v: T) => void,
  opts: { id?: string; hideLabel?: boolean; help?: string } = {},
): TemplateResult {
  const id = opts.id ?? `s-${key.replace(/[^a-z0-9]/gi, "-")}`;
  const described = [err ? `${id}-err` : "", opts.help ? `${id}-help` : ""].filter(Boolean).join(" ");
  return html`<div class="field">
    <label for=${id} class=${opts.hideLabel ? "visually-hidden" : ""}>${label}</label>
    <select
      id=${id}
      data-field-key=${key}
      aria-invalid=${err ? "true" : "false"}
      aria-describedby=${described || nothing}
      @change=${(e: Event) => onChange((e.target as HTMLSelectElement).value as T)}
    >
      ${options.map((o) => html`<option value=${o.value} ?selected=${o.value === value}>${o.label}</option>`)}
    </select>
    ${opts.help ? html`<p class="help" id="${id}-help">${opts.help}</p>` : nothing} ${err ? html`<p class="error" id="${id}-err">${err}</p>` : nothing}
  </div>`;
}

/** A numbered section of the editor's page, labelled by its heading. */
export function editorSection(n: number, id: string, title: string, body: TemplateResult): TemplateResult {
  return html`<section part="section" id=${id} aria-labelledby="${id}-h">
    <h3 id="${id}-h"><span class="section-num" aria-hidden="true">${n}.</span>${title}</h3>
    ${body}
  </section>`;
}
