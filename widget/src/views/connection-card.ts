import { localized, msg, str } from "@lit/localize";
import { LitElement, css, html, nothing, type PropertyValues } from "lit";
import { property, query, state } from "lit/decorators.js";
import type { Connection, Readiness } from "#contract/connection";
import type { EdgeClient } from "../api/edge-client";
import { DynamicsAuthError, type DynamicsAuth } from "../auth/dynamics-auth";
import { emit } from "../events";
import { shared } from "../styles/shared.styles";
import { define } from "../util/define";
import { formatDateTime, formatRelative } from "../util/format";
import { codeOf } from "./connection-form";
import { openModal } from "./dialog";
import { adminOnlyNote, connectionChip, errorBanner, runChip } from "./ui";

type AuthState = "idle" | "waiting" | "blocked" | "verifying" | "cancelled";

/**
 * One connection: status, environment, who authorized it and when, jobs, last sync; Authorize / Rename / Delete.
 * @event dc-connection-open - internal: the admin opens the connection (detail { id })
 * @event dc-connection-changed - internal: detail { connection, authorized? } after rename or authorization
 * @event dc-connection-deleted - internal: detail { id }
 * @csspart connection-card
 */
@localized()
export class DcConnectionCard extends LitElement {
  static override styles = [
    shared,
    css`
      .card {
        display: grid;
        gap: var(--dc-space);
      }
      dl {
        display: grid;
        grid-template-columns: max-content 1fr;
        gap: 0.2em 1em;
        margin: 0;
        font-size: 0.9375em;
      }
      dt {
        color: var(--dc-text-muted);
      }
      dd {
        margin: 0;
        min-width: 0;
        overflow-wrap: anywhere;
      }
      @media (max-width: 420px) {
        dl {
          grid-template-columns: 1fr;
        }
        dd {
          margin-bottom: 0.3em;
        }
      }
      .title {
        font-size: 1.0625em;
        font-weight: 700;
        overflow-wrap: anywhere;
      }
      dialog {
        border: 1px solid var(--dc-border);
        border-radius: var(--dc-radius);
        background: var(--dc-bg);
        color: var(--dc-text);
        padding: calc(var(--dc-space) * 2);
        width: min(28rem, calc(100vw - 2rem));
      }
      dialog::backdrop {
        background: rgb(0 0 0 / 0.4);
      }
      dialog form {
        display: grid;
        gap: calc(var(--dc-space) * 1.5);
      }
      .waiting {
        display: flex;
        flex-wrap: wrap;
        gap: var(--dc-space);
        align-items: center;
      }
      .spinner {
        width: 1em;
        height: 1em;
        border: 2px solid var(--dc-border);
        border-top-color: var(--dc-accent);
        border-radius: 50%;
        animation: spin 0.9s linear infinite;
      }
      @keyframes spin {
        to {
          transform: rotate(360deg);
        }
      }
      @media (prefers-reduced-motion: reduce) {
        .spinner {
          animation: none;
        }
      }
    `,
  ];

  /** The connection shown. */
  @property({ attribute: false }) connection!: Connection;
  /** API client of the edge. */
  @property({ attribute: false }) client!: EdgeClient;
  /** Microsoft sign-in. */
  @property({ attribute: false }) auth!: DynamicsAuth;
  /** In the list the card offers "Open"; on the connection's own page it does not. */
  @property({ type: Boolean }) openable = false;
  /** A viewer's card: no Authorize, Rename or Delete (the edge would refuse them). */
  @property({ type: Boolean, attribute: "read-only" }) readOnly = false;

  @state() private _authState: AuthState = "idle";
  @state() private _error: { what: string; error: unknown } | null = null;
  @state() private _notice: string | null = null;
  @state() private _renameValue = "";
  @state() private _renameError = "";
  @state() private _busy = false;

  @query("#rename") private _renameDialog!: HTMLDialogElement;
  @query("#confirm-delete") private _deleteDialog!: HTMLDialogElement;

