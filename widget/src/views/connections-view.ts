import { LitElement, css, html, nothing } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import type { Connection } from "#contract/connection";
import type { EdgeClient } from "../api/edge-client";
import type { DynamicsAuth } from "../auth/dynamics-auth";
import { shared } from "../styles/shared.styles";
import "./connection-card";
import "./connection-form";
import { adminOnlyNote, errorBanner, skeletonCards } from "./ui";

/**
 * The list of connections with the empty state and the create form. Data is owned by the root element: this view
 * re-dispatches the cards' internal events (open, changed, deleted) and the form's `created`, and asks for `reload`.
 */
@customElement("dc-connections-view")
export class DcConnectionsView extends LitElement {
  static override styles = [
    shared,
    css`
      .grid { display: grid; gap: calc(var(--dc-space) * 2); grid-template-columns: repeat(auto-fill, minmax(min(100%, 22rem), 1fr)); }
      .empty { text-align: center; padding: calc(var(--dc-space) * 4) calc(var(--dc-space) * 2); display: grid; gap: var(--dc-space); justify-items: center; }
    `,
  ];

  /** null while loading. */
  @property({ attribute: false }) connections: Connection[] | null = null;
  /** Why the list failed to load, if it did. */
  @property({ attribute: false }) loadError: unknown = null;
  /** API client of the edge. */
  @property({ attribute: false }) client!: EdgeClient;
  /** Microsoft sign-in. */
  @property({ attribute: false }) auth!: DynamicsAuth;
  /** A viewer's list: no Create, and the cards without their write actions. */
  @property({ type: Boolean, attribute: "read-only" }) readOnly = false;

  @state() private creating = false;

  override render() {
    const list = this.connections;
    return html`<section class="stack" aria-labelledby="dc-conn-title" part="connections">
      <div class="row">
        <h2 id="dc-conn-title">Connections</h2>
        <span class="spacer"></span>
        ${list?.length && !this.creating && !this.readOnly ? html`<button type="button" class="primary" @click=${() => (this.creating = true)}>Create connection</button>` : nothing}
      </div>
      ${this.readOnly && list?.length ? adminOnlyNote("Only admins can create or change connections.") : nothing}
      ${this.creating && !this.readOnly
        ? html`<dc-connection-form .client=${this.client} @created=${this._created} @cancel=${this._cancelCreate}></dc-connection-form>`
        : nothing}
      ${this.loadError
        ? errorBanner("The connections could not be loaded.", this.loadError, html`<button type="button" @click=${() => this.dispatchEvent(new CustomEvent("reload"))}>Retry</button>`)
        : list === null
          ? skeletonCards(2)
          : list.length === 0 && (!this.creating || this.readOnly)
            ? html`<div class="card empty" part="empty-state">
                <p>A connection links this product to one Dynamics 365 environment, so its records can be synced here.</p>
                ${this.readOnly
                  ? adminOnlyNote("There is no connection yet. Only admins can create connections.")
                  : html`<button type="button" class="primary" @click=${() => (this.creating = true)}>Create connection</button>`}
              </div>`
            : html`<div class="grid">
                ${list.map((c) => html`<dc-connection-card openable .connection=${c} .client=${this.client} .auth=${this.auth} .readOnly=${this.readOnly}
                  @open=${this._forward} @changed=${this._forward} @deleted=${this._forward}></dc-connection-card>`)}
              </div>`}
    </section>`;
  }

  private _forward(e: CustomEvent): void {
    this.dispatchEvent(new CustomEvent(e.type, { detail: e.detail }));
  }

  private _created(e: CustomEvent<Connection>): void {
    this.creating = false;
    this.dispatchEvent(new CustomEvent("created", { detail: e.detail }));
  }

  private async _cancelCreate(): Promise<void> {
    this.creating = false;
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLButtonElement>("button.primary")?.focus();
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "dc-connections-view": DcConnectionsView;
  }
}
