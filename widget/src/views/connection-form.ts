import { LitElement, css, html, nothing } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import type { Connection } from "#contract/connection";
import { EdgeError, type EdgeClient } from "../api/edge-client";
import { emit } from "../events";
import { shared } from "../styles/shared.styles";
import { checkOrgUrl, type OrgUrlCheck } from "../util/org-url";
import { errorBanner } from "./ui";

/**
 * Create-connection form: name and environment URL, validated as the admin types.
 * @event dc-connection-created - after the edge created it (public, composed)
 * @event created - internal: `detail` is the new Connection
 * @event cancel - internal: the admin dismissed the form
 */
@customElement("dc-connection-form")
export class DcConnectionForm extends LitElement {
  static override styles = [
    shared,
    css`
      form { display: grid; gap: calc(var(--dc-space) * 1.5); }
      ul.notes { margin: 0; padding-left: 1.2em; }
    `,
  ];

  /** API client of the edge. */
  @property({ attribute: false }) client!: EdgeClient;

  @state() private name = "";
  @state() private url = "";
  @state() private touched = { name: false, url: false };
  @state() private busy = false;
  @state() private error: unknown = null;
  @state() private serverFieldErrors: Record<string, string> = {};

  @query("#dc-name") private nameInput!: HTMLInputElement;

  override firstUpdated(): void {
    this.nameInput?.focus();
  }

  private get check(): OrgUrlCheck {
    return checkOrgUrl(this.url);
  }

  override render() {
    const check = this.check;
    const nameError = this.serverFieldErrors.name ?? (this.touched.name && !this.name.trim() ? "Give the connection a name, for example “Contoso Production”." : "");
    const urlError = this.serverFieldErrors.orgUrl ?? (this.touched.url && !check.ok ? check.error : "");
    return html`<form class="card" part="connection-form" novalidate @submit=${this._submit} aria-labelledby="dc-form-title">
      <h3 id="dc-form-title">New connection</h3>
      <div class="field">
        <label for="dc-name">Name</label>
        <input id="dc-name" type="text" autocomplete="off" maxlength="100" .value=${this.name}
          aria-invalid=${nameError ? "true" : "false"} aria-describedby="dc-name-err"
          @input=${(e: Event) => { this.name = (e.target as HTMLInputElement).value; delete this.serverFieldErrors.name; }}
          @blur=${() => (this.touched = { ...this.touched, name: true })} />
        <span id="dc-name-err" class="field-error">${nameError}</span>
      </div>
      <div class="field">
        <label for="dc-url">Environment URL</label>
        <input id="dc-url" type="url" inputmode="url" autocomplete="off" spellcheck="false"
          placeholder="https://contoso.crm.dynamics.com" .value=${this.url}
          aria-invalid=${urlError ? "true" : "false"} aria-describedby="dc-url-help dc-url-err dc-url-notes"
          @input=${(e: Event) => { this.url = (e.target as HTMLInputElement).value; this.touched = { ...this.touched, url: this.url.length > 8 || this.touched.url }; delete this.serverFieldErrors.orgUrl; }}
          @blur=${() => (this.touched = { ...this.touched, url: true })} />
        <span id="dc-url-help" class="field-note">The address you open Dynamics 365 at. The Web API form (contoso.api.crm.dynamics.com) works too.</span>
        <span id="dc-url-err" class="field-error" aria-live="polite">${urlError}</span>
        <div id="dc-url-notes" aria-live="polite">
          ${check.ok && this.url.trim()
            ? html`<span class="field-note">Will connect to <strong class="mono">${check.url}</strong></span>
                ${check.notes.length ? html`<ul class="notes field-note">${check.notes.map((n) => html`<li>${n}</li>`)}</ul>` : nothing}`
            : nothing}
        </div>
      </div>
      ${this.error ? errorBanner("The connection was not created.", this.error) : nothing}
      <div class="row">
        <button class="primary" type="submit" ?disabled=${this.busy}>${this.busy ? "Creating…" : "Create connection"}</button>
        <button type="button" @click=${() => this.dispatchEvent(new CustomEvent("cancel"))}>Cancel</button>
      </div>
    </form>`;
  }

  private async _submit(e: Event): Promise<void> {
    e.preventDefault();
    this.touched = { name: true, url: true };
    const check = this.check;
    if (!this.name.trim() || !check.ok) {
      const first = this.renderRoot.querySelector<HTMLInputElement>(!this.name.trim() ? "#dc-name" : "#dc-url");
      first?.focus();
      return;
    }
    this.busy = true;
    this.error = null;
    try {
      const connection = await this.client.request<Connection>("POST", "/connections", { body: { name: this.name.trim(), orgUrl: check.url } });
      emit(this, "dc-connection-created", { connection });
      this.dispatchEvent(new CustomEvent("created", { detail: connection }));
    } catch (err) {
      const fieldErrors: Record<string, string> = {};
      if (err instanceof EdgeError) {
        for (const d of err.details ?? []) {
          if (d.path === "name" || d.path === "orgUrl") fieldErrors[d.path] = d.message;
        }
      }
      this.serverFieldErrors = fieldErrors;
      if (Object.keys(fieldErrors).length) {
        await this.updateComplete;
        this.renderRoot.querySelector<HTMLInputElement>(fieldErrors.name ? "#dc-name" : "#dc-url")?.focus();
      }
      // Field errors stand next to their field; the banner carries the edge's message and request id.
      this.error = err;
      emit(this, "dc-error", { action: "create-connection", error: err as Error, ...codeOf(err) });
    } finally {
      this.busy = false;
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

declare global {
  interface HTMLElementTagNameMap {
    "dc-connection-form": DcConnectionForm;
  }
}