  override render() {
    const c = this.connection;
    const authorized = c.status !== "not_authorized";
    const titleId = `conn-${c.id}-title`;
    return html`<article class="card" part="connection-card" aria-labelledby=${titleId} data-connection-id=${c.id}>
      <div class="row">
        ${this.openable ? html`<h3 class="title" id=${titleId}>${c.name}</h3>` : html`<h2 class="title" id=${titleId}>${c.name}</h2>`}
        ${connectionChip(c.status)}
      </div>
      <dl>
        <dt>${msg("Environment")}</dt>
        <dd class="mono">${c.orgUrl}</dd>
        <dt>${msg("Authorized by")}</dt>
        <dd>
          ${c.authorizedBy ? html`${c.authorizedBy.name ?? c.authorizedBy.upn ?? c.authorizedBy.userId}${c.authorizedBy.upn && c.authorizedBy.name ? html` <span class="muted">(${c.authorizedBy.upn})</span>` : nothing}${c.authorizedAt ? html`, <time datetime=${c.authorizedAt} title=${formatDateTime(c.authorizedAt)}>${formatRelative(c.authorizedAt)}</time>` : nothing}` : html`<span class="muted">${msg("Not yet")}</span>`}
        </dd>
        <dt>${msg("Jobs")}</dt>
        <dd>${c.jobCount ?? (authorized ? "—" : 0)}</dd>
        <dt>${msg("Last sync")}</dt>
        <dd>
          ${c.lastSync ? html`${runChip(c.lastSync.status)} ${c.lastSync.finishedAt ? html`<time datetime=${c.lastSync.finishedAt} title=${formatDateTime(c.lastSync.finishedAt)}>${formatRelative(c.lastSync.finishedAt)}</time>` : nothing}` : html`<span class="muted">${msg("Never")}</span>`}
        </dd>
      </dl>
      ${this._renderAuthState()} ${this._notice ? html`<div class="banner info" role="status">${this._notice}</div>` : nothing}
      ${this._error ? errorBanner(this._error.what, this._error.error, html`<button type="button" @click=${() => (this._error = null)}>${msg("Dismiss")}</button>`) : nothing}
      <div class="row" part="card-actions">
        ${
          this.openable
            ? html`<button class=${authorized ? "primary" : ""} type="button" @click=${this._open} aria-describedby=${titleId}>${msg("Open")}</button>`
            : nothing
        }
        ${
          this.readOnly
            ? this.openable
              ? nothing
              : adminOnlyNote(msg("Only admins can authorize, rename or delete connections."))
            : this._authState === "idle" || this._authState === "cancelled"
              ? html`<button
                  class=${authorized ? "" : "primary"}
                  type="button"
                  aria-describedby=${titleId}
                  @click=${this._authorize}
                  @pointerenter=${() => this.auth?.warmUp()}
                  @focus=${() => this.auth?.warmUp()}
                >
                  ${authorized ? msg("Re-authorize") : msg("Authorize")}
                </button>`
              : nothing
        }
        ${
          this.readOnly
            ? nothing
            : html`<button type="button" @click=${this._openRename} aria-describedby=${titleId}>${msg("Rename")}</button>
                <button type="button" class="danger" @click=${this._openDelete} aria-describedby=${titleId}>${msg("Delete")}</button>`
        }
      </div>
      ${this._renderDialogs()}
    </article>`;
  }

  protected override updated(changed: PropertyValues<this>): void {
    // The role followed a refreshed token down to viewer: a rename or delete dialog left open would only earn a 403.
    if (changed.has("readOnly") && this.readOnly) for (const d of [this._renameDialog, this._deleteDialog]) if (d?.open) d.close();
  }

  private _renderAuthState() {
    switch (this._authState) {
      case "waiting":
        return html`<div class="banner info waiting" role="status" part="auth-waiting">
          <span class="spinner" aria-hidden="true"></span>
          <span>${msg("Waiting for Microsoft sign-in… Finish signing in in the window that opened.")}</span>
          <button type="button" @click=${this._cancelAuth}>${msg("Cancel")}</button>
        </div>`;
      case "verifying":
        return html`<div class="banner info waiting" role="status">
          <span class="spinner" aria-hidden="true"></span><span>Signed in. Checking access to ${this.connection.orgUrl}…</span>
        </div>`;
      case "blocked":
        return html`<div class="banner warning" role="alert" part="popup-blocked">
          <strong>${msg("The sign-in window was blocked.")}</strong>
          <span>${msg("Your browser stopped the Microsoft sign-in window from opening. Allow pop-ups for this page, then try again.")}</span>
          <div class="row">
            <button type="button" class="primary" @click=${this._authorize}>${msg("Try again")}</button>
            <button type="button" @click=${() => (this._authState = "idle")}>${msg("Cancel")}</button>
          </div>
        </div>`;
      case "cancelled":
        return html`<p class="small muted" role="status">${msg("Sign-in was cancelled. Nothing changed.")}</p>`;
      default:
        return nothing;
    }
  }

