import { localized, msg, str } from "@lit/localize";
import { LitElement, css, html, nothing, type PropertyValues } from "lit";
import { property, query, state } from "lit/decorators.js";
import { virtualize, virtualizerRef, type VirtualizerHostElement } from "@lit-labs/virtualizer/virtualize.js";
import { define } from "../util/define";
import { buildSearchIndex, filterIndex, type SearchIndex } from "./entity-filter";

export interface ComboItem {
  value: string;
  label: string;
  /** Shown in grey after the label (logical names). Searched too. */
  secondary?: string;
  /** Type icon: a glyph, and its name for screen readers. */
  icon?: { glyph: string; name: string };
  badges?: string[];
  /** Extra text under the label (why an attribute is not a good fit). */
  hint?: string;
  /** An option that does something instead of being a value ("Show 12 more attributes"); always listed last. */
  action?: boolean;
}

/** `detail` of `dc-combobox-change` and `dc-combobox-action`: the picked option's value. */
export interface ComboboxEventDetail {
  value: string;
}

const ROW_REM = 2.5;

/**
 * An ARIA 1.2 combobox with a list popup (list autocomplete): type to filter on label and secondary text, Arrow
 * keys / Home / End / Page keys move through the options, Enter picks, Escape closes (then clears the typed text).
 * The option list is virtualised, so 800+ entities stay cheap.
 *
 * @event dc-combobox-change - `detail: { value }` when an option is picked (not for actions).
 * @event dc-combobox-action - `detail: { value }` when an action option is picked.
 * @csspart label - the visible label.
 * @csspart input - the text box.
 * @csspart listbox - the popup list.
 * @csspart option - each option.
 * @cssproperty --dc-accent, --dc-focus, --dc-input-border, --dc-input-bg, --dc-bg, --dc-text, --dc-text-muted, --dc-radius, --dc-danger
 */
