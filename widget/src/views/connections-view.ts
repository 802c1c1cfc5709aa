import { localized, msg } from "@lit/localize";
import { LitElement, css, html, nothing } from "lit";
import { property, state } from "lit/decorators.js";
import type { Connection } from "#contract/connection";
import type { EdgeClient } from "../api/edge-client";
import type { DynamicsAuth } from "../auth/dynamics-auth";
import { emit, type DcEvent } from "../events";
import { shared } from "../styles/shared.styles";
import { define } from "../util/define";
import "./connection-card";
import "./connection-form";
import { adminOnlyNote, errorBanner, skeletonCards } from "./ui";

/**
 * The list of connections with the empty state and the create form. Data is owned by the root element: this view
 * relays the cards' internal events (dc-connection-open, -changed, -deleted) and the form's dc-connection-form-created,
 * and asks for dc-connections-reload.
 */
@localized()
export class DcConnectionsView extends LitElement {
  static override styles = [
    shared,
    css`
      .grid {
        display: grid;
        gap: calc(var(--dc-space) * 2);
        grid-template-columns: repeat(auto-fill, minmax(min(100%, 22rem), 1fr));
      }
      .empty {
        text-align: center;
        padding: calc(var(--dc-space) * 4) calc(var(--dc-space) * 2);
        display: grid;
        gap: var(--dc-space);
        justify-items: center;
      }
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

  @state() private _creating = false;

  override render() {
    const list = this.connections;
    return html`<section class="stack" aria-labelledby="dc-conn-title" part="connections">
      <div class="row">
        <h2 id="dc-conn-title">${msg("Connections")}</h2>
        <span class="spacer"></span>
        ${list?.length && !this._creating && !this.readOnly ? html`<button type="button" class="primary" @click=${() => (this._creating = true)}>${msg("Create connection")}</button>` : nothing}
      </div>
      ${this.readOnly && list?.length ? adminOnlyNote(msg("Only admins can create or change connections.")) : nothing}
      ${
        this._creating && !this.readOnly
          ? html`<dc-connection-form
              exportparts="connection-form, error-banner"
              .client=${this.client}
              @dc-connection-form-created=${this._created}
              @dc-connection-form-cancel=${this._cancelCreate}
            ></dc-connection-form>`
          : nothing
      }
      ${
        this.loadError
          ? errorBanner(
              msg("The connections could not be loaded."),
              this.loadError,
              html`<button type="button" @click=${() => emit(this, "dc-connections-reload", {}, { local: true })}>${msg("Retry")}</button>`,
            )
          : list === null
            ? skeletonCards(2)
            : list.length === 0 && (!this._creating || this.readOnly)
              ? html`<div class="card empty" part="empty-state">
                  <p>${msg("A connection links this product to one Dynamics 365 environment, so its records can be synced here.")}</p>
                  ${
                    this.readOnly
                      ? adminOnlyNote(msg("There is no connection yet. Only admins can create connections."))
                      : html`<button type="button" class="primary" @click=${() => (this._creating = true)}>${msg("Create connection")}</button>`
                  }
                </div>`
              : html`<div class="grid">
                  ${list.map(
                    (c) =>
                      html`<dc-connection-card
                        exportparts="connection-card, card-actions, status-chip, auth-waiting, popup-blocked, error-banner"
                        openable
                        .connection=${c}
                        .client=${this.client}
                        .auth=${this.auth}
                        .readOnly=${this.readOnly}
                        @dc-connection-open=${this._relayOpen}
                        @dc-connection-changed=${this._relayChanged}
                        @dc-connection-deleted=${this._relayDeleted}
                      ></dc-connection-card>`,
                  )}
                </div>`
      }
    </section>`;
  }

  // The cards' events stay on the cards (local): the root element listens on this view, so they are relayed as is.
  private _relayOpen(e: DcEvent<"dc-connection-open">): void {
    emit(this, "dc-connection-open", e.detail, { local: true });
  }

  private _relayChanged(e: DcEvent<"dc-connection-changed">): void {
    emit(this, "dc-connection-changed", e.detail, { local: true });
  }

  private _relayDeleted(e: DcEvent<"dc-connection-deleted">): void {
    emit(this, "dc-connection-deleted", e.detail, { local: true });
  }

  private _created(e: DcEvent<"dc-connection-form-created">): void {
    this._creating = false;
    emit(this, "dc-connection-form-created", e.detail, { local: true });
  }

  private async _cancelCreate(): Promise<void> {
    this._creating = false;
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLButtonElement>("button.primary")?.focus();
  }
}

define("dc-connections-view", DcConnectionsView);

declare global {
  interface HTMLElementTagNameMap {
    "dc-connections-view": DcConnectionsView;
  }
}