  private _renderDialogs() {
    const c = this.connection;
    return html` <dialog id="rename" aria-labelledby="rename-title" @close=${() => (this._renameError = "")}>
        <form method="dialog" @submit=${this._rename} novalidate>
          <h3 id="rename-title">${msg("Rename connection")}</h3>
          <div class="field">
            <label for="rename-input">${msg("Name")}</label>
            <input
              id="rename-input"
              type="text"
              maxlength="100"
              .value=${this._renameValue}
              aria-invalid=${this._renameError ? "true" : "false"}
              aria-describedby="rename-err"
              @input=${(e: Event) => (this._renameValue = (e.target as HTMLInputElement).value)}
            />
            <span id="rename-err" class="field-error">${this._renameError}</span>
          </div>
          <div class="row">
            <button class="primary" type="submit" ?disabled=${this._busy}>${msg("Save")}</button>
            <button type="button" @click=${() => this._renameDialog.close()}>${msg("Cancel")}</button>
          </div>
        </form>
      </dialog>
      <dialog id="confirm-delete" aria-labelledby="delete-title" aria-describedby="delete-desc">
        <form method="dialog" @submit=${this._delete}>
          <h3 id="delete-title">${msg(str`Delete “${c.name}”?`)}</h3>
          <p id="delete-desc">${msg("Its jobs stop and are disabled. Records already synced stay in place. This cannot be undone.")}</p>
          <div class="row">
            <button class="danger" type="submit" ?disabled=${this._busy}>${msg("Delete connection")}</button>
            <button type="button" id="delete-cancel" @click=${() => this._deleteDialog.close()}>${msg("Keep it")}</button>
          </div>
        </form>
      </dialog>`;
  }

  private _open(): void {
    emit(this, "dc-connection-open", { id: this.connection.id }, { local: true });
  }

  /** Starts the popup in the click's user activation (msal opens it after loading, well within Chromium's window). */
  private async _authorize(): Promise<void> {
    this._error = null;
    this._notice = null;
    this._authState = "waiting";
    let token: string;
    try {
      token = await this.auth.signIn(this.connection.orgUrl);
    } catch (e) {
      if (e instanceof DynamicsAuthError && e.reason === "popup_blocked") this._authState = "blocked";
      else if (e instanceof DynamicsAuthError && e.reason === "cancelled") this._authState = "cancelled";
      else {
        this._authState = "idle";
        this._error = { what: msg("Microsoft sign-in did not finish."), error: e };
        emit(this, "dc-error", { action: "sign-in", error: e as Error });
      }
      return;
    }
    this._authState = "verifying";
    try {
      const res = await this.client.request<Connection & { connection?: Connection; readiness?: Readiness }>(
        "POST",
        `/connections/${encodeURIComponent(this.connection.id)}/authorize`,
        { body: { accessToken: token } },
      );
      const connection = res.connection ?? res;
      const readiness = res.readiness ?? connection.readiness;
      this._authState = "idle";
      emit(this, "dc-connection-authorized", { connection, readiness });
      emit(this, "dc-connection-changed", { connection: { ...connection, readiness }, authorized: true }, { local: true });
    } catch (e) {
      this._authState = "idle";
      this._error = { what: msg("The connection was not authorized."), error: e };
      emit(this, "dc-error", { action: "authorize-connection", error: e as Error, ...codeOf(e) });
    }
  }

  private _cancelAuth(): void {
    this.auth.cancel();
    this._authState = "cancelled";
  }

  private _openRename(): void {
    this._renameValue = this.connection.name;
    this._renameError = "";
    openModal(this._renameDialog, this.renderRoot.querySelector<HTMLInputElement>("#rename-input"));
  }

  private async _rename(e: Event): Promise<void> {
    e.preventDefault();
    const name = this._renameValue.trim();
    if (!name) {
      this._renameError = msg("Enter a name.");
      return;
    }
    this._busy = true;
    try {
      const connection = await this.client.request<Connection>("PATCH", `/connections/${encodeURIComponent(this.connection.id)}`, { body: { name } });
      this._renameDialog.close();
      emit(this, "dc-connection-changed", { connection: { ...this.connection, ...connection } }, { local: true });
    } catch (err) {
      this._renameError = (err as Error).message;
      emit(this, "dc-error", { action: "rename-connection", error: err as Error, ...codeOf(err) });
    } finally {
      this._busy = false;
    }
  }

  private _openDelete(): void {
    openModal(this._deleteDialog, this.renderRoot.querySelector<HTMLButtonElement>("#delete-cancel"));
  }

  private async _delete(e: Event): Promise<void> {
    e.preventDefault();
    this._deleteDialog.close();
    const c = this.connection;
    const allowed = emit(this, "dc-request-delete", { kind: "connection", id: c.id, name: c.name }, { cancelable: true });
    if (!allowed) {
      this._notice = msg(str`This page did not allow deleting “${c.name}”. Nothing was deleted.`);
      return;
    }
    this._busy = true;
    try {
      await this.client.request<void>("DELETE", `/connections/${encodeURIComponent(c.id)}`);
      emit(this, "dc-connection-deleted", { id: c.id }, { local: true });
    } catch (err) {
      this._error = { what: msg("The connection was not deleted."), error: err };
      emit(this, "dc-error", { action: "delete-connection", error: err as Error, ...codeOf(err) });
    } finally {
      this._busy = false;
    }
  }
}

define("dc-connection-card", DcConnectionCard);

declare global {
  interface HTMLElementTagNameMap {
    "dc-connection-card": DcConnectionCard;
  }
}