@localized()
export class DcCombobox extends LitElement {
  static override styles = css`
    :host {
      display: block;
      position: relative;
      min-width: 0;
      font: inherit;
      color: inherit;
    }
    label {
      display: block;
      font-weight: 600;
      margin-bottom: 0.25rem;
    }
    .visually-hidden {
      position: absolute;
      width: 1px;
      height: 1px;
      overflow: hidden;
      clip: rect(0 0 0 0);
      white-space: nowrap;
    }
    .field {
      position: relative;
      display: flex;
      align-items: center;
    }
    input {
      box-sizing: border-box;
      width: 100%;
      min-width: 0;
      font: inherit;
      color: inherit;
      padding: 0.45rem 2rem 0.45rem 0.6rem;
      border: 1px solid var(--dc-input-border, #8a8f98);
      border-radius: var(--dc-radius, 6px);
      background: var(--dc-input-bg, var(--dc-bg, Canvas));
      color: var(--dc-text, inherit);
    }
    input:focus-visible {
      outline: 2px solid var(--dc-focus, var(--dc-accent, #2563eb));
      outline-offset: 1px;
    }
    input[aria-invalid="true"] {
      border-color: var(--dc-danger, #b91c1c);
    }
    input:disabled {
      opacity: 0.6;
    }
    .chevron {
      position: absolute;
      right: 0.6rem;
      pointer-events: none;
      color: var(--dc-text-muted, color-mix(in srgb, currentColor 72%, transparent));
    }
    .popup {
      position: absolute;
      z-index: 20;
      left: 0;
      right: 0;
      margin-top: 2px;
      background: var(--dc-bg, Canvas);
      color: var(--dc-text, CanvasText);
      border: 1px solid var(--dc-input-border, #8a8f98);
      border-radius: var(--dc-radius, 6px);
      box-shadow: 0 6px 18px rgb(0 0 0 / 0.18);
      overflow: hidden;
    }
    .popup[hidden] {
      display: none;
    }
    /* Its height (rows shown) is written through the CSSOM in updated(): a style attribute would be blocked by a
       host's style-src CSP. The virtualizer writes its own styles the same way. */
    [role="listbox"] {
      overflow: auto;
      display: block;
      position: relative;
    }
    [role="option"] {
      box-sizing: border-box;
      width: 100%;
      height: ${ROW_REM}rem;
      padding: 0 0.6rem;
      display: flex;
      gap: 0.5rem;
      align-items: center;
      cursor: pointer;
      white-space: nowrap;
      overflow: hidden;
    }
    [role="option"][aria-selected="true"] {
      background: var(--dc-accent-soft, color-mix(in srgb, var(--dc-accent, #2563eb) 16%, transparent));
      outline: 2px solid var(--dc-accent, #2563eb);
      outline-offset: -2px;
    }
    [role="option"].action {
      color: var(--dc-link, var(--dc-accent, #1d4ed8));
      font-style: italic;
    }
    .text {
      display: flex;
      flex-direction: column;
      min-width: 0;
      flex: 1;
      line-height: 1.15;
    }
    .line {
      display: flex;
      gap: 0.4rem;
      align-items: baseline;
      min-width: 0;
    }
    .name {
      overflow: hidden;
      text-overflow: ellipsis;
      flex: 0 1 auto;
    }
    /* The logical name gives way first on narrow screens. */
    .secondary {
      color: var(--dc-text-muted, color-mix(in srgb, currentColor 72%, transparent));
      font-size: 0.85em;
      overflow: hidden;
      text-overflow: ellipsis;
      flex: 0 1000 auto;
      min-width: 0;
    }
    .hint {
      color: var(--dc-text-muted, color-mix(in srgb, currentColor 72%, transparent));
      font-size: 0.78em;
      overflow: hidden;
      text-overflow: ellipsis;
    }
    .icon {
      flex: none;
      min-width: 1.6rem;
      text-align: center;
      font-size: 0.8em;
      color: var(--dc-text-muted, color-mix(in srgb, currentColor 72%, transparent));
      border: 1px solid var(--dc-border-soft, color-mix(in srgb, currentColor 25%, transparent));
      border-radius: 4px;
      padding: 0 2px;
    }
    .badge {
      flex: none;
      font-size: 0.72em;
      padding: 0 0.35rem;
      border-radius: 999px;
      border: 1px solid var(--dc-input-border, #8a8f98);
      color: var(--dc-text-muted, color-mix(in srgb, currentColor 72%, transparent));
    }
    .empty {
      padding: 0.6rem;
      color: var(--dc-text-muted, color-mix(in srgb, currentColor 72%, transparent));
    }
    .error {
      color: var(--dc-danger, #b91c1c);
      font-size: 0.875em;
      margin-top: 0.25rem;
    }
    .description {
      color: var(--dc-text-muted, color-mix(in srgb, currentColor 72%, transparent));
      font-size: 0.85em;
      margin-top: 0.2rem;
    }
  `;

  /** Visible label (also the accessible name). */
  @property() label = "";
  /** Hide the label visually (it stays the accessible name) — for table cells. */
  @property({ type: Boolean, attribute: "hide-label" }) hideLabel = false;
  @property() placeholder = "";
  /** The options. Rebuild the array (not mutate it) to change them. */
  @property({ attribute: false }) items: ComboItem[] = [];
  /** The selected option's value ("" = none). */
  @property() value = "";
  /** Text shown when `value` is set but no item has it (metadata still loading, or an attribute that vanished). */
  @property({ attribute: "value-label" }) valueLabel = "";
  /** Error message (sets aria-invalid and is read with the field). */
  @property() error = "";
  /** Help text under the field. */
  @property() description = "";
  @property({ type: Boolean }) disabled = false;
  @property({ type: Boolean }) required = false;
  /** Form key for validation errors (the editor finds fields by it). */
  @property({ attribute: "data-field-key", reflect: true }) fieldKey = "";

  @state() private _open = false;
  @state() private _query: string | null = null;
  @state() private _active = -1;
  @state() private _filtered: ComboItem[] = [];

  @query("input") private _input!: HTMLInputElement;
  @query('[role="listbox"]') private _listbox!: HTMLElement;

  private _index: SearchIndex<ComboItem> = { entries: [] };
  private _actions: ComboItem[] = [];

  override focus(options?: FocusOptions) {
    this._input?.focus(options);
  }

  protected override willUpdate(changed: PropertyValues<this>) {
    if (changed.has("items")) {
      const plain = this.items.filter((i) => !i.action);
      this._actions = this.items.filter((i) => i.action);
      // Keep the caller's order for the empty query (e.g. compatible attributes first); search ranks on its own.
      this._index = buildSearchIndex(
        plain,
        (i) => i.label,
        (i) => i.secondary ?? i.value,
      );
      this._refilter();
    }
  }

