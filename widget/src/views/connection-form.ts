import { localized, msg } from "@lit/localize";
import { LitElement, css, html, nothing } from "lit";
import { property, query, state } from "lit/decorators.js";
import type { Connection } from "#contract/connection";
import { EdgeError, type EdgeClient } from "../api/edge-client";
import { emit } from "../events";
import { shared } from "../styles/shared.styles";
import { define } from "../util/define";
import { checkOrgUrl, type OrgUrlCheck } from "../util/org-url";
import { errorBanner } from "./ui";

/**
 * Create-connection form: name and environment URL, validated as the admin types.
 * @event dc-connection-created - after the edge created it (public, composed)
 * @event dc-connection-form-created - internal: detail { connection }, after `dc-connection-created`
 * @event dc-connection-form-cancel - internal: the admin dismissed the form
 */
@localized()
export class DcConnectionForm extends LitElement {
  static override styles = [
    shared,
    css`
      form {
        display: grid;
        gap: calc(var(--dc-space) * 1.5);
      }
      ul.notes {
        margin: 0;
        padding-left: 1.2em;
      }
    `,
  ];

  /** API client of the edge. */
  @property({ attribute: false }) client!: EdgeClient;

  @state() private _name = "";
  @state() private _url = "";
  @state() private _touched = { name: false, url: false };
  @state() private _busy = false;
  @state() private _error: unknown = null;
  @state() private _serverFieldErrors: Record<string, string> = {};

  @query("#dc-name") private _nameInput!: HTMLInputElement;

  override firstUpdated(): void {
    this._nameInput?.focus();
  }

  private get _check(): OrgUrlCheck {
    return checkOrgUrl(this._url);
  }

  override render() {
    const check = this._check;
    const nameError =
      this._serverFieldErrors.name ?? (this._touched.name && !this._name.trim() ? msg("Give the connection a name, for example “Contoso Production”.") : "");
    const urlError = this._serverFieldErrors.orgUrl ?? (this._touched.url && !check.ok ? check.error : "");
    return html`<form class="card" part="connection-form" novalidate @submit=${this._submit} aria-labelledby="dc-form-title">
      <h3 id="dc-form-title">${msg("New connection")}</h3>
      <div class="field">
        <label for="dc-name">${msg("Name")}</label>
        <input
          id="dc-name"
          type="text"
          autocomplete="off"
          maxlength="100"
          .value=${this._name}
          aria-invalid=${nameError ? "true" : "false"}
          aria-describedby="dc-name-err"
          @input=${(e: Event) => {
            this._name = (e.target as HTMLInputElement).value;
            delete this._serverFieldErrors.name;
          }}
          @blur=${() => (this._touched = { ...this._touched, name: true })}
        />
        <span id="dc-name-err" class="field-error">${nameError}</span>
      </div>
      <div class="field">
        <label for="dc-url">${msg("Environment URL")}</label>
        <input
          id="dc-url"
          type="url"
          inputmode="url"
          autocomplete="off"
          spellcheck="false"
          placeholder="https://contoso.crm.dynamics.com"
          .value=${this._url}
          aria-invalid=${urlError ? "true" : "false"}
          aria-describedby="dc-url-help dc-url-err dc-url-notes"
          @input=${(e: Event) => {
            this._url = (e.target as HTMLInputElement).value;
            this._touched = { ...this._touched, url: this._url.length > 8 || this._touched.url };
            delete this._serverFieldErrors.orgUrl;
          }}
          @blur=${() => (this._touched = { ...this._touched, url: true })}
        />
        <span id="dc-url-help" class="field-note"
          >${msg("The address you open Dynamics 365 at. The Web API form (contoso.api.crm.dynamics.com) works too.")}</span
        >
        <span id="dc-url-err" class="field-error" aria-live="polite">${urlError}</span>
        <div id="dc-url-notes" aria-live="polite">
          ${
            check.ok && this._url.trim()
              ? html`<span class="field-note">${msg("Will connect to")} <strong class="mono">${check.url}</strong></span> ${
                    check.notes.length
                      ? html`<ul class="notes field-note">
                          ${check.notes.map((n) => html`<li>${n}</li>`)}
                        </ul>`
                      : nothing
                  }`
              : nothing
          }
        </div>
      </div>
      ${this._error ? errorBanner(msg("The connection was not created."), this._error) : nothing}
      <div class="row">
        <button class="primary" type="submit" ?disabled=${this._busy}>${this._busy ? msg("Creating…") : msg("Create connection")}</button>
        <button type="button" @click=${() => emit(this, "dc-connection-form-cancel", {}, { local: true })}>${msg("Cancel")}</button>
      </div>
    </form>`;
  }

  private async _submit(e: Event): Promise<void> {
    e.preventDefault();
    this._touched = { name: true, url: true };
    const check = this._check;
    if (!this._name.trim() || !check.ok) {
      const first = this.renderRoot.querySelector<HTMLInputElement>(!this._name.trim() ? "#dc-name" : "#dc-url");
      first?.focus();
      return;
    }
    this._busy = true;
    this._error = null;
    try {
      const connection = await this.client.request<Connection>("POST", "/connections", { body: { name: this._name.trim(), orgUrl: check.url } });
      emit(this, "dc-connection-created", { connection });
      emit(this, "dc-connection-form-created", { connection }, { local: true });
    } catch (err) {
      const fieldErrors: Record<string, string> = {};
      if (err instanceof EdgeError) {
        for (const d of err.details ?? []) {
          if (d.path === "name" || d.path === "orgUrl") fieldErrors[d.path] = d.message;
        }
      }
      this._serverFieldErrors = fieldErrors;
      if (Object.keys(fieldErrors).length) {
        await this.updateComplete;
        this.renderRoot.querySelector<HTMLInputElement>(fieldErrors.name ? "#dc-name" : "#dc-url")?.focus();
      }
      // Field errors stand next to their field; the banner carries the edge's message and request id.
      this._error = err;
      emit(this, "dc-error", { action: "create-connection", error: err as Error, ...codeOf(err) });
    } finally {
      this._busy = false;
    }
  }
}

export function codeOf(err: unknown): { code?: string; requestId?: string } {
  const out: { code?: string; requestId?: string } = {};
  if (err instanceof EdgeError) {
    out.code = err.code;
    if (err.requestId) out.requestId = err.requestId;
  }
  return out;
}

define("dc-connection-form", DcConnectionForm);

declare global {
  interface HTMLElementTagNameMap {
    "dc-connection-form": DcConnectionForm;
  }
}
