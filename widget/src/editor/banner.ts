import { msg } from "@lit/localize";
import { html, nothing } from "lit";
import { edgeErrorText } from "../l10n/localization";
import { isEdgeError } from "./types";

/** A notice or an error at the top of the editor (or of the preview). */
export interface Banner {
  kind: "error" | "info";
  title: string;
  message?: string;
  requestId?: string;
  action?: { label: string; run: () => void };
}

/** The banner's list of fields with problems ("Mapping of Last name: …"), each a button that goes to the field. */
export interface BannerErrors {
  errors: ReadonlyMap<string, string[]>;
  label: (key: string) => string;
  goTo: (key: string) => void;
}

/**
 * An error (role=alert) or notice (role=status) banner. An error without an action, and every notice, can be
 * dismissed; the request id is folded under "Details".
 */
export function renderBanner(b: Banner | null, id: string, onDismiss: () => void, list?: BannerErrors) {
  if (!b) return nothing;
  const entries = b.kind === "error" && list ? [...list.errors.entries()] : [];
  return html`
    <div class="banner ${b.kind}" part="banner" id=${id} role=${b.kind === "error" ? "alert" : "status"} tabindex="-1">
      <p><strong>${b.title}</strong>${b.message ? html` — ${b.message}` : nothing}</p>
      ${
        entries.length
          ? html`<ul>
              ${entries.map(([k, msgs]) => html`<li><button class="link" @click=${() => list!.goTo(k)}>${list!.label(k)}</button>: ${msgs.join(" ")}</li>`)}
            </ul>`
          : nothing
      }
      ${b.action ? html`<button @click=${b.action.run}>${b.action.label}</button>` : nothing}
      ${b.kind === "info" || !b.action ? html`<button class="link" @click=${onDismiss}>${msg("Dismiss")}</button>` : nothing}
      ${
        b.requestId
          ? html`<details>
              <summary>${msg("Details")}</summary>
              ${msg("Request id:")} <code>${b.requestId}</code>
            </details>`
          : nothing
      }
    </div>
  `;
}

/** A banner for a failed request: the error's message and, from the edge, its request id. */
export function errorBanner(title: string, e: unknown, action?: Banner["action"]): Banner {
  const message = e instanceof Error || isEdgeError(e) ? edgeErrorText(e) : String(e);
  const requestId = isEdgeError(e) ? e.requestId : undefined;
  return { kind: "error", title, message, ...(requestId ? { requestId } : {}), ...(action ? { action } : {}) };
}
