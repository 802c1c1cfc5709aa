import { localized, msg, str } from "@lit/localize";
import { LitElement, css, html, nothing } from "lit";
import { property } from "lit/decorators.js";
import type { Readiness } from "#contract/connection";
import { shared } from "../styles/shared.styles";
import { define } from "../util/define";
import { formatDateTime } from "../util/format";

/** The readiness report after authorization: each check with ✓ / ⚠ / ✗ and, when it failed, the exact fix. */
@localized()
export class DcReadinessReport extends LitElement {
  static override styles = [
    shared,
    css`
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 0.5em;
      }
      li {
        display: grid;
        grid-template-columns: 1.5em 1fr;
        gap: 0.25em 0.5em;
        align-items: start;
      }
      .icon {
        font-weight: 700;
        text-align: center;
      }
      .ok {
        color: var(--dc-success);
      }
      .warn {
        color: var(--dc-warning);
      }
      .bad {
        color: var(--dc-danger);
      }
      .fix {
        grid-column: 2;
        font-size: 0.875em;
        background: var(--dc-surface);
        border-radius: var(--dc-radius-small);
        padding: 0.4em 0.6em;
      }
    `,
  ];

  /** The report the edge returned (from authorize, or stored on the connection). */
  @property({ attribute: false }) readiness: Readiness | undefined;

  override render() {
    const r = this.readiness;
    if (!r) return nothing;
    return html`<section class="card stack" part="readiness" aria-labelledby="dc-ready-title">
      <div class="row">
        <h3 id="dc-ready-title">${msg("Readiness")}</h3>
        ${r.ready ? html`<span class="chip success">${msg("Ready for scheduled sync")}</span>` : html`<span class="chip warning">${msg("Action needed")}</span>`}
        <span class="spacer"></span>
        <span class="small muted">${msg(str`Checked ${formatDateTime(r.checkedAt)}`)}</span>
      </div>
      <ul>
        ${r.checks.map((c) => {
          const [icon, cls, word] = c.ok ? ["✓", "ok", msg("Passed")] : c.severity === "error" ? ["✗", "bad", msg("Failed")] : ["⚠", "warn", msg("Warning")];
          return html`<li data-check=${c.id}>
            <span class="icon ${cls}" aria-hidden="true">${icon}</span>
            <span><span class="visually-hidden">${word}: </span>${c.label}</span>
            ${!c.ok && c.fix ? html`<span class="fix"><strong>${msg("How to fix:")}</strong> ${c.fix}</span>` : nothing}
          </li>`;
        })}
      </ul>
    </section>`;
  }
}

define("dc-readiness-report", DcReadinessReport);

declare global {
  interface HTMLElementTagNameMap {
    "dc-readiness-report": DcReadinessReport;
  }
}
