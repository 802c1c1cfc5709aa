import { msg } from "@lit/localize";
import { html, nothing, type TemplateResult } from "lit";
import type { ConnectionStatus } from "#contract/connection";
import type { RunStatus } from "#contract/run";
import type { EdgeError } from "../api/edge-client";
import { edgeErrorText } from "../l10n/localization";

/** Inline error banner: what failed, the edge's message, what to do; code and request id folded away. */
export function errorBanner(what: string, error: unknown, actions?: TemplateResult | typeof nothing): TemplateResult {
  const e = error as Partial<EdgeError> & Error;
  const hint = hintFor(e);
  // In German or French the widget words the edge's code itself; the edge's English message moves to the details.
  const text = edgeErrorText(e);
  const original = e?.message && e.message !== text ? e.message : "";
  return html`<div class="banner error" role="alert" part="error-banner">
    <strong>${what}</strong>
    <span>${text}</span>
    ${hint ? html`<span class="small">${hint}</span>` : nothing} ${actions && actions !== nothing ? html`<div class="row">${actions}</div>` : nothing}
    ${
      e?.code || e?.requestId || original
        ? html`<details>
            <summary>${msg("Details")}</summary>
            <div class="small mono">
              ${original ? html`<div data-edge-text>${original}</div>` : nothing}
              ${e.code ? html`<div>${msg("Code:")} ${e.code}${e.status ? html` (HTTP ${e.status})` : nothing}</div>` : nothing}
              ${e.requestId ? html`<div>${msg("Request id:")} ${e.requestId}</div>` : nothing}
            </div>
          </details>`
        : nothing
    }
  </div>`;
}

function hintFor(e: Partial<EdgeError> | undefined): string | null {
  switch (e?.code) {
    case "unauthorized":
      return msg("Your session with this page may have ended. Reload the page and try again.");
    case "forbidden":
      return msg("Ask an administrator of this product to make the change.");
    case "not_authorized":
    case "dynamics_token_missing":
      return msg("Authorize the connection again, then retry.");
    case "dynamics_unreachable":
      return msg("Dynamics 365 did not answer in time. Check the environment address and retry.");
    case "rate_limited":
      return msg("Dynamics 365 asked us to slow down. Wait a minute and retry.");
    default:
      return null;
  }
}

/**
 * Says why an action is missing for a viewer (the widget hides what the edge would refuse, see auth/host-role.ts).
 * A note, not an alert: nothing went wrong.
 */
export function adminOnlyNote(text: string): TemplateResult {
  return html`<p class="small muted admin-only" role="note">${text}</p>`;
}

/** Placeholder rows while a list loads (never a blank panel). */
export function skeletonRows(rows: number, cols: number): TemplateResult {
  return html`${Array.from(
    { length: rows },
    () =>
      html`<tr aria-hidden="true">
        ${Array.from({ length: cols }, () => html`<td><span class="skeleton"></span></td>`)}
      </tr>`,
  )}`;
}

export function skeletonCards(n: number): TemplateResult {
  return html`<div class="stack" aria-busy="true">
    <span class="visually-hidden" role="status">${msg("Loading…")}</span>
    ${Array.from(
      { length: n },
      () => html`<div class="card stack" aria-hidden="true"><span class="skeleton"></span><span class="skeleton"></span><span class="skeleton"></span></div>`,
    )}
  </div>`;
}

// Functions, not constants: the labels are read in the current language at render time.
const CONNECTION_CHIPS = (): Record<ConnectionStatus, [string, string]> => ({
  not_authorized: [msg("Not authorized"), ""],
  authorized: [msg("Authorized"), "success"],
  needs_attention: [msg("Needs attention"), "warning"],
});

export function connectionChip(status: ConnectionStatus): TemplateResult {
  const [label, kind] = CONNECTION_CHIPS()[status] ?? [status, ""];
  return html`<span class="chip ${kind}" part="status-chip">${label}</span>`;
}

const RUN_CHIPS = (): Record<RunStatus, [string, string]> => ({
  queued: [msg("Queued"), "info"],
  running: [msg("Running"), "info"],
  succeeded: [msg("Success"), "success"],
  partial: [msg("Partial success"), "warning"],
  failed: [msg("Failed"), "danger"],
});

export function runLabel(status: string): string {
  return RUN_CHIPS()[status as RunStatus]?.[0] ?? status;
}

/** `cancelled`: a run an admin cancelled (status failed, error code "cancelled") reads "Cancelled", not "Failed". */
export function runChip(status: string, cancelled = false): TemplateResult {
  const [label, kind] = cancelled ? [msg("Cancelled"), ""] : (RUN_CHIPS()[status as RunStatus] ?? [status, ""]);
  return html`<span class="chip ${kind}" part="status-chip">${label}</span>`;
}

/** Hands a Blob to the browser as a file download. */
export function saveBlob(blob: Blob, filename: string, from: HTMLElement): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.hidden = true;
  // Inside our shadow root, so the host page's DOM is not touched.
  (from.shadowRoot ?? from).appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