  private _refilter() {
    const q = this._query ?? "";
    const plain = q.trim() ? filterIndex(this._index, q) : this.items.filter((i) => !i.action);
    this._filtered = [...plain, ...this._actions];
    if (this._active >= this._filtered.length) this._active = this._filtered.length - 1;
  }

  private get _selected(): ComboItem | undefined {
    return this.items.find((i) => i.value === this.value && !i.action);
  }

  private _displayText(): string {
    if (this._query !== null) return this._query;
    return this._selected?.label ?? (this.value ? this.valueLabel || this.value : "");
  }

  private _openList(activeToSelected = true) {
    if (this.disabled) return;
    if (!this._open) {
      this._open = true;
      this._refilter();
      if (activeToSelected) {
        const i = this._filtered.findIndex((it) => it.value === this.value && !it.action);
        this._active = i;
      }
      void this.updateComplete.then(() => this._scrollActive(true));
    }
  }

  private _close(resetQuery = true) {
    this._open = false;
    this._active = -1;
    if (resetQuery) this._query = null;
  }

  private _move(to: number) {
    if (!this._filtered.length) return;
    this._active = Math.max(0, Math.min(this._filtered.length - 1, to));
    void this.updateComplete.then(() => this._scrollActive());
  }

  private async _scrollActive(afterFirstLayout = false) {
    if (this._active < 0 || !this._listbox) return;
    const v = (this._listbox as VirtualizerHostElement)[virtualizerRef];
    if (!v) return;
    if (afterFirstLayout) {
      // A just-opened list's virtualizer has no layout yet (it loads its layout module): scrolling now does nothing,
      // and aria-activedescendant would name an option that is never rendered (the selected one far down the list).
      // layoutComplete only settles after a layout pass, hence the time limit.
      await Promise.race([v.layoutComplete.catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
    }
    try {
      if (this._active >= 0) v.element(this._active)?.scrollIntoView({ block: "nearest" });
    } catch {
      /* no layout yet: the option is rendered when the admin moves to it */
    }
  }

  private _pick(item: ComboItem | undefined) {
    if (!item) return;
    if (item.action) {
      this._emit("dc-combobox-action", item.value);
      // Stay open: the action usually changes the items (e.g. shows more attributes).
      return;
    }
    this.value = item.value;
    this._close();
    this._emit("dc-combobox-change", item.value);
  }

  private _emit(name: "dc-combobox-change" | "dc-combobox-action", value: string) {
    this.dispatchEvent(new CustomEvent<ComboboxEventDetail>(name, { detail: { value }, bubbles: true, composed: false }));
  }

  private _onInput(e: InputEvent) {
    this._query = (e.target as HTMLInputElement).value;
    this._open = true;
    this._refilter();
    this._active = this._filtered.length && this._query.trim() ? 0 : -1;
    void this.updateComplete.then(() => {
      if (this._listbox) this._listbox.scrollTop = 0;
    });
  }

  private _onKeyDown(e: KeyboardEvent) {
    const page = 7;
    switch (e.key) {
      case "ArrowDown":
        e.preventDefault();
        if (!this._open) {
          this._openList();
          if (!e.altKey && this._active < 0) this._move(0);
          return;
        }
        if (!e.altKey) this._move(this._active + 1);
        return;
      case "ArrowUp":
        e.preventDefault();
        if (!this._open) {
          this._openList();
          if (this._active < 0) this._move(this._filtered.length - 1);
          return;
        }
        if (e.altKey) {
          this._pick(this._filtered[this._active]);
          return;
        }
        this._move(this._active - 1);
        return;
      case "PageDown":
        if (this._open) {
          e.preventDefault();
          this._move(this._active + page);
        }
        return;
      case "PageUp":
        if (this._open) {
          e.preventDefault();
          this._move(this._active - page);
        }
        return;
      case "Home":
        if (this._open && this._filtered.length) {
          e.preventDefault();
          this._move(0);
        }
        return;
      case "End":
        if (this._open && this._filtered.length) {
          e.preventDefault();
          this._move(this._filtered.length - 1);
        }
        return;
      case "Enter":
        if (this._open && this._active >= 0) {
          e.preventDefault();
          this._pick(this._filtered[this._active]);
        }
        return;
      case "Escape":
        if (this._open) {
          e.preventDefault();
          e.stopPropagation();
          this._close();
        } else if (this._query) {
          e.preventDefault();
          this._query = null;
        }
        return;
      case "Tab":
        this._close();
        return;
    }
  }

  protected override updated() {
    // CSSOM writes, not a style attribute (CSP-safe). min-height before the virtualizer starts, so it keeps ours
    // instead of its 150px default.
    const lb = this._listbox;
    const count = this._filtered.length;
    lb.style.minHeight = "0";
    lb.style.height = count ? `${Math.min(count, 7) * ROW_REM}rem` : "0";
  }

  private _renderOption = (item: ComboItem, i: number) =>
    html`<div
      role="option"
      part="option"
      id="opt-${i}"
      class=${item.action ? "action" : ""}
      aria-selected=${i === this._active ? "true" : "false"}
      aria-setsize=${this._filtered.length}
      aria-posinset=${i + 1}
      @mousedown=${(e: Event) => e.preventDefault()}
      @click=${() => this._pick(item)}
    >
      ${item.icon ? html`<span class="icon" aria-hidden="true">${item.icon.glyph}</span>` : nothing}
      <span class="text">
        <span class="line"
          ><span class="name">${item.label}</span>${
            item.secondary && item.secondary !== item.label ? html`<span class="secondary">${item.secondary}</span>` : nothing
          }</span
        >
        ${item.hint ? html`<span class="hint">${item.hint}</span>` : nothing}
      </span>
      ${item.icon ? html`<span class="visually-hidden">, ${item.icon.name}</span>` : nothing}
      ${(item.badges ?? []).map((b) => html`<span class="badge">${b}</span>`)}
    </div>`;

  override render() {
    const count = this._filtered.length;
    const describedBy = [this.error ? "err" : "", this.description ? "desc" : ""].filter(Boolean).join(" ");
    return html`
      <label for="input" part="label" class=${this.hideLabel ? "visually-hidden" : ""}
        >${this.label}${this.required ? html`<span aria-hidden="true"> *</span>` : nothing}</label
      >
      <div class="field">
        <input
          id="input"
          part="input"
          type="text"
          role="combobox"
          autocomplete="off"
          spellcheck="false"
          aria-autocomplete="list"
          aria-expanded=${this._open ? "true" : "false"}
          aria-controls="listbox"
          aria-activedescendant=${this._open && this._active >= 0 ? `opt-${this._active}` : nothing}
          aria-invalid=${this.error ? "true" : "false"}
          aria-required=${this.required ? "true" : "false"}
          aria-describedby=${describedBy || nothing}
          placeholder=${this.placeholder}
          .value=${this._displayText()}
          ?disabled=${this.disabled}
          @input=${this._onInput}
          @keydown=${this._onKeyDown}
          @click=${() => (this._open ? this._close() : this._openList())}
          @blur=${() => this._close()}
        />
        <span class="chevron" aria-hidden="true">▾</span>
      </div>
      <div class="popup" part="popup" ?hidden=${!this._open} @mousedown=${(e: Event) => e.preventDefault()}>
        <div id="listbox" role="listbox" part="listbox" aria-label=${this.label}>
          ${this._open && count ? virtualize({ items: this._filtered, renderItem: this._renderOption, scroller: true, keyFunction: (it: ComboItem) => `${it.action ? "!" : ""}${it.value}` }) : nothing}
        </div>
        ${this._open && !count ? html`<div class="empty">${msg("No matches")}</div>` : nothing}
      </div>
      <div class="visually-hidden" role="status" aria-live="polite">
        ${this._open && this._query !== null ? (count === 1 ? msg("1 result") : count ? msg(str`${count} results`) : msg("No matches")) : ""}
      </div>
      ${this.description ? html`<div id="desc" class="description">${this.description}</div>` : nothing}
      ${this.error ? html`<div id="err" class="error">${this.error}</div>` : nothing}
    `;
  }
}

define("dc-combobox", DcCombobox);

declare global {
  interface HTMLElementTagNameMap {
    "dc-combobox": DcCombobox;
  }
  interface GlobalEventHandlersEventMap {
    "dc-combobox-change": CustomEvent<ComboboxEventDetail>;
    "dc-combobox-action": CustomEvent<ComboboxEventDetail>;
  }
}
